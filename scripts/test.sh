#!/usr/bin/env bash
# Run the whole check: lint (ruff), types (mypy) and the test suite (pytest).
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python
[ -x "$PY" ] || { echo "no .venv: run 'bash scripts/setup.sh' first" >&2; exit 2; }
# The pinned Pulumi CLI that setup.sh linked there comes first for the end-to-end tests.
export PATH="$PWD/.venv/bin:$PATH"
echo "== ruff"; "$PY" -m ruff check .
echo "== mypy"
"$PY" -m mypy components emulator __main__.py scripts/local_deploy.py
# A second run: two top-level modules named __main__ cannot share one mypy run.
"$PY" -m mypy examples/chat-ui/__main__.py
"$PY" -m mypy platform/__main__.py
# The policy pack's modules are top-level names of policy/ (the analyzer runs `python policy/`).
MYPYPATH=policy "$PY" -m mypy policy/checks.py policy/pack.py
if command -v go >/dev/null; then
  echo "== go vet (tools/langhost)"; (cd tools/langhost && go vet ./...)
fi
echo "== pytest"; "$PY" -m pytest "$@"
