// Hub build of FerretDB: the (type, text) index on `_id` that serves `_id` string ranges.
// Copied into internal/backends/sqlite/metadata by scripts/ferretdb-build/applyPatches.sh.

package metadata

import (
	"context"
	"fmt"

	"github.com/FerretDB/FerretDB/internal/util/fsql"
	"github.com/FerretDB/FerretDB/internal/util/lazyerrors"
)

const (
	// HubIDTypeColumn is the sjson type of `_id` ("string", "objectId", ...), from the document's schema.
	HubIDTypeColumn = DefaultColumn + `->>'$."$s".p._id.t'`

	// HubIDTextColumn is `_id` decoded to its SQL value, which sorts strings by their bytes.
	HubIDTextColumn = DefaultColumn + `->>'_id'`
)

// hubCreateIDTextIndex creates the index if it is missing (tables made by a build without it included).
func hubCreateIDTextIndex(ctx context.Context, db *fsql.DB, table string) error {
	q := fmt.Sprintf(`CREATE INDEX IF NOT EXISTS %q ON %q (%s, %s)`, table+"_hub_id_text", table, HubIDTypeColumn, HubIDTextColumn)
	if _, err := db.ExecContext(ctx, q); err != nil {
		return lazyerrors.Error(err)
	}

	return nil
}
