#!/usr/bin/env bash
# Brings up the real servers the hub needs, on 127.0.0.1 only, without Docker:
#   - Apache Kafka 3.9.1 (KRaft, single node) assembled from Maven Central jars
#   - FerretDB 1.24.2 (MongoDB wire protocol, SQLite backend) built from the Go module proxy
# Idempotent: `up` reuses what is cached under .services/ and what is already running.
# When KAFKA_BROKERS or MONGO_URL are set, that service is taken as external and not started.
#
# usage: scripts/services.sh prepare|up|down|status|env|reset
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
STATE="${HUB_SERVICES_DIR:-$ROOT/.services}"
KAFKA_PORT="${HUB_KAFKA_PORT:-9092}"
KAFKA_CONTROLLER_PORT="${HUB_KAFKA_CONTROLLER_PORT:-9093}"
MONGO_PORT="${HUB_MONGO_PORT:-27017}"
KAFKA_VERSION=3.9.1
FERRETDB_VERSION=1.24.2

log() { printf '[services] %s\n' "$*" >&2; }
die() { printf '[services] error: %s\n' "$*" >&2; exit 1; }

external_kafka() { [ -n "${KAFKA_BROKERS:-}" ]; }
external_mongo() { [ -n "${MONGO_URL:-}" ]; }
kafka_brokers() { echo "${KAFKA_BROKERS:-127.0.0.1:$KAFKA_PORT}"; }
mongo_url() { echo "${MONGO_URL:-mongodb://127.0.0.1:$MONGO_PORT/}"; }

pid_alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

# The servers' data (Kafka log segments, FerretDB's SQLite files and WAL) is patient data: only
# the user running them may read it. The servers run with umask 077 (files 0600, directories
# 0700), and what an older start left readable is closed here.
private_dir() { mkdir -p "$1"; chmod 700 "$1"; chmod -R go-rwx "$1"; }

# ---------- Kafka ----------
kafka_libs() {
  local libs="$STATE/kafka/libs-$KAFKA_VERSION"
  if [ ! -f "$libs/.complete" ]; then
    command -v mvn >/dev/null || die "mvn (Apache Maven) is required to fetch the Kafka jars"
    command -v java >/dev/null || die "java (17+) is required to run Kafka"
    log "fetching Kafka $KAFKA_VERSION jars from Maven Central"
    rm -rf "$libs"; mkdir -p "$libs"
    mvn -q -B -f "$ROOT/scripts/kafka/pom.xml" \
      org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies \
      -DoutputDirectory="$libs" >&2 || die "mvn copy-dependencies failed"
    touch "$libs/.complete"
  fi
  echo "$libs"
}

kafka_config() {
  local dir="$STATE/kafka"
  private_dir "$dir/data"
  cat > "$dir/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT,CONTROLLER://127.0.0.1:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$KAFKA_PORT
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$dir/data
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
log.retention.hours=168
PROPS
  cat > "$dir/log4j.properties" <<'PROPS'
log4j.rootLogger=WARN, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=${kafka.logs.dir}/server.log
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=INFO
log4j.logger.org.apache.kafka=WARN
PROPS
}

kafka_up() {
  if external_kafka; then log "Kafka: using external brokers $(kafka_brokers)"; return; fi
  local dir="$STATE/kafka" libs
  if pid_alive "$dir/kafka.pid"; then log "Kafka already running (pid $(cat "$dir/kafka.pid"))"; return; fi
  libs="$(kafka_libs)"
  kafka_config
  if [ ! -f "$dir/data/meta.properties" ]; then
    local cluster_id
    cluster_id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    ( umask 077; exec java -cp "$libs/*" kafka.tools.StorageTool format -t "$cluster_id" \
      -c "$dir/server.properties" --ignore-formatted ) >"$dir/format.log" 2>&1 \
      || die "Kafka storage format failed, see $dir/format.log"
  fi
  log "starting Kafka on 127.0.0.1:$KAFKA_PORT"
  private_dir "$dir/logs"
  ( umask 077; exec nohup java -Xms256m -Xmx512m -XX:+UseG1GC \
    -Dkafka.logs.dir="$dir/logs" -Dlog4j.configuration="file:$dir/log4j.properties" \
    -cp "$libs/*" kafka.Kafka "$dir/server.properties" >"$dir/logs/stdout.log" 2>&1 ) &
  echo $! > "$dir/kafka.pid"
}

