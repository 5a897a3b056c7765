#!/usr/bin/env bash
# Set everything up on a fresh machine: a virtual environment in .venv with the pinned runtime and
# development dependencies and the project installed in editable mode, and the pinned Pulumi CLI
# (scripts/install-pulumi.sh: the official installer with internet, else a build from the Go
# module proxy) linked as .venv/bin/pulumi.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements-dev.txt
echo "set up: $(.venv/bin/python --version) in .venv"

# actionlint for tests/test_workflows.py, built from its Go module (skipped without Go).
if command -v go >/dev/null; then
  echo "set up: actionlint at $(bash scripts/install-actionlint.sh | tail -n 1)"
fi

# The endpoint benchmark (python -m components.bench) runs its load generator, tokenizer build and
# plot in a virtual environment of their own: AIPerf needs httpx 0.29 and transformers, and .venv
# pins httpx 0.27.2 for the official ovhai client. About 45 s and 1.2 GB (see README).
if [ "${SKIP_BENCH_INSTALL:-}" = "1" ]; then
  echo "set up: SKIP_BENCH_INSTALL=1, .venv-bench was not made (tests/test_bench_cli.py needs it)"
else
  if [ ! -x .venv-bench/bin/python ]; then
    "$PYTHON" -m venv .venv-bench
  fi
  .venv-bench/bin/python -m pip install --quiet --upgrade pip
  .venv-bench/bin/python -m pip install --quiet -r requirements-bench.txt
  echo "set up: the benchmark's load generator in .venv-bench ($(.venv-bench/bin/python -m pip show aiperf 2>/dev/null | sed -n 's/^Version: /aiperf /p'))"
fi

if [ "${SKIP_PULUMI_INSTALL:-}" = "1" ]; then
  echo "set up: SKIP_PULUMI_INSTALL=1, the Pulumi CLI was not installed (the end-to-end tests need it)"
  exit 0
fi
# The last line of install-pulumi.sh is the path of the `pulumi` binary; its progress is on stderr.
PULUMI_BIN=$(bash scripts/install-pulumi.sh | tail -n 1)
ln -sf "$PULUMI_BIN" .venv/bin/pulumi
echo "set up: $("$PULUMI_BIN" version) at $PULUMI_BIN (linked as .venv/bin/pulumi)"
