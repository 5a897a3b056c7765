"""`python -m components.bench` end to end against the emulator's vLLM stand-in, over real HTTP on
loopback: a RUNNING app deployed through the API, a read token scoped to it, AIPerf (from
.venv-bench) loading it at two concurrency levels, the JSON report and the PNG. Then the bad
inputs: each is one line naming the cause, a non-zero exit code, never a traceback.

The full run needs the bench environment that `bash scripts/setup.sh` makes (.venv-bench, from
requirements-bench.txt): without it that test fails and says so.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.ovhai import OvhAiClient
from emulator.runner import RunningEmulator

REPO = Path(__file__).resolve().parents[1]
BENCH_PYTHON = REPO / ".venv-bench" / "bin" / "python"
TOKEN_VAR = "BENCH_TEST_TOKEN"


@pytest.fixture(scope="module")
def served(emulator: RunningEmulator) -> Iterator[dict[str, str]]:
    """A running stand-in app (--max-num-seqs 2) and a read token scoped to its label."""
    spec = {
        "name": "bench-target", "image": "vllm/vllm-openai:v0.10.1.1",
        "command": ["vllm", "serve", "org/model", "--served-model-name", "m", "--max-num-seqs", "2"],
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "defaultHttpPort": 8000,
        "labels": {"bench-test": "yes"},
    }
    with OvhAiClient(emulator.base_url, emulator.admin_token) as api:
        app = api.create_app(spec)
        token = api.create_token("bench-test-read", "read", "bench-test=yes")
        try:
            api.wait_for_app(app.id, timeout=30)
            url = str(api.get_app(app.id).status.url)
            yield {"url": f"{url}/v1", "token": str(token.value)}
        finally:
            api.delete_app(app.id, force=True)
            api.wait_for_app_gone(app.id, timeout=60)  # frees its quota for the next test
            api.delete_token(token.id)


def bench(*args: str, token: str | None = None, timeout: float = 240) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != TOKEN_VAR}
    if token is not None:
        env[TOKEN_VAR] = token
    return subprocess.run([sys.executable, "-m", "components.bench", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_a_run_writes_the_report_and_the_plot(served: dict[str, str], tmp_path: Path) -> None:
    if not BENCH_PYTHON.exists():
        pytest.fail(f"no bench environment at {BENCH_PYTHON}: run `bash scripts/setup.sh` (it makes "
                    ".venv-bench from requirements-bench.txt)")
    out = tmp_path / "bench"
    done = bench("--url", served["url"], "--model", "m", "--token-env", TOKEN_VAR, "--out", str(out),
                 "--concurrency", "1,4", "--requests", "8", "--input-tokens", "128", "--output-tokens", "32",
                 "--hourly-cost", "1.8", "--managed-price", "0.4",
                 "--managed-price-source", "test figure", token=served["token"])
    assert done.returncode == 0, done.stderr[-2000:]
    report: dict[str, Any] = json.loads((out / "report.json").read_text())
    assert report["synthetic"] is True and "synthetic" in report["notes"][0]
    assert report["tool"] == {"name": "aiperf", "version": "0.13.0"}
    assert report["target"]["model"] == "m" and report["target"]["servedModels"] == ["m"]
    one, four = report["levels"]
    assert (one["concurrency"], four["concurrency"]) == (1, 4)
    for entry in (one, four):
        assert entry["succeeded"] == 8 and entry["failed"] == 0 and entry["errorRate"] == 0
        assert entry["outputTokens"] == 8 * 32  # ignore_eos: every request the full length
        assert 5 < entry["interTokenLatencyMs"]["p50"] < 50  # the stand-in's 10 ms a token
        assert entry["cost"]["selfHostedPerMillionOutputTokens"] > 0
        assert entry["cost"]["managedPerMillionOutputTokens"] == 0.4
    # --max-num-seqs 2: at concurrency 4 half the requests wait for a slot before their first token.
    assert four["timeToFirstTokenMs"]["p90"] > 5 * one["timeToFirstTokenMs"]["p90"]
    assert four["outputTokensPerSecond"] > 1.5 * one["outputTokensPerSecond"]
    hourly = {"amount": 1.8, "currency": "EUR", "source": "--hourly-cost flag"}
    assert report["pricing"]["hourlyCost"] == hourly
    assert (out / "report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "cost/M out EUR" in done.stdout
    # The token is nowhere: not in the output, the report, AIPerf's logs and exports.
    assert served["token"] not in done.stdout + done.stderr
    for path in out.rglob("*"):
        if path.is_file() and path.suffix != ".png":
            assert served["token"] not in path.read_text(errors="replace"), path


def _one_line_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    assert done.returncode != 0
    assert "Traceback" not in done.stderr, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("bench: error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def test_an_unreachable_endpoint(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    done = bench("--url", f"http://127.0.0.1:{port}/v1", "--model", "m", "--out", str(tmp_path))
    _one_line_error(done, "cannot reach", f"127.0.0.1:{port}")


def test_a_wrong_token(served: dict[str, str], tmp_path: Path) -> None:
    done = bench("--url", served["url"], "--model", "m", "--token-env", TOKEN_VAR, "--out", str(tmp_path),
                 token="not-the-token")
    line = _one_line_error(done, "refused the token", "HTTP 401", "--token-env")
    assert "not-the-token" not in line and done.returncode == 2


def test_an_unknown_model(served: dict[str, str], tmp_path: Path) -> None:
    done = bench("--url", served["url"], "--model", "llama-9000", "--token-env", TOKEN_VAR,
                 "--out", str(tmp_path), token=served["token"])
    _one_line_error(done, "does not serve model 'llama-9000'", "it serves: m")


def test_flags_that_cannot_work(tmp_path: Path) -> None:
    _one_line_error(bench("--url", "http://127.0.0.1:9/v1", "--model", "m", "--token-env", TOKEN_VAR,
                          "--out", str(tmp_path)), f"--token-env {TOKEN_VAR}", "not set")
    _one_line_error(bench("--url", "http://127.0.0.1:9/app", "--model", "m", "--out", str(tmp_path)),
                    "does not end in /v1")
    _one_line_error(bench("--url", "http://127.0.0.1:9/v1", "--out", str(tmp_path)), "--model")
    _one_line_error(bench("--url", "http://127.0.0.1:9/v1", "--model", "m", "--out", str(tmp_path),
                          "--concurrency", "1,x"), "--concurrency")
    _one_line_error(bench("--model", "m"), "--out")
    _one_line_error(bench("--url", "http://127.0.0.1:9/v1", "--model", "m", "--out", str(tmp_path),
                          "--concurrency", "1,8", "--requests", "4"), "--requests 4")