# ---------- FerretDB ----------
# FerretDB 1.24's SQLite backend hands SQLite only `_id` equality, and only when it is the filter's
# only field; everything else is decoded in Go document by document (~0.1-0.3 ms each). The hub
# keeps every hot read an `_id` lookup, `_id` list or `_id` range (hub/store/README.md), and our
# build (a copy of the module under .services/src, edited by scripts/ferretdb-build/applyPatches.sh)
# lets SQLite answer those from its indexes, with sort, limit and count on `_id` too. Stored data and
# query results are unchanged; test/hub/store/idLookupPlan.it.test.ts reads the query plans, so a
# build without the fixes fails.
FERRETDB_PATCH="hubidx3-$(cat "$ROOT"/scripts/ferretdb-build/applyPatches.sh "$ROOT"/scripts/ferretdb-build/*/*.go | sha256sum | cut -c1-8)"
ferretdb_patched_module() {
  local src="$STATE/src/ferretdb-$FERRETDB_VERSION-$FERRETDB_PATCH" orig
  if [ ! -f "$src/.patched" ]; then
    orig="$(cd "$ROOT/scripts/ferretdb-launcher" && go mod download -json "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION" \
      | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')"
    [ -d "$orig" ] || die "cannot download the FerretDB $FERRETDB_VERSION module"
    rm -rf "$src"; mkdir -p "$(dirname "$src")"
    cp -r "$orig" "$src"; chmod -R u+w "$src"
    bash "$ROOT/scripts/ferretdb-build/applyPatches.sh" "$src" || die "the FerretDB build fixes do not apply"
    touch "$src/.patched"
  fi
  echo "$src"
}

ferretdb_bin() {
  local bin="$STATE/bin/ferretdb-launcher-$FERRETDB_VERSION-$FERRETDB_PATCH"
  if [ ! -x "$bin" ]; then
    command -v go >/dev/null || die "go is required to build FerretDB"
    log "building FerretDB $FERRETDB_VERSION launcher from the Go module proxy (first time only)"
    mkdir -p "$STATE/bin"
    local module build="$STATE/src/launcher"
    module="$(ferretdb_patched_module)"
    rm -rf "$build"; cp -r "$ROOT/scripts/ferretdb-launcher" "$build"
    ( cd "$build" && go mod edit -replace "github.com/FerretDB/FerretDB=$module" \
      && go build -ldflags=-checklinkname=0 -o "$bin.tmp" . ) >&2 \
      || die "go build of scripts/ferretdb-launcher failed"
    mv "$bin.tmp" "$bin"
  fi
  echo "$bin"
}

mongo_up() {
  if external_mongo; then log "MongoDB: using external $(mongo_url)"; return; fi
  local dir="$STATE/ferretdb" bin
  if pid_alive "$dir/ferretdb.pid"; then log "FerretDB already running (pid $(cat "$dir/ferretdb.pid"))"; return; fi
  bin="$(ferretdb_bin)"
  private_dir "$dir/data"
  log "starting FerretDB on 127.0.0.1:$MONGO_PORT"
  ( umask 077; exec nohup "$bin" -listen "127.0.0.1:$MONGO_PORT" -handler sqlite -sqlite-url "file:$dir/data/" \
    >"$dir/ferretdb.log" 2>&1 ) &
  echo $! > "$dir/ferretdb.pid"
}

# ---------- health ----------
wait_healthy() {
  [ -d "$ROOT/node_modules/node-rdkafka" ] || die "node_modules missing: run 'npm ci' first"
  KAFKA_BROKERS="$(kafka_brokers)" MONGO_URL="$(mongo_url)" \
    node --import tsx "$ROOT/scripts/waitForServices.ts" --timeout "${HUB_SERVICES_TIMEOUT:-120}" \
    || { status >&2; die "services did not become healthy (logs under $STATE)"; }
}

stop_pid() {
  local file="$1" name="$2"
  if pid_alive "$file"; then
    local pid; pid="$(cat "$file")"
    log "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$file"
}

status() {
  if external_kafka; then echo "kafka: external $(kafka_brokers)";
  elif pid_alive "$STATE/kafka/kafka.pid"; then echo "kafka: running pid $(cat "$STATE/kafka/kafka.pid") on $(kafka_brokers)";
  else echo "kafka: stopped"; fi
  if external_mongo; then echo "mongo: external $(mongo_url)";
  elif pid_alive "$STATE/ferretdb/ferretdb.pid"; then echo "mongo: FerretDB running pid $(cat "$STATE/ferretdb/ferretdb.pid") on $(mongo_url)";
  else echo "mongo: stopped"; fi
}

prepare() {
  # Fetch and build both in parallel: they are the slow part of a cold start.
  external_kafka || kafka_libs >/dev/null &
  local k=$!
  external_mongo || ferretdb_bin >/dev/null &
  local m=$!
  wait $k || die "Kafka preparation failed"
  wait $m || die "FerretDB preparation failed"
}

case "${1:-}" in
  prepare) prepare ;;
  up)
    start=$(date +%s)
    prepare
    kafka_up
    mongo_up
    wait_healthy
    log "ready in $(( $(date +%s) - start ))s: KAFKA_BROKERS=$(kafka_brokers) MONGO_URL=$(mongo_url)"
    ;;
  down)
    external_kafka || stop_pid "$STATE/kafka/kafka.pid" Kafka
    external_mongo || stop_pid "$STATE/ferretdb/ferretdb.pid" FerretDB
    ;;
  status) status ;;
  env) echo "export KAFKA_BROKERS=$(kafka_brokers)"; echo "export MONGO_URL=$(mongo_url)" ;;
  reset)
    "$0" down
    rm -rf "$STATE/kafka/data" "$STATE/ferretdb/data"
    ;;
  *) echo "usage: $0 prepare|up|down|status|env|reset" >&2; exit 2 ;;
esac
