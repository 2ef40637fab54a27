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

# Each source system has its own MLLP listener (config/default.yaml), as in a hospital: the same
# person arrives from HIS (admission), LIS (lab results) and PACS (radiology report).
echo "feeding examples/ (HIS) to 127.0.0.1:$MLLP_PORT, examples/lis to :2576, examples/pacs to :2577"
node bin/hub.mjs send examples --port "$MLLP_PORT"
node bin/hub.mjs send examples/lis --port 2576
node bin/hub.mjs send examples/pacs --port 2577

TOKEN=$(node bin/hub.mjs token --scope 'system/*.read')
cat <<MSG

The hub is running.
  FHIR API:     http://127.0.0.1:$API_PORT/fhir   (bearer token required; a dev token valid for an hour:)
    TOKEN=$TOKEN
    curl -H "Authorization: Bearer \$TOKEN" 'http://127.0.0.1:$API_PORT/fhir/Patient?_tag=urn:hub:mdm|GOLDEN_RECORD'
    (one golden Patient per person; more tokens: node bin/hub.mjs token --scope 'system/*.read')
  MLLP:         HIS 127.0.0.1:$MLLP_PORT, LIS :2576, PACS :2577   (send more: node bin/hub.mjs send <file.hl7> --port P)
  HTTP intakes: FHIR push http://127.0.0.1:2590/fhir, HL7v2 http://127.0.0.1:2580/hl7v2
    (a bearer token with a write scope: node bin/hub.mjs token --scope 'system/*.write')
  Ingest:       node bin/hub.mjs status   (lag per partition, messages handled per second, dead letters)
  Hub log:      .services/logs/hub.log
Press Ctrl-C to stop.
MSG
wait $hub
