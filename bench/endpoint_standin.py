"""The endpoint benchmark against the emulator's vLLM stand-in (synthetic latencies).

Starts `python -m emulator` on a free port, deploys a RUNNING stand-in app through the API
(`--max-num-seqs` as given: requests past it wait in the stand-in's queue, as in vLLM), mints a
read token scoped to it, and runs `python -m components.bench` against it with the token in an
environment variable. Prints the benchmark's table; the report and plot go to --out.

    .venv/bin/python -m bench.endpoint_standin --out /tmp/bench-standin \
        [--max-num-seqs 8] [--concurrency 1,4,16] [--managed-price 0.5]

The hourly cost defaults to the l40s-1-gpu flavor's indicative price (components/platform.py).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from components.ovhai import OvhAiClient
from components.platform import FLAVORS
from emulator.runner import start_emulator

TOKEN_VAR = "STANDIN_BENCH_TOKEN"


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--out", required=True)
    p.add_argument("--max-num-seqs", type=int, default=8)
    p.add_argument("--concurrency", default="1,4,16")
    p.add_argument("--input-tokens", default="512")
    p.add_argument("--output-tokens", default="128")
    p.add_argument("--hourly-cost", default=str(FLAVORS["l40s-1-gpu"].hourly_price_eur))
    p.add_argument("--managed-price", default=None)
    args = p.parse_args()
    spec = {
        "name": "bench-standin", "image": "vllm/vllm-openai:v0.10.1.1",
        "command": ["vllm", "serve", "org/model", "--served-model-name", "standin",
                    "--max-num-seqs", str(args.max_num_seqs)],
        "resources": {"flavor": "l40s-1-gpu", "gpu": 1}, "defaultHttpPort": 8000,
        "labels": {"bench": "standin"},
    }
    with start_emulator(admin_token="bench-admin-token") as emulator, \
            OvhAiClient(emulator.base_url, emulator.admin_token) as api:
        app = api.create_app(spec)
        api.wait_for_app(app.id, timeout=60)
        token = api.create_token("bench-read", "read", "bench=standin")
        url = f"{api.get_app(app.id).status.url}/v1"
        command = [sys.executable, "-m", "components.bench", "--url", url, "--model", "standin",
                   "--token-env", TOKEN_VAR, "--out", args.out, "--concurrency", args.concurrency,
                   "--input-tokens", args.input_tokens, "--output-tokens", args.output_tokens,
                   "--hourly-cost", args.hourly_cost]
        if args.managed_price:
            command += ["--managed-price", args.managed_price]
        started = time.monotonic()
        done = subprocess.run(command, env=dict(os.environ, **{TOKEN_VAR: str(token.value)}))
        print(f"bench.endpoint_standin: --max-num-seqs {args.max_num_seqs}, "
              f"{time.monotonic() - started:.0f} s in all")
        return done.returncode


if __name__ == "__main__":
    sys.exit(main())
