// Hub build of FerretDB: which `_id` conditions the SQLite backend answers from its indexes.
// Copied into internal/backends by scripts/ferretdb-build/applyPatches.sh.

package backends

import (
	"github.com/FerretDB/FerretDB/internal/types"
)

// HubIDPushdown is set by the SQLite backend of the hub build; the handler then hands it
// sort, limit and count for filters that HubIDOnlyFilter accepts.
var HubIDPushdown bool

// hubMaxIn bounds the `$in` lists handed to SQLite (its default limit on bound parameters is 32766).
const hubMaxIn = 10000

// HubIDOnlyFilter reports whether the filter is a single `_id` condition that the SQLite
// backend translates into SQL exactly: a string, `$eq` a string, `$in` strings, or a string
// range (`$gt`, `$gte`, `$lt`, `$lte`). Only then may the backend apply sort, limit and count
// itself, because nothing is left for the handler to filter out afterwards.
func HubIDOnlyFilter(filter *types.Document) bool {
	if filter == nil || filter.Len() != 1 {
		return false
	}

	v, err := filter.Get("_id")
	if err != nil {
		return false
	}

	switch v := v.(type) {
	case string:
		return true
	case *types.Document:
		if v.Len() == 0 {
			return false
		}

		for _, op := range v.Keys() {
			arg, _ := v.Get(op)

			switch op {
			case "$eq", "$gt", "$gte", "$lt", "$lte":
				if _, ok := arg.(string); !ok {
					return false
				}
			case "$in":
				if !HubStringArray(arg) {
					return false
				}
			default:
				return false
			}
		}

		return true
	}

	return false
}

// HubStringArray reports whether v is a non-empty array of strings short enough for one SQL statement.
func HubStringArray(v any) bool {
	a, ok := v.(*types.Array)
	if !ok || a.Len() == 0 || a.Len() > hubMaxIn {
		return false
	}

	for i := 0; i < a.Len(); i++ {
		if v, _ := a.Get(i); !isString(v) {
			return false
		}
	}

	return true
}

// HubIDSort returns 1 or -1 for a sort document `{_id: ±1}`, 0 otherwise.
func HubIDSort(sort *types.Document) int64 {
	if sort == nil || sort.Len() != 1 {
		return 0
	}

	v, err := sort.Get("_id")
	if err != nil {
		return 0
	}

	switch v := v.(type) {
	case int64:
		if v == 1 || v == -1 {
			return v
		}
	case int32:
		if v == 1 || v == -1 {
			return int64(v)
		}
	case float64:
		if v == 1 || v == -1 {
			return int64(v)
		}
	}

	return 0
}

// hubSortDirection is the direction of a sort the backend contract accepts:
// `$natural` (capped collections) or, in the hub build, `_id`.
func hubSortDirection(sort *types.Document) int64 {
	if v, ok := sort.Map()["$natural"].(int64); ok {
		return v
	}

	return HubIDSort(sort)
}

func isString(v any) bool {
	_, ok := v.(string)
	return ok
}
