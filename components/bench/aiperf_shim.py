"""Runs AIPerf's CLI with the endpoint token taken from the environment (in .venv-bench).

AIPerf takes the key as `--api-key` on its command line, which any local user can read in the
process table while the run lasts. This shim pops the token from BENCH_API_KEY and hands it to
AIPerf's own entry point inside the process (sys.argv is not the process table), so the token is
never in a command line; AIPerf itself redacts it from its logs and exports.
"""

from __future__ import annotations

import os
import sys

TOKEN_VARIABLE = "BENCH_API_KEY"


def main() -> int:
    token = os.environ.pop(TOKEN_VARIABLE, "")
    args = sys.argv[1:]
    if token:
        args += ["--api-key", token]
    sys.argv = ["aiperf", *args]
    from aiperf.cli import app  # type: ignore[import-not-found]  # only in .venv-bench

    result = app()
    return int(result) if isinstance(result, int) else 0


if __name__ == "__main__":
    sys.exit(main())
