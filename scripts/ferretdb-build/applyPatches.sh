#!/usr/bin/env bash
# Applies the hub's build fixes to a copy of the FerretDB 1.24.2 module (the directory given).
# Our own code lives in the *.go files beside this script and is copied in; the edits below only
# call it. Every edit checks that it applied exactly once, so a FerretDB that does not fit fails
# the build instead of running unpatched. Stored data and query results are unchanged: the
# handler re-applies every filter to what SQLite returns.
#
#  1. The `_id` index is on `_ferretdb_sjson->"_id"` but lookups used `->'$._id'`, so SQLite never
#     used it: lookups now use the indexed expression.
#  2. The `_id` condition reached SQLite only when it was the filter's only field, and only as
#     equality: now whenever the filter has one, and also as `$in` (the unique index) and as a
#     string range (`$gt`/`$gte`/`$lt`/`$lte`, a (type, text) index added to every table).
#  3. For a filter that is only such an `_id` condition, sort by `_id`, limit (skip + limit) and
#     count run in SQLite, instead of decoding every matching document in Go first.
#  4. An update statement reads what it matched and closes its query before it writes; upstream
#     kept every statement's query open until the end of the command, so a bulk write of 100
#     statements exhausted the database's connections and deadlocked.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
M="$1"
I="$M/internal"

die() { printf '[ferretdb-build] error: %s\n' "$*" >&2; exit 1; }

# edit FILE PERL-SUBSTITUTION: applies a perl s/// (whole file) and checks it changed exactly N times
edit() {
  local file="$1" expr="$2" want="${3:-1}" n
  n="$(perl -0777 -i -pe "\$c = ($expr); END { print STDERR \$c+0 }" "$file" 2>&1 >/dev/null | tail -n 1)"
  [ "$n" = "$want" ] || die "patch did not fit $file ($n of $want): $expr"
}

cp "$HERE/backends/hub_id_pushdown.go" "$I/backends/"
cp "$HERE/sqlite/hub_id_pushdown.go" "$I/backends/sqlite/"
cp "$HERE/metadata/hub_id_index.go" "$I/backends/sqlite/metadata/"
cp "$HERE/handler/hub_id_pushdown.go" "$I/handler/"

# 1. lookups on the indexed expression
edit "$I/backends/sqlite/metadata/metadata.go" \
  's/IDColumn = DefaultColumn \+ "->\x27\$\._id\x27"/IDColumn = DefaultColumn + "->\x27_id\x27"/g'

# 2. `_id` conditions to SQLite (Query and Explain)
edit "$I/backends/sqlite/collection.go" \
  's/\tif params\.Filter\.Len\(\) == 1 \{\n\t\tv, _ := params\.Filter\.Get\("_id"\)\n(?:\t\t.*\n)+?\t\}\n/\twhereClause, args = hubIDWhere(params.Filter)\n\tfilterPushdown := whereClause != ""\n\t_ = filterPushdown\n/g' 2
edit "$I/backends/sqlite/collection.go" 's/\tvar filterPushdown bool\n//g'
#    the (type, text) index, on new tables and on tables of an older build
edit "$I/backends/sqlite/metadata/registry.go" \
  's/(\t\tcreated = append\(created, index\.Name\)\n)/$1\n\t\tif index.Name == backends.DefaultIndexName {\n\t\t\tif err := hubCreateIDTextIndex(ctx, db, c.TableName); err != nil {\n\t\t\t\t_ = r.indexesDrop(ctx, dbName, collectionName, created)\n\t\t\t\treturn lazyerrors.Error(err)\n\t\t\t}\n\t\t}\n/g'
edit "$I/backends/sqlite/metadata/registry.go" \
  's/(\n\tr\.colls\[dbName\] = colls\n)/\n\tfor _, c := range colls {\n\t\tif err = hubCreateIDTextIndex(ctx, db, c.TableName); err != nil {\n\t\t\treturn lazyerrors.Error(err)\n\t\t}\n\t}\n$1/g'

# 3. sort, limit and count
edit "$I/backends/collection.go" 's/(\tOnlyRecordIDs bool\n\tComment       string\n)/$1\n\t\/\/ HubCount asks for one document {n: <number of matches>} (hub build, SQLite only).\n\tHubCount bool\n/g'
edit "$I/backends/collection.go" 's/sortValue := params\.Sort\.Map\(\)\["\$natural"\]\.\(int64\)/sortValue := hubSortDirection(params.Sort)/g' 2
edit "$I/backends/sqlite/query.go" \
  's/(func prepareOrderByClause\(sort \*types\.Document\) string \{\n)/$1\tif clause, ok := hubIDOrderBy(sort); ok {\n\t\treturn clause\n\t}\n\n/g'
edit "$I/backends/sqlite/collection.go" \
  's/(\tq := prepareSelectClause\(meta\.TableName, params\.Comment, meta\.Capped\(\), params\.OnlyRecordIDs\)\n)/$1\tif params.HubCount {\n\t\tq = hubCountSelect(meta.TableName)\n\t}\n/g'
edit "$I/backends/sqlite/backend.go" 's/(func NewBackend\(params \*NewBackendParams\) \(backends\.Backend, error\) \{\n)/$1\thubEnable()\n\n/g'
edit "$I/handler/msg_find.go" 's/(\n\th\.L\.DebugContext\(ctx, fmt\.Sprintf\("Converted %\+v for %\+v to %\+v\.")/\n\tif s, l, ok := h.hubIDPushdown(params.Filter, params.Sort, params.Skip, params.Limit); ok {\n\t\tqp.Sort, qp.Limit = s, l\n\t}\n$1/g'
edit "$I/handler/msg_explain.go" 's/(\n\tres, err := coll\.Explain\(connCtx, qp\)\n)/\n\tif s, l, ok := h.hubIDPushdown(params.Filter, params.Sort, params.Skip, params.Limit); ok {\n\t\tqp.Sort, qp.Limit = s, l\n\t}\n$1/g'
edit "$I/handler/msg_count.go" \
  's/(\tvar qp backends\.QueryParams\n)/\tif n, ok, err := h.hubCount(connCtx, c, params); err != nil {\n\t\treturn nil, err\n\t} else if ok {\n\t\treturn documentOpMsg(must.NotFail(types.NewDocument("n", n, "ok", float64(1))))\n\t}\n\n$1/g'
edit "$I/handler/msg_update.go" \
  's/(\t\tif !u\.Multi \{\n\t\t\titer = common\.LimitIterator\(iter, closer, 1\)\n\t\t\}\n)/$1\n\t\tif iter, err = hubMaterialize(iter, closer); err != nil {\n\t\t\treturn 0, 0, nil, lazyerrors.Error(err)\n\t\t}\n/g'
edit "$I/backends/sqlite/collection.go" \
  's/(\n\trows, err := db\.QueryContext\(ctx, q, args\.\.\.\)\n\tif err != nil \{\n\t\treturn nil, lazyerrors\.Error\(err\)\n\t\}\n\n\treturn &backends\.QueryResult\{)/\n\tif params.HubCount {\n\t\tq = hubCountWrap(q)\n\t}\n$1/g'
