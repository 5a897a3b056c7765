"""`python -m components.plan`: the table a reviewer reads."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from components.plan import main

ROOT = Path(__file__).resolve().parents[1]


def test_table_and_best_plan(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mistral-small-24b", "--flavor", "l40s-1-gpu"]) == 0
    out = capsys.readouterr().out
    assert "l40s-1-gpu" in out and "KV tokens" in out and "EUR/h" in out
    assert "Best: 2 x l40s-1-gpu (tensor parallel 2" in out
    assert "estimates" in out


def test_no_fit_exit_1_with_proposal(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["llama-3.1-8b", "--flavor", "l4-1-gpu", "--gpus", "1"]) == 1
    out = capsys.readouterr().out
    assert "No plan fits" in out and "max_model_len=" in out


def test_options_pass_through(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(
        [
            "llama-3.1-8b",
            "--max-model-len",
            "8192",
            "--dtype",
            "fp8",
            "--kv-cache-dtype",
            "fp8",
            "--flavor",
            "l4-1-gpu",
            "--gpus",
            "1",
            "--price",
            "l4-1-gpu=0.5",
        ]
    )
    out = capsys.readouterr().out
    assert code == 0 and "bfloat16+fp8, kv fp8" in out and "0.50" in out


def test_unknown_model_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["mistral-smal"]) == 2
    assert "Did you mean 'mistral-small-24b'" in capsys.readouterr().err


def test_runs_as_a_module() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "components.plan", "qwen2.5-7b", "--max-model-len", "16384"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "Best:" in result.stdout
