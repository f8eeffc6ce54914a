#!/usr/bin/env bash
# Create .venv and install the project with its test tools, at the versions of requirements.lock
# (refresh the lock with scripts/lock.sh). Safe to run again.
# torch is pinned first: the CPU build of torch==2.13.0 lies on this machine's disk; anything
# that pulled torch before it would fetch a multi-GB CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -c requirements.lock -e ".[dev]"
