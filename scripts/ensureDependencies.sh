#!/usr/bin/env bash
# Installs npm dependencies when node_modules is missing or older than the lockfile.
# node-rdkafka compiles librdkafka on install (about 2.5 minutes the first time).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
marker=node_modules/.package-lock.json
if [ ! -f "$marker" ] || [ package-lock.json -nt "$marker" ] || [ ! -f node_modules/node-rdkafka/build/Release/node-librdkafka.node ]; then
  echo "[deps] npm ci (first run compiles librdkafka; a few minutes)" >&2
  npm ci --no-audit --no-fund >&2
fi
