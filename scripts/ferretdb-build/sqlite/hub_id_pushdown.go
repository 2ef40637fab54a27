// Hub build of FerretDB: `_id` conditions, `_id` sort and counts answered by SQLite indexes.
// Copied into internal/backends/sqlite by scripts/ferretdb-build/applyPatches.sh.

package sqlite

import (
	"fmt"

	"github.com/FerretDB/FerretDB/internal/backends"
	"github.com/FerretDB/FerretDB/internal/backends/sqlite/metadata"
	"github.com/FerretDB/FerretDB/internal/handler/sjson"
	"github.com/FerretDB/FerretDB/internal/types"
	"github.com/FerretDB/FerretDB/internal/util/must"
)

// hubIDWhere translates the `_id` condition of a filter into a WHERE clause served by an index:
// equality and `$in` compare the stored JSON text on the unique `_id` index; string ranges
// compare the decoded text on the (type, text) index that the hub build adds to every table,
// because JSON text escapes some characters and so does not sort like the strings themselves.
// Other fields are left to the handler, which re-applies the whole filter to what SQLite returns;
// the clause never excludes a document that the filter matches.
func hubIDWhere(filter *types.Document) (string, []any) {
	if filter == nil || filter.Len() == 0 {
		return "", nil
	}

	v, err := filter.Get("_id")
	if err != nil {
		return "", nil
	}

	switch v := v.(type) {
	case string, types.ObjectID:
		return fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn), []any{hubJSONText(v)}
	case *types.Document:
		return hubIDOperators(v)
	}

	return "", nil
}

func hubJSONText(v any) string {
	return string(must.NotFail(sjson.MarshalSingleValue(v)))
}

func hubIDOperators(ops *types.Document) (string, []any) {
	var conds []string
	var args []any

	for _, op := range ops.Keys() {
		arg := must.NotFail(ops.Get(op))

		switch op {
		case "$eq":
			switch arg.(type) {
			case string, types.ObjectID:
				return fmt.Sprintf(` WHERE %s = ?`, metadata.IDColumn), []any{hubJSONText(arg)}
			}
		case "$in":
			if !backends.HubStringArray(arg) {
				continue
			}

			a := arg.(*types.Array)
			placeholders := ""

			for i := 0; i < a.Len(); i++ {
				if i > 0 {
					placeholders += ", "
				}

				placeholders += "?"
				args = append(args, hubJSONText(must.NotFail(a.Get(i))))
			}

			// one condition suffices: SQLite looks each value up in the unique index
			return fmt.Sprintf(` WHERE %s IN (%s)`, metadata.IDColumn, placeholders), args
		case "$gt", "$gte", "$lt", "$lte":
			s, ok := arg.(string)
			if !ok {
				continue
			}

			sqlOp := map[string]string{"$gt": ">", "$gte": ">=", "$lt": "<", "$lte": "<="}[op]
			conds = append(conds, fmt.Sprintf("%s %s ?", metadata.HubIDTextColumn, sqlOp))
			args = append(args, s)
		}
	}

	if len(conds) == 0 {
		return "", nil
	}

	where := fmt.Sprintf(` WHERE %s = 'string'`, metadata.HubIDTypeColumn)
	for _, c := range conds {
		where += " AND " + c
	}

	return where, args
}

// hubIDOrderBy is the ORDER BY for a sort on `_id` alone (strings sort as their bytes, as in MongoDB).
func hubIDOrderBy(sort *types.Document) (string, bool) {
	switch backends.HubIDSort(sort) {
	case 1:
		return fmt.Sprintf(" ORDER BY %s", metadata.HubIDTextColumn), true
	case -1:
		return fmt.Sprintf(" ORDER BY %s DESC", metadata.HubIDTextColumn), true
	}

	return "", false
}

// hubCountSelect selects the rows to count; hubCountWrap counts them (up to the query's LIMIT,
// so a caller that only needs to know whether a range is large does not count all of it).
func hubCountSelect(table string) string {
	return fmt.Sprintf(`SELECT 1 FROM %q`, table)
}

// hubCountWrap returns one sjson document `{n: <count>}` instead of the matching documents.
func hubCountWrap(inner string) string {
	return fmt.Sprintf(
		`SELECT json_object('$s', json('{"p":{"n":{"t":"long"}},"$k":["n"]}'), 'n', COUNT(*)) AS %s FROM (%s)`,
		metadata.DefaultColumn, inner,
	)
}

func hubEnable() {
	backends.HubIDPushdown = true
}
