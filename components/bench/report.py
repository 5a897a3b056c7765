"""The benchmark's report: per concurrency level, latency and throughput with percentiles, the
error rate, and what an output token costs. Pure: no HTTP, no load generator, no Pulumi.

Cost per million output tokens at a level = hourly cost / (output tokens per second x 3600) x 1e6:
the endpoint is billed by the hour whatever it serves, so the figure is the cost of a replica set
kept busy at that concurrency. A managed per-token price (e.g. OVHcloud AI Endpoints' price for
the same model) is shown beside it when given, with where each figure comes from.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA = "vllm-ai-deploy/bench-report/1"
PERCENTILES = (50, 90, 99)
SYNTHETIC_NOTE = (
    "The endpoint is the emulator's vLLM stand-in: its latencies are synthetic (a fixed pace per "
    "token and a --max-num-seqs queue), so these figures test the benchmark, not a GPU."
)


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between ranks (numpy's default)."""
    if not values:
        raise ValueError("no values")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0..100, got {q}")
    ordered = sorted(values)
    rank = (len(ordered) - 1) * q / 100
    low, high = math.floor(rank), math.ceil(rank)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


@dataclass(frozen=True)
class Distribution:
    """Mean and p50/p90/p99 of one metric over the requests of a level."""

    mean: float
    p50: float
    p90: float
    p99: float

    @classmethod
    def of(cls, values: Sequence[float]) -> Distribution:
        if not values:
            return cls(math.nan, math.nan, math.nan, math.nan)
        p50, p90, p99 = (percentile(values, q) for q in PERCENTILES)
        return cls(sum(values) / len(values), p50, p90, p99)


@dataclass(frozen=True)
class LevelResult:
    """What a load generator measured at one concurrency level (times in milliseconds)."""

    concurrency: int
    succeeded: int
    failed: int
    duration_s: float
    output_tokens: int
    ttft_ms: Distribution
    itl_ms: Distribution
    latency_ms: Distribution
    output_tokens_per_s_per_user: Distribution
    errors: Mapping[str, int] = field(default_factory=dict)  # cause -> count, when known

    @property
    def requests(self) -> int:
        return self.succeeded + self.failed

    @property
    def error_rate(self) -> float:
        return self.failed / self.requests if self.requests else 0.0

    @property
    def output_tokens_per_s(self) -> float:
        return self.output_tokens / self.duration_s if self.duration_s > 0 else 0.0

    @property
    def requests_per_s(self) -> float:
        return self.succeeded / self.duration_s if self.duration_s > 0 else 0.0


@dataclass(frozen=True)
class Price:
    """A price with where it comes from (a stack output, a flag, a price list and its date)."""

    amount: float
    currency: str
    source: str


def cost_per_million_output_tokens(hourly_cost: float, output_tokens_per_s: float) -> float | None:
    """What a million output tokens cost on an endpoint billed `hourly_cost` an hour that serves
    `output_tokens_per_s`; None when it served none (the cost per token is unbounded)."""
    if hourly_cost < 0:
        raise ValueError(f"hourly cost must be >= 0, got {hourly_cost}")
    if output_tokens_per_s <= 0:
        return None
    return hourly_cost / (output_tokens_per_s * 3600) * 1_000_000


def break_even_tokens_per_s(hourly_cost: float, managed_per_million: float) -> float | None:
    """The sustained output rate at which the hourly endpoint costs what the managed price does."""
    if managed_per_million <= 0:
        return None
    return hourly_cost * 1_000_000 / (managed_per_million * 3600)


def _clean(value: Any) -> Any:
    """JSON has no NaN: an undefined figure becomes null."""
    if isinstance(value, float):
        return None if math.isnan(value) or math.isinf(value) else round(value, 4)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value


