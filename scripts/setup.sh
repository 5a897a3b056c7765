#!/usr/bin/env bash
# Set everything up on a fresh machine: a virtual environment in .venv with the pinned runtime and
# development dependencies and the project installed in editable mode.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
echo "set up: $(.venv/bin/python --version) in .venv"
