"""Facts of the AI Deploy platform, written once: flavors, limits, label and env-name syntax, states.

Pure (no Pulumi, no HTTP, nothing else of `components`): the API models, the planner, the settings
and the resources read these names instead of keeping their own copies, and messages that list a
fact (which GPUs support FP8) are derived from it. The emulator keeps an independent copy on
purpose (it is the oracle); `tests/test_platform_contract.py` holds that copy to this one.

Adding a GPU flavor is one row in `FLAVORS` here and one in `emulator/flavors.py`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

__all__ = [
    "APP_STATES",
    "CPU_FLAVOR",
    "DEFAULT_GPU_QUOTA",
    "DEPLOYMENT_LABEL",
    "ENV_NAME",
    "FLAVORS",
    "LABEL_NAME",
    "LABEL_PREFIX",
    "LABEL_VALUE",
    "MAX_GPUS_PER_APP",
    "MAX_REPLICAS",
    "MAX_WINDOW_SECONDS",
    "PLATFORM_LABEL_PREFIX",
    "PROJECT",
    "RESTARTABLE_STATES",
    "STOP_STATES",
    "TERMINAL_STATES",
    "CpuFlavor",
    "GpuFlavor",
    "gpus_supporting",
    "label_key_ok",
]

# --- flavors ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class GpuFlavor:
    """One AI Deploy GPU flavor (per GPU unit), as `GET /v1/capabilities/flavor` describes it."""

    id: str
    gpu_model: str
    memory_mib: int  # as nvidia-smi reports it
    max_gpus: int  # `max`: units one app may ask for
    bf16: bool
    fp8: bool
    hourly_price_eur: float  # indicative; overridable per stack
    awq: bool = True  # AWQ kernels need compute capability >= 7.5
    cpu_per_unit: int = 0  # vCPUs that come with each GPU
    memory_gib_per_unit: int = 0  # RAM that comes with each GPU


@dataclass(frozen=True)
class CpuFlavor:
    id: str
    cpu_per_unit: int
    memory_gib_per_unit: int
    max_units: int


# L4 and A100 hourly figures are not in API.md: indicative public list prices, override them.
FLAVORS: Mapping[str, GpuFlavor] = MappingProxyType(
    {
        f.id: f
        for f in (
            GpuFlavor("ai1-1-gpu", "V100S", 32768, 4, bf16=False, fp8=False, hourly_price_eur=1.93,
                      awq=False, cpu_per_unit=13, memory_gib_per_unit=40),
            GpuFlavor("l4-1-gpu", "L4", 23034, 4, bf16=True, fp8=True, hourly_price_eur=0.75,
                      cpu_per_unit=20, memory_gib_per_unit=80),
            GpuFlavor("l40s-1-gpu", "L40S", 46068, 4, bf16=True, fp8=True, hourly_price_eur=1.40,
                      cpu_per_unit=13, memory_gib_per_unit=80),
            GpuFlavor("a100-1-gpu", "A100", 81920, 2, bf16=True, fp8=False, hourly_price_eur=2.75,
                      cpu_per_unit=13, memory_gib_per_unit=160),
            GpuFlavor("h100-1-gpu", "H100", 81559, 4, bf16=True, fp8=True, hourly_price_eur=2.80,
                      cpu_per_unit=28, memory_gib_per_unit=350),
        )
    }
)  # fmt: skip
CPU_FLAVOR = CpuFlavor("ai1-1-cpu", cpu_per_unit=1, memory_gib_per_unit=4, max_units=12)


def gpus_supporting(feature: str) -> str:
    """'L4, L40S or H100': the GPU models of the flavors with `feature` (a GpuFlavor bool field)."""
    models = [f.gpu_model for f in FLAVORS.values() if getattr(f, feature)]
    return models[0] if len(models) == 1 else ", ".join(models[:-1]) + " or " + models[-1]


# --- limits -------------------------------------------------------------------------------------

MAX_GPUS_PER_APP = 4  # GPUs one app (one replica) may ask for
MAX_REPLICAS = 10  # fixed replicas, and the autoscaler's bounds
MAX_WINDOW_SECONDS = 3600  # autoscaling stabilization windows and cooldown
DEFAULT_GPU_QUOTA = 4  # a project's GPU quota unless OVHcloud raised it

# --- syntax -------------------------------------------------------------------------------------

# Environment variable names a shell can use (what the regional API and the emulator accept).
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
# Kubernetes label syntax (the platform runs on it): `[prefix/]name` and a value of up to 63
# characters (a value may be empty).
LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
PLATFORM_LABEL_PREFIX = "ovh/"  # labels the platform sets (ovh/id, ovh/type): not the user's


def label_key_ok(key: str) -> bool:
    """Whether `key` is a valid `[prefix/]name` label key."""
    prefix, _, name = key.rpartition("/")
    if not LABEL_NAME.match(name):
        return False
    return not prefix or bool(LABEL_PREFIX.match(prefix))


# --- app states ---------------------------------------------------------------------------------

APP_STATES = (
    "QUEUED", "INITIALIZING", "SCALING", "RUNNING", "STOPPING", "STOPPED", "DELETING", "DELETED",
    "FAILED", "ERROR", "STANDBY",
)  # fmt: skip
# States an app does not leave on its own (STOPPED only counts when it was not the goal).
TERMINAL_STATES: frozenset[str] = frozenset({"FAILED", "ERROR", "DELETED", "STOPPED"})
# States after which waiting for an app to serve cannot help.
STOP_STATES: frozenset[str] = frozenset({"FAILED", "ERROR", "STOPPED", "STOPPING", "DELETING", "DELETED"})
# States from which `PUT /v1/app/{id}/start` starts an app again (an update restarts it).
RESTARTABLE_STATES = ("STOPPED", "FAILED", "ERROR")

# --- this project's own mark on the platform ----------------------------------------------------

PROJECT = "vllm-ai-deploy"
# Every app carries it (value: the deployment key); the stack's token is scoped by it.
DEPLOYMENT_LABEL = f"{PROJECT}/deployment"
