"""`python -m components.plan`: the table a reviewer reads."""

from __future__ import annotations

import json
import os
import shlex
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


# --- the plan CLI of today: config.json, the Hub, the stack's rules, 120 columns -----------------

CONFIGS = ROOT / "tests" / "data" / "hf_configs"


def _widest(text: str) -> int:
    return max(len(line) for line in text.splitlines())


def test_table_fits_120_columns_and_reasons_wrap_under_rows(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["llama-3.3-70b", "--max-model-len", "131072"]) == 0
    out = capsys.readouterr().out
    table = out.split("\n\n")[0]
    assert _widest(table) <= 120
    assert "\n    why not: weights need" in table
    prose = [line for line in out.splitlines() if not line.strip().startswith("pulumi config set")]
    assert max(map(len, prose)) <= 120


def test_best_prints_the_stack_config_lines(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["qwen3-32b", "--max-model-len", "32768", "--flavor", "a100-1-gpu", "--dtype", "fp8"]) == 0
    out = capsys.readouterr().out
    lines = [line.strip() for line in out.splitlines() if line.strip().startswith("pulumi config set")]
    assert lines == [
        "pulumi config set vllm-ai-deploy:model qwen3-32b",
        "pulumi config set vllm-ai-deploy:gpuFlavor a100-1-gpu",
        "pulumi config set vllm-ai-deploy:gpuCount 1",
        "pulumi config set vllm-ai-deploy:maxModelLen 32768",
        "pulumi config set vllm-ai-deploy:dtype fp8",
    ]
    # FP8 on A100: allowed, weight-only (FP8 Marlin), the trade-off said
    assert "note: 1 x a100-1-gpu: FP8 weights on A100 run weight-only" in out


def test_the_printed_lines_make_a_stack_the_settings_accept(capsys: pytest.CaptureFixture[str]) -> None:
    """The `pulumi config set` lines, read back as a stack's config, give the same plan."""
    from components.settings import rules_gpu
    from components.settings.keys import PROJECT, StackConfig
    from components.settings.problems import Problems
    from components.settings.rules_base import Findings

    assert main(["gpt-oss-20b", "--flavor", "l4-1-gpu"]) == 0
    values: dict[str, object] = {}
    for line in capsys.readouterr().out.splitlines():
        if line.strip().startswith("pulumi config set"):
            key, value = line.split(f"{PROJECT}:", 1)[1].split(" ", 1)
            values[key] = int(value) if key in ("gpuCount", "maxModelLen") else value
    cfg = StackConfig(**values)  # type: ignore[arg-type]
    findings = Findings(Problems(PROJECT))
    from components.catalog import resolve_model

    chosen = rules_gpu.plan(cfg, resolve_model(cfg.model), 0.9, {}, findings)
    assert chosen is not None and not findings.failed
    assert (chosen[0].flavor, chosen[0].gpus) == ("l4-1-gpu", values["gpuCount"])
    assert any("Marlin MXFP4" in w for w in findings.warnings)  # the stack warns like the CLI notes


def test_same_rules_and_ranges_as_the_stack(capsys: pytest.CaptureFixture[str]) -> None:
    from components.settings.keys import bounds

    low, high = bounds("gpuMemoryUtilization")
    assert main(["qwen3-32b", "--gpu-memory-utilization", str(high + 0.01)]) == 2
    err = capsys.readouterr().err
    assert f"must be between {low:g} and {high:g}" in err
    assert "--gpu-memory-utilization (stack key gpuMemoryUtilization)" in err
    assert "pulumi config set vllm-ai-deploy:gpuMemoryUtilization" in err
    assert main(["qwen3-32b", "--max-model-len", "100"]) == 2
    assert "--max-model-len (stack key maxModelLen): must be at least 256" in capsys.readouterr().err
    assert main(["qwen3-32b", "--max-model-len", "65536"]) == 2
    assert "above Qwen/Qwen3-32B's maximum context of 40960" in capsys.readouterr().err
    assert main(["qwen3-32b", "--gpus", "9"]) == 2
    assert "--gpus (stack key gpuCount)" in capsys.readouterr().err
    assert main(["qwen3-32b", "--flavor", "h200-1-gpu"]) == 2
    assert "'h200-1-gpu' is not a GPU flavor" in capsys.readouterr().err
    assert main(["qwen3-32b", "--price", "l4-1-gpu=free"]) == 2
    assert "--price (stack key prices)" in capsys.readouterr().err
    assert main(["qwen3-32b", "--vllm-version", "0.99"]) == 2
    assert "newer than the newest release profile" in capsys.readouterr().err


def test_a_context_no_gpu_holds_suggests_the_max_model_len_that_fits(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["llama-3.1-8b", "--flavor", "l4-1-gpu", "--gpus", "1"]) == 1
    out = capsys.readouterr().out
    fix = [line.strip() for line in out.splitlines() if "config set" in line]
    assert len(fix) == 1 and fix[0].startswith("pulumi config set vllm-ai-deploy:maxModelLen ")
    length = int(fix[0].rsplit(" ", 1)[1])
    assert 8192 <= length < 131072
    assert main(["llama-3.1-8b", "--flavor", "l4-1-gpu", "--gpus", "1", "--max-model-len", str(length)]) == 0


