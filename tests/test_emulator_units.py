"""Unit tests of the emulator's pure parts: model names, timings, lifecycle, validation."""

from __future__ import annotations

import pytest

from emulator import lifecycle, validation
from emulator.errors import ApiError
from emulator.lifecycle import AppState
from emulator.model_name import served_model_names
from emulator.timings import FAST, REALISTIC, parse_timings


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        (
            ["bash", "-c", "python3 -m vllm.entrypoints.openai.api_server --model mistralai/M --dtype half"],
            ["mistralai/M"],
        ),
        (["vllm", "serve", "Qwen/Qwen3-8B", "--port", "8000"], ["Qwen/Qwen3-8B"]),
        (["vllm", "serve", "Qwen/Qwen3-8B", "--served-model-name", "qwen", "q3"], ["qwen", "q3"]),
        (["bash", "-c", "vllm serve 'org/m' --served-model-name=chat"], ["chat"]),
        (["python3", "-m", "vllm.entrypoints.openai.api_server", "--model=org/x"], ["org/x"]),
        ([], ["fallback"]),
    ],
)
def test_served_model_names(command: list[str], expected: list[str]) -> None:
    assert served_model_names(command, "fallback") == expected


def test_timings_parse() -> None:
    assert parse_timings("fast") == FAST
    assert parse_timings("realistic") == REALISTIC
    custom = parse_timings('{"queued": 0.1, "SCALING": 2}')
    assert (custom.queued, custom.scaling, custom.initializing) == (0.1, 2.0, FAST.initializing)
    assert FAST.startup_total <= 3.0
    with pytest.raises(ValueError, match="unknown key"):
        parse_timings('{"WAITING": 1}')
    with pytest.raises(ValueError, match="expected fast"):
        parse_timings("/no/such/file.json")


def test_all_eleven_states() -> None:
    assert len(AppState) == 11
    assert {"STANDBY", "ERROR", "DELETED"} <= {s.value for s in AppState}


def test_schedule_is_derived_from_time() -> None:
    plan = lifecycle.start_plan(100.0, FAST, "vllm/vllm-openai", total=1.0)
    assert [e["state"] for e in plan] == ["QUEUED", "INITIALIZING", "SCALING", "RUNNING"]
    assert plan[-1]["at"] == pytest.approx(101.0)
    assert lifecycle.current_state(plan, 100.0) is AppState.QUEUED
    assert lifecycle.current_state(plan, 101.0) is AppState.RUNNING
    stopped = lifecycle.apply(plan, 100.5, lifecycle.stop_plan(100.5, FAST))  # pending steps dropped
    assert [e["state"] for e in stopped][-2:] == ["STOPPING", "STOPPED"]
    assert "RUNNING" not in [e["state"] for e in stopped]
    failed = lifecycle.start_plan(0.0, FAST, "x/emulator-fail:1", total=None)
    assert [e["state"] for e in failed] == ["QUEUED", "INITIALIZING", "FAILED"]


def test_normalised_spec_validates_to_itself() -> None:
    spec = validation.app_spec(
        {
            "image": "vllm/vllm-openai:latest",
            "resources": {"flavor": "l40s-1-gpu", "gpu": 2.0},
            "volumes": [{"mountPath": "/hub", "permission": "RW", "standalone": {}}],
            "scalingStrategy": {"automatic": {"replicasMin": 0, "replicasMax": 2}},
        }
    )
    assert spec["resources"]["gpu"] == 2 and spec["resources"]["gpuModel"] == "L40S"
    assert spec["volumes"][0]["volumeSource"] == {"standalone": {}}
    assert validation.app_spec(spec) == spec


def test_update_merges_flavor_change() -> None:
    spec = validation.app_spec({"image": "a", "resources": {"flavor": "l40s-1-gpu", "gpu": 2}})
    merged = validation.app_spec(
        validation.merge_update(spec, {"appUpdate": {"flavor": "ai1-1-cpu", "cpu": 4}})
    )
    assert merged["resources"]["flavor"] == "ai1-1-cpu" and merged["resources"]["cpu"] == 4
    with pytest.raises(ApiError, match=r"^bogus: unknown update field"):
        validation.merge_update(spec, {"bogus": 1})


def test_the_stand_in_reads_the_underscore_spelling_of_a_flag() -> None:
    # vLLM's argument parser takes `--max_num_seqs 5` as `--max-num-seqs 5`.
    from emulator.model_name import command_tokens, has_flag, option_values

    tokens = command_tokens(["bash", "-c", "vllm serve m --max_num_seqs 5 --enforce_eager"])
    assert option_values(tokens, "--max-num-seqs") == ["5"]
    assert has_flag(tokens, "--enforce-eager")
