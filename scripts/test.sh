#!/usr/bin/env bash
# Runs every test: type check, unit tests, and integration tests against a real Kafka broker
# and a real MongoDB-wire server (FerretDB), which this script builds and starts if needed.
# Set KAFKA_BROKERS / MONGO_URL to test against servers of your own instead.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
start=$(date +%s)

# The slow parts of a cold machine run side by side: npm ci (compiles librdkafka), the Kafka
# jars from Maven Central and the FerretDB build from the Go module proxy.
bash scripts/services.sh prepare &
prep=$!
bash scripts/ensureDependencies.sh
wait $prep

bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
export KAFKA_BROKERS MONGO_URL
echo "[test] setup took $(( $(date +%s) - start ))s" >&2

echo "[test] type check" >&2
npx tsc -p tsconfig.json --noEmit

echo "[test] mocha" >&2
npx mocha 'test/**/*.test.ts' "$@"
echo "[test] all tests passed in $(( $(date +%s) - start ))s" >&2
