#!/usr/bin/env bash
# The main job on a fresh machine: install, bring up Kafka and FerretDB, start the hub, feed the
# sample messages in examples/ over MLLP, and print where the FHIR API is. Ctrl-C stops the hub
# (the services keep running; `npm run services down` stops them).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"

bash scripts/services.sh prepare &
prep=$!
bash scripts/ensureDependencies.sh
wait $prep
bash scripts/services.sh up
eval "$(bash scripts/services.sh env)"
export KAFKA_BROKERS MONGO_URL

API_PORT="${HUB_API_PORT:-8080}"
MLLP_PORT=2575
mkdir -p .services/logs
node bin/hub.mjs serve > .services/logs/hub.log 2>&1 &
hub=$!
trap 'kill $hub 2>/dev/null || true; wait $hub 2>/dev/null || true' EXIT INT TERM

for _ in $(seq 1 120); do
  if curl -fsS "http://127.0.0.1:$API_PORT/healthz" >/dev/null 2>&1 && (exec 3<>/dev/tcp/127.0.0.1/$MLLP_PORT) 2>/dev/null; then break; fi
  if ! kill -0 $hub 2>/dev/null; then echo "hub failed to start; see .services/logs/hub.log" >&2; tail -20 .services/logs/hub.log >&2; exit 1; fi
  sleep 0.5
done

echo "feeding examples/ over MLLP to 127.0.0.1:$MLLP_PORT"
node bin/hub.mjs send examples --port "$MLLP_PORT"

cat <<MSG

The hub is running.
  FHIR API:     http://127.0.0.1:$API_PORT/fhir   (try: curl 'http://127.0.0.1:$API_PORT/fhir/Patient?identifier=MRN100001')
  MLLP (HIS):   127.0.0.1:$MLLP_PORT               (send more: node bin/hub.mjs send <file.hl7>)
  Hub log:      .services/logs/hub.log
Press Ctrl-C to stop.
MSG
wait $hub
