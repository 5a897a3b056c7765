"""The emulator's copies of platform facts against the project's (`components/platform.py`).

The emulator imports nothing from `components` on purpose (it is an independent oracle), so each
fact it needs is written there a second time; these tests fail as soon as the two copies disagree.
"""

from __future__ import annotations

import pytest

from components import platform
from components.ovhai.models import AppState, AppUpdate
from emulator import context as emulator_context
from emulator import flavors as emulator_flavors
from emulator import lifecycle as emulator_lifecycle
from emulator import validation as emulator_validation

LABEL_KEYS = [
    "team", "a", "a.b-c_d", "x" * 63, "x" * 64, "-team", "team-", "", "example.com/team", "Example.com/team",
    "a/b/c", "/team", "ovh/id", "vllm-ai-deploy/deployment", "te am", "team!",
]  # fmt: skip
LABEL_VALUES = ["", "ml", "a.b-c_d", "v" * 63, "v" * 64, "-ml", "ml-", "m l", "ml/x", "1"]
ENV_NAMES = ["HF_TOKEN", "_x", "a1", "1a", "A-B", "", "A B", "é"]


def test_gpu_flavors_are_the_same_rows() -> None:
    emulated = {f.id: f for f in emulator_flavors.FLAVORS.values() if f.is_gpu}
    assert set(emulated) == set(platform.FLAVORS)
    for flavor_id, ours in platform.FLAVORS.items():
        theirs = emulated[flavor_id]
        assert (theirs.gpu_model, theirs.gpu_memory_mib, theirs.max_units) == (
            ours.gpu_model,
            ours.memory_mib,
            ours.max_gpus,
        ), flavor_id
        assert (theirs.cpu_per_unit, theirs.memory_gib_per_unit) == (
            ours.cpu_per_unit,
            ours.memory_gib_per_unit,
        ), flavor_id


def test_cpu_flavor_is_the_same_row() -> None:
    theirs = emulator_flavors.FLAVORS[platform.CPU_FLAVOR.id]
    ours = platform.CPU_FLAVOR
    assert not theirs.is_gpu
    assert (theirs.cpu_per_unit, theirs.memory_gib_per_unit, theirs.max_units) == (
        ours.cpu_per_unit,
        ours.memory_gib_per_unit,
        ours.max_units,
    )


def test_limits() -> None:
    assert emulator_validation.MAX_REPLICAS == platform.MAX_REPLICAS
    assert emulator_validation.MAX_WINDOW_SECONDS == platform.MAX_WINDOW_SECONDS
    assert emulator_context.DEFAULT_GPU_QUOTA == platform.DEFAULT_GPU_QUOTA
    gpu_units = [f.max_units for f in emulator_flavors.FLAVORS.values() if f.is_gpu]
    assert max(gpu_units) == platform.MAX_GPUS_PER_APP


def test_updatable_fields_are_the_api_models() -> None:
    wire = {f.alias or name for name, f in AppUpdate.model_fields.items()}
    assert set(emulator_validation.UPDATE_FIELDS) == wire


def test_app_states() -> None:
    assert tuple(s.value for s in AppState) == platform.APP_STATES
    assert {s.value for s in emulator_lifecycle.AppState} == set(platform.APP_STATES)
    assert {s.value for s in emulator_lifecycle.STARTABLE} == set(platform.RESTARTABLE_STATES)


@pytest.mark.parametrize("key", LABEL_KEYS)
def test_label_key_syntax(key: str) -> None:
    assert emulator_validation.label_name_ok(key) == platform.label_key_ok(key)


@pytest.mark.parametrize("value", LABEL_VALUES)
def test_label_value_syntax(value: str) -> None:
    assert bool(emulator_validation.LABEL_VALUE.match(value)) == bool(platform.LABEL_VALUE.match(value))


@pytest.mark.parametrize("name", ENV_NAMES)
def test_env_name_syntax(name: str) -> None:
    assert bool(emulator_validation.ENV_NAME.match(name)) == bool(platform.ENV_NAME.match(name))


def test_platform_label_prefix() -> None:
    assert emulator_validation.PLATFORM_PREFIX == platform.PLATFORM_LABEL_PREFIX
