#!/usr/bin/env bash
# The test command: install everything the tests need, then run them (browser test included).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
bash scripts/install-browser.sh
.venv/bin/python -m ruff check .
exec .venv/bin/python -m pytest "$@"
