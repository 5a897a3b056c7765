"""components.vllm: the launch is equivalent to the OVHcloud seed and safe to run on AI Deploy."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from components.catalog import CATALOG, resolve_model
from components.sizing import best_plan, plan
from components.vllm import (
    DEADLINE_FLOOR_SECONDS,
    MANAGED_FLAGS,
    EngineOptions,
    build_launch,
    progress_deadline_seconds,
    release_args_problems,
)
from components.vllm_releases import NEWEST, profile

# The seed ran `vllm/vllm-openai:latest` in August 2025: vLLM 0.10.1.1, before the Mistral
# formats were auto-detected (vllm PR #28659, 0.12).
SEED_RELEASE = profile("0.10.1.1")

API_MD = Path(__file__).resolve().parents[2] / "shared" / "ovhai" / "API.md"
# The seed's command as API.md quotes it (kept here so the test runs without ../shared too).
SEED_FALLBACK = (
    "python3 -m vllm.entrypoints.openai.api_server --model mistralai/Mistral-Small-24B-Instruct-2501 "
    "--tensor-parallel-size 2 --tokenizer_mode mistral --load_format mistral --config_format mistral "
    "--dtype half"
)


def seed_command() -> str:
    if not API_MD.exists():
        return SEED_FALLBACK
    text = " ".join(API_MD.read_text().split())
    match = re.search(r'bash -c "(python3 -m vllm[^"]+)"', text)
    assert match, "seed command not found in API.md"
    return match.group(1)


def flags(argv: list[str]) -> tuple[list[str], dict[str, str]]:
    """(entry point, {--flag-with-dashes: value}) of an argv list."""
    start = next(i for i, a in enumerate(argv) if a.startswith("--"))
    entry, out = argv[:start], {}
    i = start
    while i < len(argv):
        name = "--" + argv[i][2:].replace("_", "-")
        if i + 1 < len(argv) and not argv[i + 1].startswith("--"):
            out[name], i = argv[i + 1], i + 2
        else:
            out[name], i = "", i + 1
    return entry, out


def seed_launch():
    model = CATALOG["mistral-small-24b"]
    chosen = best_plan(model, flavors=["l40s-1-gpu"], gpus=2, dtype="half")
    return model, chosen, build_launch(model, chosen, options=EngineOptions(release=SEED_RELEASE))


def test_equivalent_to_the_seed_for_mistral_small_on_two_l40s() -> None:
    seed_entry, seed_flags = flags(shlex.split(seed_command()))
    _, chosen, launch = seed_launch()
    entry, ours = flags(launch.command)
    assert entry == seed_entry == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    for name, value in seed_flags.items():
        assert ours.get(name) == value, name
    # Every extra flag restates vLLM's default for this deployment (or the app's wiring).
    extras = {k: v for k, v in ours.items() if k not in seed_flags}
    assert extras == {
        "--served-model-name": "mistralai/Mistral-Small-24B-Instruct-2501",  # vLLM's default name
        "--host": "0.0.0.0",
        "--port": "8000",
        "--max-model-len": "32768",  # the model's own context
        "--gpu-memory-utilization": "0.9",
    }
    assert chosen.dtype == "float16" and chosen.tensor_parallel == 2


def test_default_dtype_for_l40s_is_bfloat16_and_half_on_v100s() -> None:
    model = CATALOG["mistral-small-24b"]
    _, on_l40s = flags(build_launch(model, best_plan(model, flavors=["l40s-1-gpu"])).command)
    assert on_l40s["--dtype"] == "bfloat16"
    small = CATALOG["mistral-7b"]
    _, on_v100s = flags(
        build_launch(small, best_plan(small, flavors=["ai1-1-gpu"], max_model_len=8192)).command
    )
    assert on_v100s["--dtype"] == "half"


def test_command_is_an_argv_list_without_shell() -> None:
    _, _, launch = seed_launch()
    assert launch.command[0] == "python3" and "bash" not in launch.command and "-c" not in launch.command
    assert all(isinstance(a, str) for a in launch.command)
    named = build_launch(CATALOG["qwen2.5-7b"], best_plan("qwen2.5-7b"), served_model_name="my model 'q'")
    _, f = flags(named.command)
    assert f["--served-model-name"] == "my model 'q'"  # no quoting needed


def test_quantisation_and_kv_cache_flags() -> None:
    model = CATALOG["llama-3.1-8b"]
    fp8 = best_plan(model, flavors=["l4-1-gpu"], dtype="fp8", kv_cache_dtype="fp8")
    _, f = flags(build_launch(model, fp8).command)
    assert f["--quantization"] == "fp8" and f["--kv-cache-dtype"] == "fp8"
    plain = best_plan(model, flavors=["h100-1-gpu"])
    _, f = flags(build_launch(model, plain).command)
    assert "--quantization" not in f and "--kv-cache-dtype" not in f
    # Pre-quantised checkpoints: vLLM reads the method from config.json (and picks Marlin kernels).
    awq = CATALOG["qwen2.5-72b-awq"]
    _, f = flags(build_launch(awq, best_plan(awq)).command)
    assert "--quantization" not in f


def test_tool_calling() -> None:
    model = CATALOG["llama-3.1-8b"]
    chosen = best_plan(model, flavors=["h100-1-gpu"])
    _, f = flags(build_launch(model, chosen, tool_calling=True).command)
    assert f["--enable-auto-tool-choice"] == "" and f["--tool-call-parser"] == "llama3_json"
    _, f = flags(build_launch(model, chosen).command)
    assert "--enable-auto-tool-choice" not in f
    r1 = CATALOG["deepseek-r1-distill-llama-70b"]
    with pytest.raises(ValueError, match="tool-call parser"):
        build_launch(r1, best_plan(r1, max_model_len=32768), tool_calling=True)


def test_env_caches_and_secret_token() -> None:
    model, chosen, _ = seed_launch()
    launch = build_launch(model, chosen, hf_token="hf_secret")
    assert launch.env["HF_HOME"] == "/hub"
    for name in ("VLLM_CACHE_ROOT", "TORCHINDUCTOR_CACHE_DIR", "TRITON_CACHE_DIR"):
        assert launch.env[name].startswith("/hub/")
    assert launch.env["VLLM_NO_USAGE_STATS"] == "1"
    assert launch.secret_env == {"HF_TOKEN": "hf_secret"}
    assert "hf_secret" not in " ".join(launch.command) and "hf_secret" not in str(launch.env)
    assert launch.needs_hf_token
    untokened = build_launch(model, chosen)
    assert untokened.secret_env == {} and untokened.notes


def test_probes_and_deadline() -> None:
    model, chosen, launch = seed_launch()
    assert launch.probe == {"path": "/health", "port": 8000}
    live = launch.liveness_probe
    assert live["path"] == "/health" and live["port"] == 8000
    assert 2 <= live["timeoutSeconds"] <= 10 and live["failureThreshold"] >= 3
    assert live["initialDelaySeconds"] >= DEADLINE_FLOOR_SECONDS
    assert launch.deployment_strategy["progressDeadlineSeconds"] >= DEADLINE_FLOOR_SECONDS
    other = build_launch(model, chosen, port=9000)
    assert other.probe["port"] == 9000 and "9000" in other.command


def test_deadline_grows_with_the_weights_and_has_a_floor() -> None:
    small = progress_deadline_seconds(CATALOG["qwen2.5-7b"])
    big = progress_deadline_seconds(CATALOG["llama-3.3-70b"])
    assert small == DEADLINE_FLOOR_SECONDS
    assert big > 1800 and big % 60 == 0
    assert progress_deadline_seconds(CATALOG["llama-3.3-70b-fp8"]) < big


def test_gpu_memory_utilization_follows_the_plan() -> None:
    model = resolve_model("qwen2.5-7b")
    chosen = plan(model, gpu_memory_utilization=0.85, flavors=["l4-1-gpu"], gpus=1, max_model_len=8192)[0]
    _, f = flags(build_launch(model, chosen).command)
    assert f["--gpu-memory-utilization"] == "0.85"
    _, f = flags(build_launch(model, chosen, gpu_memory_utilization=0.8).command)
    assert f["--gpu-memory-utilization"] == "0.8"


def test_bad_port() -> None:
    model, chosen, _ = seed_launch()
    with pytest.raises(ValueError, match="port"):
        build_launch(model, chosen, port=0)


def test_mistral_formats_are_given_only_where_the_release_does_not_detect_them() -> None:
    model = CATALOG["mistral-small-24b"]
    chosen = best_plan(model, flavors=["l40s-1-gpu"], gpus=2)
    for version, given in (("0.10.1.1", True), ("0.11.2", True), ("0.12.0", False), ("0.30.0", False)):
        _, f = flags(build_launch(model, chosen, options=EngineOptions(release=profile(version))).command)
        assert ("--tokenizer-mode" in f) is given, version
        assert ("--load-format" in f) is given and ("--config-format" in f) is given, version
    # A stack giving them itself (the dev stack reproduces the seed) is not doubled.
    seed_args = ("--tokenizer-mode", "mistral", "--load-format", "mistral", "--config-format", "mistral")
    options = EngineOptions(release=SEED_RELEASE, extra_args=seed_args)
    command = build_launch(model, chosen, options=options).command
    assert command.count("--tokenizer-mode") == 1 and command.count("--load-format") == 1


def test_only_flags_the_release_accepts() -> None:
    newest, old = profile(NEWEST), profile("0.10.1.1")
    assert newest.accepts("--kv-cache-memory-bytes") and not old.accepts("--kv-cache-memory-bytes")
    assert old.accepts("--num-scheduler-steps") and not newest.accepts("--num-scheduler-steps")
    assert newest.accepts("--enable_prefix_caching")  # underscores, as vLLM accepts them
    assert release_args_problems(["--enable-prefix-caching", "--max-num-seqs", "64", "-O3"], newest) == []
    problems = release_args_problems(["--num-scheduler-steps", "8", "--no-such-flag"], newest)
    assert len(problems) == 2 and "0.11" in problems[0] and "--no-such-flag" in problems[1]
    model = CATALOG["qwen2.5-7b"]
    chosen = best_plan(model, flavors=["l4-1-gpu"], max_model_len=8192)
    with pytest.raises(ValueError, match="--no-such-flag"):
        build_launch(model, chosen, options=EngineOptions(extra_args=("--no-such-flag",)))


def test_kv_cache_memory_bytes_is_managed_and_release_gated() -> None:
    assert "--kv-cache-memory-bytes" in MANAGED_FLAGS
    model = CATALOG["qwen2.5-7b"]
    chosen = best_plan(model, flavors=["l4-1-gpu"], max_model_len=8192)
    fixed = EngineOptions(kv_cache_memory_bytes=4 * 1024**3)
    _, f = flags(build_launch(model, chosen, options=fixed).command)
    assert f["--kv-cache-memory-bytes"] == str(4 * 1024**3)
    with pytest.raises(ValueError, match="21489"):
        build_launch(model, chosen, options=EngineOptions(kv_cache_memory_bytes=1, release=SEED_RELEASE))


def test_removed_environment_variables_are_never_set() -> None:
    model, chosen, _ = seed_launch()
    for version in ("0.10.1.1", "0.12.0", "0.33.0"):
        release = profile(version)
        launch = build_launch(model, chosen, options=EngineOptions(release=release))
        assert not release.removed_env & set(launch.env)
    assert profile("0.12.0").removed_env == {"VLLM_USE_V1"} and not profile("0.11.0").removed_env
