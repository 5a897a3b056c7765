"""`python -m components.bench`: benchmark a served endpoint and write report.json + report.png.

    python -m components.bench --url https://<app>/v1 --model NAME --token-env VAR --out DIR
    python -m components.bench --stack llama-8b-dev --out DIR     # URL, model, token, cost from it

The heavy parts (AIPerf, the tokenizer build, matplotlib) run in .venv-bench (scripts/setup.sh
makes it; `--bench-python` or BENCH_PYTHON points elsewhere). Every failure is one line on
stderr, `bench: error: <cause>`, with exit code 2 for bad input and 1 for a failed run.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from . import preflight
from .aiperf import Aiperf, LoadGenerator, Workload
from .errors import BenchError
from .report import LevelResult, Price, build_report, summary_lines
from .target import Target, check_base_url, stack_outputs, target_from_outputs

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_LEVELS = (1, 4, 16)


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise BenchError(message, 2)


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m components.bench", description=__doc__.split("\n\n")[0])
    where = p.add_argument_group("target (either --stack, or --url and --model)")
    where.add_argument("--stack",
                       help="a stack whose outputs give openaiBaseUrl, model, token, estimatedHourlyCost")
    where.add_argument("--cwd", type=Path, default=Path.cwd(),
                       help="the Pulumi project of --stack (default: .)")
    where.add_argument("--url", help="the OpenAI base URL, ending in /v1")
    where.add_argument("--model", help="the served model name")
    where.add_argument("--token-env", metavar="VAR", help="the environment variable that holds the token")
    p.add_argument("--out", type=Path, required=True,
                   help="directory for report.json, report.png and the raw runs")
    load = p.add_argument_group("load")
    load.add_argument("--concurrency", default=",".join(map(str, DEFAULT_LEVELS)),
                      help="comma-separated concurrency levels (default: 1,4,16)")
    load.add_argument("--input-tokens", type=int, default=512, help="prompt tokens per request (default 512)")
    load.add_argument("--output-tokens", type=int, default=128,
                      help="output tokens per request (default 128)")
    load.add_argument("--requests", type=int, help="requests per level (default: max(16, 8 x concurrency))")
    load.add_argument("--request-timeout", type=float, default=600.0, help="seconds per request")
    load.add_argument("--tokenizer", type=Path,
                      help="a Hugging Face tokenizer directory (default: a small local BPE one, built once)")
    cost = p.add_argument_group("cost")
    cost.add_argument("--hourly-cost", type=float, help="hourly cost of the endpoint (overrides the stack's)")
    cost.add_argument("--currency", help="currency of the costs (default: the stack's, else EUR)")
    cost.add_argument("--managed-price", type=float,
                      help="a managed price per million output tokens (e.g. OVHcloud AI Endpoints)")
    cost.add_argument("--managed-price-source", default="--managed-price flag",
                      help="where the managed price comes from (a price page and its date)")
    p.add_argument("--synthetic", action="store_true",
                   help="mark the latencies synthetic (automatic for the emulator's stand-in URLs)")
    p.add_argument("--bench-python", default=os.environ.get("BENCH_PYTHON"),
                   help="the Python of the bench environment (default: .venv-bench/bin/python)")
    return p


def _levels(text: str) -> list[int]:
    try:
        levels = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise BenchError(f"--concurrency {text!r}: give whole numbers, comma-separated: 1,4,16", 2) from None
    if not levels or any(level < 1 for level in levels):
        raise BenchError(f"--concurrency {text!r}: each level must be >= 1", 2)
    return sorted(set(levels))


def resolve_target(args: argparse.Namespace) -> Target:
    if args.stack:
        if args.url or args.model:
            raise BenchError("give either --stack or --url/--model, not both", 2)
        target = target_from_outputs(stack_outputs(args.stack, args.cwd), args.stack)
    else:
        if not args.url or not args.model:
            raise BenchError("give --url and --model (or --stack NAME)", 2)
        token = ""
        if args.token_env:
            token = os.environ.get(args.token_env, "")
            if not token:
                raise BenchError(f"--token-env {args.token_env}: that environment variable is not set", 2)
        target = Target(check_base_url(args.url), args.model, token)
    if args.hourly_cost is not None:
        if args.hourly_cost < 0:
            raise BenchError(f"--hourly-cost {args.hourly_cost}: must be >= 0", 2)
        target = Target(target.base_url, target.model, target.token, args.hourly_cost,
                        target.currency, "--hourly-cost flag")
    return target


def bench_python(explicit: str | None) -> str:
    python = Path(explicit) if explicit else REPO_ROOT / ".venv-bench" / "bin" / "python"
    if not python.exists():
        raise BenchError(
            f"no bench environment at {python}: run `bash scripts/setup.sh` (it makes .venv-bench "
            "from requirements-bench.txt) or pass --bench-python", 2
        )
    return str(python)


def _run_module(python: str, module: str, *args: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO_ROOT))
    done = subprocess.run([python, "-m", module, *args], capture_output=True, text=True, env=env, timeout=600)
    if done.returncode != 0:
        lines = [line for line in done.stderr.splitlines() if line.strip()]
        raise BenchError(f"{module} failed: {lines[-1] if lines else done.returncode}")
    return done.stdout.strip()


def run(args: argparse.Namespace, load_generator: LoadGenerator | None = None) -> dict[str, object]:
    levels = _levels(args.concurrency)
    if args.input_tokens < 1 or args.output_tokens < 1:
        raise BenchError("--input-tokens and --output-tokens must be >= 1", 2)
    if args.requests is not None and args.requests < max(levels):
        raise BenchError(f"--requests {args.requests}: give at least the top concurrency ({max(levels)})", 2)
    if args.managed_price is not None and args.managed_price < 0:
        raise BenchError(f"--managed-price {args.managed_price}: must be >= 0", 2)
    target = resolve_target(args)
    names = preflight.check(target)  # the endpoint's own faults first, whatever the set-up
    python = bench_python(args.bench_python)
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    tokenizer = args.tokenizer
    if tokenizer is None:
        tokenizer = Path(_run_module(python, "components.bench.tokenizer", str(out / "tokenizer")))
    elif not (tokenizer / "tokenizer.json").exists() and not (tokenizer / "tokenizer_config.json").exists():
        raise BenchError(f"--tokenizer {tokenizer}: not a Hugging Face tokenizer directory", 2)
    workload = Workload(args.input_tokens, args.output_tokens, args.requests, args.request_timeout,
                        tokenizer=tokenizer)
    generator: LoadGenerator = load_generator or Aiperf(python, REPO_ROOT)
    started = dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()
    results: list[LevelResult] = []
    for level in levels:
        print(f"bench: concurrency {level}: {workload.requests_for(level)} requests ...", file=sys.stderr)
        results.append(generator.run(target, workload, level, out / "runs" / f"concurrency-{level}"))
    currency = args.currency or target.currency or "EUR"
    hourly = (Price(target.hourly_cost, currency, target.cost_source or "")
              if target.hourly_cost is not None else None)
    managed = (Price(args.managed_price, currency, args.managed_price_source)
               if args.managed_price is not None else None)
    report = build_report(
        results,
        target={"baseUrl": target.base_url, "model": target.model, "stack": args.stack,
                "servedModels": names},
        workload={"inputTokens": workload.input_tokens, "outputTokens": workload.output_tokens,
                  "requestsPerLevel": {str(c): workload.requests_for(c) for c in levels},
                  "streaming": True, "ignoreEos": True, "tokenizer": str(tokenizer)},
        tool={"name": generator.name, "version": generator.version()},
        hourly=hourly, managed=managed, synthetic=args.synthetic or target.is_standin, started_at=started,
    )
    (out / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    _run_module(python, "components.bench.plot", str(out / "report.json"), str(out / "report.png"))
    return report


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = parser().parse_args(argv)
        report = run(args)
    except BenchError as error:
        print(f"bench: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("bench: error: interrupted", file=sys.stderr)
        return 130
    except OSError as error:  # e.g. --out not writable, a binary that cannot start
        print(f"bench: error: {error}", file=sys.stderr)
        return 1
    for line in summary_lines(report):
        print(line)
    print(f"bench: wrote {args.out / 'report.json'} and {args.out / 'report.png'}")
    return 0