def level_entry(level: LevelResult, hourly: Price | None, managed: Price | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "concurrency": level.concurrency,
        "requests": level.requests,
        "succeeded": level.succeeded,
        "failed": level.failed,
        "errorRate": level.error_rate,
        "errors": dict(level.errors),
        "durationSeconds": level.duration_s,
        "outputTokens": level.output_tokens,
        "outputTokensPerSecond": level.output_tokens_per_s,
        "requestsPerSecond": level.requests_per_s,
        "timeToFirstTokenMs": asdict(level.ttft_ms),
        "interTokenLatencyMs": asdict(level.itl_ms),
        "requestLatencyMs": asdict(level.latency_ms),
        "outputTokensPerSecondPerUser": asdict(level.output_tokens_per_s_per_user),
    }
    cost: dict[str, Any] = {}
    if hourly is not None:
        cost["selfHostedPerMillionOutputTokens"] = cost_per_million_output_tokens(
            hourly.amount, level.output_tokens_per_s
        )
    if managed is not None:
        cost["managedPerMillionOutputTokens"] = managed.amount
        own = cost.get("selfHostedPerMillionOutputTokens")
        if own is not None and managed.amount > 0:
            cost["selfHostedOverManaged"] = own / managed.amount
    entry["cost"] = cost
    return entry


def build_report(
    levels: Sequence[LevelResult],
    *,
    target: Mapping[str, Any],
    workload: Mapping[str, Any],
    tool: Mapping[str, Any],
    hourly: Price | None = None,
    managed: Price | None = None,
    synthetic: bool = False,
    started_at: str = "",
) -> dict[str, Any]:
    """The JSON report: what was measured, against what, and the cost figures with sources.
    `target` must not hold the token (the caller passes the URL and the model only)."""
    if hourly is not None and managed is not None and hourly.currency != managed.currency:
        raise ValueError(
            f"the hourly cost is in {hourly.currency} and the managed price in {managed.currency}: "
            "give both in one currency"
        )
    report: dict[str, Any] = {
        "schema": SCHEMA,
        "startedAt": started_at,
        "target": dict(target),
        "workload": dict(workload),
        "tool": dict(tool),
        "synthetic": synthetic,
        "notes": [SYNTHETIC_NOTE] if synthetic else [],
        "pricing": {
            "hourlyCost": asdict(hourly) if hourly else None,
            "managedPerMillionOutputTokens": asdict(managed) if managed else None,
            "formula": "selfHostedPerMillionOutputTokens = hourlyCost / (outputTokensPerSecond x 3600) x 1e6",
        },
        "levels": [level_entry(level, hourly, managed) for level in levels],
    }
    if hourly is not None and managed is not None:
        report["pricing"]["breakEvenOutputTokensPerSecond"] = break_even_tokens_per_s(
            hourly.amount, managed.amount
        )
    return _clean(report)  # type: ignore[no-any-return]


def summary_lines(report: Mapping[str, Any]) -> list[str]:
    """A plain-text table of the report for the terminal, one line per level."""
    pricing = report.get("pricing") or {}
    currency = ((pricing.get("hourlyCost") or pricing.get("managedPerMillionOutputTokens") or {})
                .get("currency", ""))
    lines = [
        f"{'conc':>4} {'req/s':>7} {'out tok/s':>9} {'TTFT p50/p90/p99 ms':>22} "
        f"{'ITL p50/p99 ms':>15} {'err %':>6} {'cost/M out ' + currency:>14}"
    ]

    def num(value: Any, digits: int = 0) -> str:
        return "-" if value is None else f"{value:.{digits}f}"

    for level in report["levels"]:
        ttft, itl = level["timeToFirstTokenMs"], level["interTokenLatencyMs"]
        cost = level["cost"].get("selfHostedPerMillionOutputTokens")
        lines.append(
            f"{level['concurrency']:>4} {num(level['requestsPerSecond'], 2):>7} "
            f"{num(level['outputTokensPerSecond'], 1):>9} "
            f"{num(ttft['p50']) + '/' + num(ttft['p90']) + '/' + num(ttft['p99']):>22} "
            f"{num(itl['p50'], 1) + '/' + num(itl['p99'], 1):>15} "
            f"{num(level['errorRate'] * 100 if level['errorRate'] is not None else None, 1):>6} "
            f"{num(cost, 2):>14}"
        )
    managed = pricing.get("managedPerMillionOutputTokens")
    if managed:
        lines.append(
            f"managed: {managed['amount']} {managed['currency']} per million output tokens "
            f"({managed['source']})"
        )
    lines.extend(report.get("notes") or [])
    return lines
