// Hub build of FerretDB: hands sort, limit and count to the SQLite backend when the filter is
// an `_id` condition it answers exactly. Copied into internal/handler by
// scripts/ferretdb-build/applyPatches.sh.

package handler

import (
	"context"
	"errors"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/handler/common"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/iterator"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// hubIDPushdown lets SQLite sort by `_id` and stop after skip+limit rows (find and explain);
// the handler still sorts, skips and limits what comes back, which is then in order and short.
// It returns the sort and limit for the backend, or ok=false to leave the query as it was.
func (h *Handler) hubIDPushdown(filter, sort *types.Document, skip, limit int64) (*types.Document, int64, bool) {
	if !backends.HubIDPushdown || h.DisablePushdown || !backends.HubIDOnlyFilter(filter) {
		return nil, 0, false
	}

	var backendSort *types.Document

	if sort.Len() != 0 {
		dir := backends.HubIDSort(sort)
		if dir == 0 {
			return nil, 0, false
		}

		backendSort = must.NotFail(types.NewDocument("_id", dir))
	}

	var backendLimit int64
	if limit > 0 {
		backendLimit = limit + skip
	}

	return backendSort, backendLimit, true
}

// hubCount counts in SQLite when the filter is an `_id` condition it answers exactly; with a
// limit it stops counting there.
func (h *Handler) hubCount(ctx context.Context, c backends.Collection, params *common.CountParams) (int32, bool, error) {
	if !backends.HubIDPushdown || h.DisablePushdown || params.Skip != 0 || !backends.HubIDOnlyFilter(params.Filter) {
		return 0, false, nil
	}

	res, err := c.Query(ctx, &backends.QueryParams{Filter: params.Filter, HubCount: true, Limit: params.Limit})
	if err != nil {
		return 0, false, lazyerrors.Error(err)
	}

	defer res.Iter.Close()

	_, doc, err := res.Iter.Next()
	if errors.Is(err, iterator.ErrIteratorDone) {
		return 0, true, nil
	}

	if err != nil {
		return 0, false, lazyerrors.Error(err)
	}

	n, _ := doc.Get("n")
	switch n := n.(type) {
	case int64:
		return int32(n), true, nil
	case int32:
		return n, true, nil
	case float64:
		return int32(n), true, nil
	}

	return 0, false, lazyerrors.Errorf("hub count: unexpected result %v", doc)
}

// hubMaterialize reads every document an update statement matched and closes the query before
// the statement writes. Upstream keeps each statement's rows open until the whole command ends
// while its write needs another connection: a bulk write of 100 statements held all of
// SQLite's 100 connections of the database and waited for a 101st (a deadlock).
func hubMaterialize(iter types.DocumentsIterator, closer *iterator.MultiCloser) (types.DocumentsIterator, error) {
	docs, err := iterator.ConsumeValues(iter)
	// closes the query's rows now; the statement's deferred Close closes them (idempotently) again
	closer.Close()

	if err != nil {
		return nil, lazyerrors.Error(err)
	}

	matched := iterator.Values(iterator.ForSlice(docs))
	closer.Add(matched)

	return matched, nil
}
