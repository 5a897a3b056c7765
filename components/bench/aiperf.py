"""The load-generator adapter for NVIDIA AIPerf (https://github.com/ai-dynamo/aiperf, pinned in
requirements-bench.txt), and the interface another generator would implement.

Why AIPerf: it is made for OpenAI-compatible LLM servers (vLLM included), measures TTFT,
inter-token latency and per-user output rates from streamed chunks with p50/p90/p99, counts
errors, takes server-reported token counts (`--use-server-token-count`), and needs neither torch
nor the Hub (guidellm 0.8.1 pulls torch and CUDA wheels; `vllm bench serve` all of vLLM). It
runs from .venv-bench, through aiperf_shim.py so that the token is never on a command line.

One run of `aiperf profile` per concurrency level: a fixed number of streamed chat requests of
synthetic prompts (`--isl` tokens, AIPerf's Shakespeare corpus) asking for `--osl` tokens with
`ignore_eos` (vLLM's sampling extra), so every request generates the full output length.
`profile_export_aiperf.json` (times in ms) becomes a LevelResult.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from .errors import BenchError
from .report import Distribution, LevelResult
from .target import Target

EXPORT = "profile_export_aiperf.json"
TOKEN_VARIABLE = "BENCH_API_KEY"  # read by aiperf_shim.py


@dataclass(frozen=True)
class Workload:
    input_tokens: int = 512
    output_tokens: int = 128
    requests_per_level: int | None = None  # default: requests_for(concurrency)
    request_timeout_s: float = 600.0
    level_timeout_s: float = 1800.0
    tokenizer: Path | None = None  # a Hugging Face tokenizer directory

    def requests_for(self, concurrency: int) -> int:
        """Enough requests for percentiles: 8 per concurrent slot, at least 16."""
        return self.requests_per_level or max(16, 8 * concurrency)


class LoadGenerator(Protocol):
    """What the benchmark needs of a load generator (AIPerf here; another one plugs in here)."""

    @property
    def name(self) -> str: ...

    def version(self) -> str: ...

    def run(self, target: Target, workload: Workload, concurrency: int, out: Path) -> LevelResult: ...


def command(python: str, target: Target, workload: Workload, concurrency: int, out: Path) -> list[str]:
    """The `aiperf profile` command line of one level (without the token: see aiperf_shim.py)."""
    args = [
        python, "-m", "components.bench.aiperf_shim", "profile",
        "--model", target.model,
        "--url", target.server_root,
        "--endpoint-type", "chat",
        "--streaming",
        "--isl", str(workload.input_tokens),
        "--osl", str(workload.output_tokens),
        "--extra-inputs", "ignore_eos:true",
        "--use-server-token-count",
        "--concurrency", str(concurrency),
        "--request-count", str(workload.requests_for(concurrency)),
        "--request-timeout-seconds", str(workload.request_timeout_s),
        "--random-seed", "14",
        "--ui-type", "none",
        "--no-server-metrics",
        "--no-gpu-telemetry",
        "--artifact-dir", str(out),
    ]
    if workload.tokenizer is not None:
        args += ["--tokenizer", str(workload.tokenizer)]
    return args


def _distribution(metric: Mapping[str, Any] | None) -> Distribution:
    if not metric:
        return Distribution.of([])
    nan = float("nan")
    return Distribution(
        float(metric.get("avg", nan)), float(metric.get("p50", nan)),
        float(metric.get("p90", nan)), float(metric.get("p99", nan)),
    )


def _scalar(export: Mapping[str, Any], tag: str, default: float = 0.0) -> float:
    metric = export.get(tag)
    return float(metric.get("avg", default)) if isinstance(metric, Mapping) else default


def parse_export(export: Mapping[str, Any], concurrency: int) -> LevelResult:
    """A LevelResult from AIPerf's JSON export. `request_count` counts valid requests and
    `error_request_count` failed ones (absent on a clean run, see aiperf's
    request_error_rate_metric.py); output tokens are the server's usage counts when AIPerf has
    them (`total_usage_completion_tokens`), else its own (`total_output_tokens`)."""
    tokens = _scalar(export, "total_usage_completion_tokens", -1.0)
    if tokens < 0:
        tokens = _scalar(export, "total_output_tokens")
    errors: dict[str, int] = {}
    for entry in export.get("error_summary") or []:
        if isinstance(entry, Mapping):
            details = entry.get("error_details") or {}
            cause = " ".join(str(details.get(k, "")) for k in ("code", "type", "message")).strip()
            errors[cause or "error"] = int(entry.get("count", 0))
    return LevelResult(
        concurrency=concurrency,
        succeeded=int(_scalar(export, "request_count")),
        failed=int(_scalar(export, "error_request_count")),
        duration_s=_scalar(export, "benchmark_duration"),
        output_tokens=int(tokens),
        ttft_ms=_distribution(export.get("time_to_first_token")),
        itl_ms=_distribution(export.get("inter_token_latency")),
        latency_ms=_distribution(export.get("request_latency")),
        output_tokens_per_s_per_user=_distribution(export.get("output_token_throughput_per_user")),
        errors=errors,
    )


def failure_cause(log: str) -> str:
    """The most telling line of a failed AIPerf run (its own summary of what went wrong)."""
    lines = [line.strip(" │╭╰─") for line in log.splitlines()]
    lines = [line for line in lines if line]
    for marker in ("request(s) failed", "Reason:", "ERROR", "Error:"):
        for line in lines:
            if marker in line:
                return line[:300]
    return lines[-1][:300] if lines else "no output"


@dataclass(frozen=True)
class Aiperf:
    """AIPerf run by the bench environment's Python (`python`, .venv-bench/bin/python)."""

    python: str
    repo_root: Path
    name: str = "aiperf"

    def _env(self, target: Target | None = None) -> dict[str, str]:
        # aiperf 0.13.0 in HF offline mode looks a local tokenizer directory up in the Hub cache
        # and fails (common/tokenizer.py `_load_from_hub`): the tokenizer is a local directory.
        dropped = {TOKEN_VARIABLE, "HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"}
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.repo_root), env.get("PYTHONPATH")]))
        if target is not None and target.token:
            env[TOKEN_VARIABLE] = target.token
        return env

    def version(self) -> str:
        probe = [self.python, "-c", "import importlib.metadata as m; print(m.version('aiperf'))"]
        done = subprocess.run(probe, capture_output=True, text=True, env=self._env(), timeout=60)
        return done.stdout.strip() or "unknown"

    def run(self, target: Target, workload: Workload, concurrency: int, out: Path) -> LevelResult:
        out.mkdir(parents=True, exist_ok=True)
        log_path = out / "aiperf-console.log"
        args = command(self.python, target, workload, concurrency, out)
        try:
            with log_path.open("w") as log:
                done = subprocess.run(
                    args, stdout=log, stderr=subprocess.STDOUT, env=self._env(target),
                    cwd=out, timeout=workload.level_timeout_s,
                )
        except subprocess.TimeoutExpired:
            raise BenchError(
                f"aiperf at concurrency {concurrency} did not finish within {workload.level_timeout_s:.0f} s "
                f"(log: {log_path})"
            ) from None
        export = out / EXPORT
        if done.returncode != 0 or not export.exists():
            cause = failure_cause(log_path.read_text(errors="replace"))
            raise BenchError(f"aiperf failed at concurrency {concurrency}: {cause} (log: {log_path})")
        return parse_export(json.loads(export.read_text()), concurrency)
