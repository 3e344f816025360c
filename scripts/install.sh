#!/usr/bin/env bash
# Creates .venv with Frontline's pinned dependencies. Idempotent: make re-runs it only when
# pyproject.toml or constraints.txt change.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"

if ! command -v "$PYTHON" >/dev/null; then
  echo "install: $PYTHON not found; install Python 3.11 or newer (or set PYTHON=/path/to/python3)." >&2
  exit 1
fi
if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
  echo "install: $("$PYTHON" --version) is too old; Frontline needs Python 3.11 or newer (set PYTHON=...)." >&2
  exit 1
fi
[ -x .venv/bin/python ] || "$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --upgrade pip==25.3
.venv/bin/python -m pip install --quiet --disable-pip-version-check -c constraints.txt -e '.[dev]'
touch .venv/.installed
echo "install: .venv ready ($(.venv/bin/python --version))"