def test_config_file_of_a_model_outside_the_catalog(capsys: pytest.CaptureFixture[str]) -> None:
    path = CONFIGS / "qwen3-30b-a3b.config.json"
    assert main(["--config", str(path), "Example/Qwen3-MoE-Finetune", "--max-model-len", "32768"]) == 0
    out = capsys.readouterr().out
    assert "Best:" in out
    spec_line = next(line for line in out.splitlines() if ":modelSpec " in line)
    assert "pulumi config set vllm-ai-deploy:model Example/Qwen3-MoE-Finetune" in out
    spec = json.loads(shlex.split(spec_line)[-1])
    assert spec["hfId"] == "Example/Qwen3-MoE-Finetune" and spec["numExperts"] == 128


def test_model_spec_line_is_what_the_stack_rules_read(capsys: pytest.CaptureFixture[str]) -> None:
    from components.settings import rules_identity
    from components.settings.keys import PROJECT, StackConfig
    from components.settings.problems import Problems
    from components.settings.rules_base import Findings

    assert main(["--config", str(CONFIGS / "gpt-oss-20b.config.json"), "me/gpt-oss-20b-tuned"]) == 0
    out = capsys.readouterr().out
    spec_line = next(line for line in out.splitlines() if ":modelSpec " in line)
    cfg = StackConfig(model="me/gpt-oss-20b-tuned", modelSpec=shlex.split(spec_line)[-1])
    findings = Findings(Problems(PROJECT))
    spec = rules_identity.model(cfg, findings)
    assert spec is not None and not findings.failed
    assert (spec.quantization, spec.sliding_window_layers, spec.num_experts) == ("mxfp4", 12, 32)


def test_config_missing_a_field_names_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = json.loads((CONFIGS / "qwen3-30b-a3b.config.json").read_text())
    del config["num_hidden_layers"]
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config))
    assert main(["--config", str(path), "x/y"]) == 2
    err = capsys.readouterr().err
    assert "has no `num_hidden_layers`, which the planner needs" in err
    path.write_text("{not json")
    assert main(["--config", str(path), "x/y"]) == 2
    assert "is not JSON" in capsys.readouterr().err
    assert main(["--config", str(tmp_path / "absent.json"), "x/y"]) == 2
    assert "cannot read" in capsys.readouterr().err


def _hub_cache(root: Path, repo_id: str, config: Path) -> Path:
    """A Hugging Face cache as huggingface_hub writes it: refs/main -> snapshots/<commit>/config.json."""
    commit = "0123456789abcdef0123456789abcdef01234567"
    repo = root / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    snapshot = repo / "snapshots" / commit
    snapshot.mkdir(parents=True)
    (snapshot / "config.json").write_text(config.read_text())
    return root


def _run_offline(args: list[str], cache: Path) -> subprocess.CompletedProcess[str]:
    """The CLI as a user runs it, with the Hub unreachable: HF_HUB_OFFLINE=1 and a local cache.

    The Hub cannot be reached from here: the cache stands in for a previous download (the real
    huggingface_hub code resolves it), which is how the same command runs on an offline host."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_CACHE": str(cache), "HF_HOME": str(cache.parent)}
    return subprocess.run(
        [sys.executable, "-m", "components.plan", *args],
        cwd=ROOT, capture_output=True, text=True, timeout=120, check=False, env=env,
    )  # fmt: skip


def test_hugging_face_id_through_huggingface_hub_cache(tmp_path: Path) -> None:
    import huggingface_hub  # noqa: F401  (requirements-hub.txt; a missing install fails here)

    config = CONFIGS / "gemma-3-27b-it.config.json"
    cache = _hub_cache(tmp_path / "hub", "google/gemma-3-27b-it-custom", config)
    result = _run_offline(["google/gemma-3-27b-it-custom", "--max-model-len", "32768"], cache)
    assert result.returncode == 0, result.stderr
    assert "Best:" in result.stdout
    assert "pulumi config set vllm-ai-deploy:model google/gemma-3-27b-it-custom" in result.stdout
    assert '"slidingWindowLayers":52' in result.stdout


def test_hugging_face_id_offline_and_not_cached(tmp_path: Path) -> None:
    (tmp_path / "hub").mkdir()
    result = _run_offline(["Qwen/Qwen2.5-7B-Instrct"], tmp_path / "hub")
    assert result.returncode == 2
    assert "not in the Hugging Face cache" in result.stderr and "--config" in result.stderr
    assert "Did you mean 'qwen2.5-7b'?" in result.stderr
    assert "Traceback" not in result.stderr


def test_hub_loader_without_huggingface_hub(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without the optional library the id path says how to install it (the import is made to fail)."""
    import builtins

    from components.hub_config import ConfigLoadError, fetch_config

    real_import = builtins.__import__

    def no_hub(name: str, *args: object, **kwargs: object) -> object:
        if name.startswith("huggingface_hub"):
            raise ImportError(name)
        return real_import(name, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(builtins, "__import__", no_hub)
    with pytest.raises(ConfigLoadError, match=r"requirements-hub\.txt"):
        fetch_config("org/name")
