"""The benchmark's pure parts: report math, the AIPerf export and command line, stack outputs."""

from __future__ import annotations

import json
import math
from pathlib import Path

import pytest

from components.bench import aiperf, report
from components.bench.errors import BenchError
from components.bench.report import Distribution, LevelResult, Price
from components.bench.target import Target, check_base_url, target_from_outputs

# Trimmed from a real `aiperf profile` export (aiperf 0.13.0, concurrency 8 against the stand-in
# with --max-num-seqs 4: half the requests waited in line, hence the TTFT).
EXPORT = {
    "request_count": {"unit": "requests", "avg": 16.0},
    "benchmark_duration": {"unit": "sec", "avg": 2.727},
    "total_output_tokens": {"unit": "tokens", "avg": 1000.0},
    "total_usage_completion_tokens": {"unit": "tokens", "avg": 1024.0},
    "time_to_first_token": {"unit": "ms", "avg": 521.485, "p50": 679.757, "p90": 704.375, "p99": 704.789},
    "inter_token_latency": {"unit": "ms", "avg": 10.546, "p50": 10.54, "p90": 10.626, "p99": 10.636},
    "request_latency": {"unit": "ms", "avg": 1185.882, "p50": 1339.596, "p90": 1373.492, "p99": 1373.831},
    "output_token_throughput_per_user": {"unit": "tokens/sec/user", "avg": 94.827, "p50": 94.873,
                                         "p90": 95.559, "p99": 95.672},
    "output_token_throughput": {"unit": "tokens/sec", "avg": 374.91},
    "request_throughput": {"unit": "requests/sec", "avg": 5.858},
}


def level(concurrency: int = 8, tokens: int = 1024, duration: float = 2.727, failed: int = 0) -> LevelResult:
    d = Distribution(1.0, 1.0, 2.0, 3.0)
    return LevelResult(concurrency, 16, failed, duration, tokens, d, d, d, d)


def test_percentiles_interpolate_like_numpy() -> None:
    values = [1.0, 2.0, 3.0, 4.0, 10.0]
    assert report.percentile(values, 50) == 3.0
    assert report.percentile(values, 90) == pytest.approx(7.6)
    assert report.percentile(values, 0) == 1.0 and report.percentile(values, 100) == 10.0
    assert report.percentile([5.0], 99) == 5.0
    with pytest.raises(ValueError):
        report.percentile([], 50)
    with pytest.raises(ValueError):
        report.percentile(values, 101)
    d = Distribution.of(values)
    assert (d.mean, d.p50) == (4.0, 3.0)
    assert math.isnan(Distribution.of([]).p99)


def test_cost_per_million_output_tokens() -> None:
    # 1.80 EUR an hour at 500 tokens/s = 1.8M tokens an hour -> 1.00 EUR per million.
    assert report.cost_per_million_output_tokens(1.8, 500) == pytest.approx(1.0)
    assert report.cost_per_million_output_tokens(1.8, 0) is None
    assert report.break_even_tokens_per_s(1.8, 0.5) == pytest.approx(1000.0)
    assert report.break_even_tokens_per_s(1.8, 0) is None
    with pytest.raises(ValueError):
        report.cost_per_million_output_tokens(-1, 10)


def test_rates_and_error_rate_of_a_level() -> None:
    result = level(failed=4)
    assert result.requests == 20 and result.error_rate == pytest.approx(0.2)
    assert result.output_tokens_per_s == pytest.approx(1024 / 2.727)
    assert result.requests_per_s == pytest.approx(16 / 2.727)
    assert level(duration=0).output_tokens_per_s == 0.0


