#!/usr/bin/env bash
# The main job on a fresh machine: install, ingest the sample corpus, start the chat UI.
# Extra arguments go to `python -m assistant serve` (e.g. --host 0.0.0.0 --port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
.venv/bin/python -m ingest corpus --report data/ingest-report.json
exec .venv/bin/python -m assistant serve "$@"
