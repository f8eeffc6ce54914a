#!/usr/bin/env bash
# Refresh requirements.lock: resolve pyproject.toml's dependencies (with the dev extra) in a throw-away
# virtualenv, then record every installed version. scripts/setup.sh installs with the lock as constraints,
# so a fresh machine gets exactly these versions; tests/test_lock.py checks the lock satisfies pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
"$PYTHON" -m venv "$tmp/venv"
"$tmp/venv/bin/python" -m pip install -q --upgrade pip
"$tmp/venv/bin/python" -m pip install -q "torch==2.13.0"
"$tmp/venv/bin/python" -m pip install -q ".[dev]"
{
  echo "# The whole dependency set, resolved from pyproject.toml by scripts/lock.sh on $(date -u +%Y-%m-%d)."
  echo "# Used as constraints by scripts/setup.sh. Refresh: bash scripts/lock.sh"
  "$tmp/venv/bin/python" -m pip freeze --all --exclude policyqa | grep -v -E '^(pip|setuptools|wheel)==' | sed -E 's/^(torch==[^+]*)\+.*/\1/' | LC_ALL=C sort -f
} > requirements.lock.new
mv requirements.lock.new requirements.lock
rm -rf build
echo "requirements.lock: $(grep -c '==' requirements.lock) packages"