def test_the_report_puts_self_hosted_and_managed_side_by_side_with_sources() -> None:
    hourly = Price(1.8, "EUR", "stack dev output estimatedHourlyCost")
    managed = Price(0.5, "EUR", "price page, 2026-12-01")
    built = report.build_report(
        [level(1, tokens=360, duration=1.0), level(8, tokens=3600, duration=1.0)],
        target={"baseUrl": "http://x/v1", "model": "m"}, workload={"inputTokens": 512},
        tool={"name": "aiperf", "version": "0.13.0"}, hourly=hourly, managed=managed, synthetic=True,
    )
    first, second = built["levels"]
    assert first["cost"]["selfHostedPerMillionOutputTokens"] == pytest.approx(1.3889, abs=1e-4)
    assert second["cost"]["selfHostedPerMillionOutputTokens"] == pytest.approx(0.1389, abs=1e-4)
    assert second["cost"]["managedPerMillionOutputTokens"] == 0.5
    assert second["cost"]["selfHostedOverManaged"] == pytest.approx(0.2778, abs=1e-4)
    assert built["pricing"]["hourlyCost"]["source"].startswith("stack dev")
    assert built["pricing"]["breakEvenOutputTokensPerSecond"] == pytest.approx(1000.0)
    assert built["synthetic"] and "synthetic" in built["notes"][0]
    json.dumps(built, allow_nan=False)  # strict JSON: no NaN
    lines = report.summary_lines(built)
    assert len(lines) == 1 + 2 + 1 + 1 and "0.14" in lines[2]
    with pytest.raises(ValueError, match="one currency"):
        report.build_report([], target={}, workload={}, tool={}, hourly=hourly,
                            managed=Price(0.5, "USD", "x"))


def test_no_cost_without_an_hourly_cost_and_nan_becomes_null() -> None:
    empty = LevelResult(1, 0, 3, 1.0, 0, *(Distribution.of([]),) * 4)
    built = report.build_report([empty], target={}, workload={}, tool={})
    entry = built["levels"][0]
    assert entry["cost"] == {} and entry["errorRate"] == 1.0 and entry["timeToFirstTokenMs"]["p50"] is None


def test_an_aiperf_export_becomes_a_level() -> None:
    result = aiperf.parse_export(EXPORT, 8)
    assert (result.succeeded, result.failed, result.output_tokens) == (16, 0, 1024)  # server's usage
    assert result.ttft_ms.p90 == 704.375 and result.itl_ms.p50 == 10.54
    assert result.output_tokens_per_s_per_user.p99 == 95.672
    failing = {**EXPORT, "error_request_count": {"avg": 2.0}, "error_summary": [
        {"error_details": {"code": 503, "type": "Service Unavailable", "message": "not ready"}, "count": 2}]}
    result = aiperf.parse_export(failing, 8)
    assert result.failed == 2 and result.errors == {"503 Service Unavailable not ready": 2}
    no_usage = {k: v for k, v in EXPORT.items() if k != "total_usage_completion_tokens"}
    assert aiperf.parse_export(no_usage, 8).output_tokens == 1000


def test_the_aiperf_command_carries_no_token(tmp_path: Path) -> None:
    target = Target("http://127.0.0.1:1/app/abc/v1", "m", "secret-token-value")
    workload = aiperf.Workload(256, 64, tokenizer=tmp_path)
    args = aiperf.command("py", target, workload, 4, tmp_path / "out")
    assert "secret-token-value" not in " ".join(args) and "--api-key" not in args
    assert args[args.index("--url") + 1] == "http://127.0.0.1:1/app/abc"
    assert args[args.index("--request-count") + 1] == "32"  # 8 per slot, at least 16
    assert "ignore_eos:true" in args and "--use-server-token-count" in args
    assert "secret-token-value" not in repr(target)
    log = "x\n│ Reason: Failed to load tokenizer 'y' │\nz"
    assert aiperf.failure_cause(log) == "Reason: Failed to load tokenizer 'y'"


def test_stack_outputs_give_the_target() -> None:
    outputs = {"openaiBaseUrl": "https://a.app.gra.ai.cloud.ovh.net/v1", "model": "llama", "token": "t",
               "estimatedHourlyCost": {"amount": 1.93, "currency": "EUR", "perReplica": 1.93}}
    target = target_from_outputs(outputs, "llama-8b-dev")
    assert (target.model, target.hourly_cost, target.currency) == ("llama", 1.93, "EUR")
    assert target.cost_source and "llama-8b-dev" in target.cost_source and not target.is_standin
    assert target.server_root == "https://a.app.gra.ai.cloud.ovh.net"
    with pytest.raises(BenchError, match=r"no output openaiBaseUrl.*pulumi up --stack s"):
        target_from_outputs({"model": "x"}, "s")
    with pytest.raises(BenchError, match="does not end in /v1"):
        check_base_url("https://a.example/app")
    assert Target("http://127.0.0.1:9/app/0e4f7d2c-aaaa/v1", "m", "").is_standin
