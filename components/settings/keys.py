"""The config keys of a stack: `StackConfig`, one typed field per key, as Pulumi.yaml declares them.

Pulumi.yaml declares the same keys (`declared_config()` renders the declarations; regenerate them
with `python -m components.settings.pulumi_yaml --write`). Keys whose default depends on the
environment are declared with an "automatic" default (`""` or `0`): the CLI injects declared
defaults, so an unset key must look like one.

A single key's own constraint (a range, a set of values) stands on its field (`bounds=`,
`choices=`), and its description is built from the same constants; the rules read it back with
`bounds()` / `choices()` and keep their own messages. Rules across keys are plain functions of
the `rules_*` modules.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from components import autoscaling
from components.platform import (
    DEPLOYMENT_LABEL,
    MAX_GPUS_PER_APP,
    MAX_REPLICAS,
    MAX_WINDOW_SECONDS,
    PROJECT,
)
from components.pricing import SUBSIDIARIES
from components.settings.environments import PINNED_VLLM_IMAGE
from components.vllm_releases import CUDA_VARIANTS, NEWEST, format_version

__all__ = [
    "DEPLOYMENT_LABEL",
    "DTYPES",
    "KV_CACHE_DTYPES",
    "LIST_KEYS",
    "PROJECT",
    "StackConfig",
    "bounds",
    "choices",
    "declared_config",
    "parse_structured",
]

DTYPES = ("auto", "bfloat16", "bf16", "float16", "fp16", "half", "fp8")
KV_CACHE_DTYPES = ("auto", "fp8", "fp8_e4m3", "fp8_e5m2")
GPU_MEMORY_UTILIZATION = (0.5, 0.98)
REPLICAS = (1, MAX_REPLICAS)
MIN_REPLICAS = (0, MAX_REPLICAS)
SCALING_METRICS = autoscaling.METRICS
SCALING_AGGREGATIONS = autoscaling.AGGREGATIONS
SCALING_TARGET = (1, 100)
COOLDOWN_SECONDS = (0, MAX_WINDOW_SECONDS)
# -1: the environment's window (0 is a window of its own: react at once).
SCALING_WINDOW_SECONDS = (-1, MAX_WINDOW_SECONDS)
READINESS_SECONDS = (60, 14400)
TOKEN_ROLES = ("read", "operator")


def _key(
    example: str,
    description: str,
    *,
    secret: bool = False,
    bounds: tuple[float, float] | None = None,
    choices: tuple[str, ...] | None = None,
) -> Any:
    """Field metadata: the config key's example value (for fix commands), Pulumi.yaml text, and
    the key's own constraint (checked by the rules, which word the problem and its fix)."""
    return {"example": example, "description": description, "secret": secret, "bounds": bounds,
            "choices": choices}  # fmt: skip


def _or(values: tuple[str, ...]) -> str:
    return ", ".join(values[:-1]) + " or " + values[-1]


def _span(limits: tuple[float, float]) -> str:
    return f"{limits[0]:g}..{limits[1]:g}"


class StackConfig(BaseModel):
    """The stack's config of the project's namespace, one field per key, typed as Pulumi.yaml declares."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    model: str = Field(
        "",
        json_schema_extra=_key(
            "mistral-small-24b",
            "Model to serve: a catalog key (mistral-small-24b, llama-3.1-8b, ...) or a Hugging Face id.",
        ),
    )
    modelSpec: str = Field(
        "",
        json_schema_extra=_key(
            '\'{"hfId": "org/name", "hiddenSize": 4096, ...}\'',
            "Full description of a model outside the catalog, as JSON (the catalog's fields).",
        ),
    )
    servedModelName: str = Field(
        "",
        json_schema_extra=_key(
            "mistral-small", "Model name clients send in requests; empty: the Hugging Face id."
        ),
    )
    appName: str = Field(
        "", json_schema_extra=_key("vllm-mistral-small-prod", "AI Deploy app name; empty: vllm-<stack>.")
    )
    environment: str = Field(
        "",
        json_schema_extra=_key(
            "prod", "dev, staging or prod (sets the defaults); empty: the stack name's suffix."
        ),
    )
    gpuFlavor: str = Field(
        "",
        json_schema_extra=_key(
            "l40s-1-gpu",
            # No list here: a new flavor is a row of components/platform.py, not a Pulumi.yaml edit.
            "GPU flavor, e.g. l40s-1-gpu (an unknown one is refused with the list); empty: planner.",
        ),
    )
    gpuCount: int = Field(
        0,
        json_schema_extra=_key(
            "2", "GPUs per replica (also the tensor-parallel size); 0: planner.", bounds=(0, MAX_GPUS_PER_APP)
        ),
    )
    maxModelLen: int = Field(
        0, json_schema_extra=_key("16384", "Context length in tokens; 0: the model's own maximum.")
    )
    dtype: str = Field(
        "auto",
        json_schema_extra=_key(
            "bfloat16", "Weights dtype: auto, bfloat16, float16 (half), fp8.", choices=DTYPES
        ),
    )
    kvCacheDtype: str = Field(
        "auto", json_schema_extra=_key("fp8", "KV-cache dtype: auto or fp8.", choices=KV_CACHE_DTYPES)
    )
    gpuMemoryUtilization: str = Field(
        "0.9",
        json_schema_extra=_key(
            "0.9",
            "Share of GPU memory vLLM may use, {:g} to {:g}.".format(*GPU_MEMORY_UTILIZATION),
            bounds=GPU_MEMORY_UTILIZATION,
        ),
    )
    toolCalling: bool = Field(
        False, json_schema_extra=_key("true", "Enable tool calling with the model's parser.")
    )
    vllmArgs: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key(
            "'[\"--enable-prefix-caching\"]'", "Extra vLLM arguments (not the ones the plan sets)."
        ),
    )
    vllmImage: str = Field(
        "",
        json_schema_extra=_key(
            PINNED_VLLM_IMAGE, "vLLM image; prod needs a pinned tag or digest; empty: the environment's."
        ),
    )
    vllmVersion: str = Field(
        "",
        json_schema_extra=_key(
            format_version(NEWEST),
            "vLLM release the image runs (sets its flags and memory model); empty: read from the "
            "image tag (needed for a digest or a custom tag).",
        ),
    )
    vllmCuda: str = Field(
        "cu129",
        json_schema_extra=_key(
            "cu129",
            f"CUDA build of the default pinned image: {_or(CUDA_VARIANTS)} (cu130 needs an NVIDIA "
            "driver >= 580; AI Deploy does not publish its driver).",
            choices=CUDA_VARIANTS,
        ),
    )
    fixedKvCache: bool = Field(
        False,
        json_schema_extra=_key(
            "true",
            "Pass the planner's KV-cache size as --kv-cache-memory-bytes (vLLM >= 0.11): the KV "
            "cache reviewed at preview is the one vLLM allocates.",
        ),
    )
    replicas: int = Field(
        0,
        json_schema_extra=_key(
            "1",
            f"Fixed replicas {_span(REPLICAS)}; 0: the environment's (dev 1, staging 1, prod 2).",
            bounds=REPLICAS,
        ),
    )
    minReplicas: int = Field(
        1,
        json_schema_extra=_key(
            "0", "Autoscaling minimum (0: scale to zero); used when maxReplicas > 0.", bounds=MIN_REPLICAS
        ),
    )
    maxReplicas: int = Field(
        0,
        json_schema_extra=_key(
            "3", f"Autoscaling maximum {_span(REPLICAS)}; 0: fixed replicas.", bounds=REPLICAS
        ),
    )
    scalingMetric: str = Field(
        "CPU",
        json_schema_extra=_key(
            "REQUESTS_WAITING",
            f"Autoscaling metric: {_or(SCALING_METRICS)} (the last three are vLLM's own "
            "metrics, read from the app's /metrics).",
            choices=SCALING_METRICS,
        ),
    )
    scalingTarget: int = Field(
        75,
        json_schema_extra=_key(
            "75",
            f"Autoscaling target, {_span(SCALING_TARGET)}: percent for CPU, RAM and KV_CACHE_USAGE, "
            "requests per replica for REQUESTS_WAITING and REQUESTS_RUNNING.",
            bounds=SCALING_TARGET,
        ),
    )
    scalingAggregation: str = Field(
        "AVERAGE",
        json_schema_extra=_key(
            "MAX", f"How a vLLM metric is aggregated across replicas: {_or(SCALING_AGGREGATIONS)}.",
            choices=SCALING_AGGREGATIONS,
        ),
    )
    scaleUpWindowSeconds: int = Field(
        -1,
        json_schema_extra=_key(
            "0", f"Autoscaling scale-up stabilization window, {_span((0, MAX_WINDOW_SECONDS))} s; "
            "-1: the environment's (0).",
            bounds=SCALING_WINDOW_SECONDS,
        ),
    )
    scaleDownWindowSeconds: int = Field(
        -1,
        json_schema_extra=_key(
            "600", f"Autoscaling scale-down stabilization window, {_span((0, MAX_WINDOW_SECONDS))} s; "
            "-1: the environment's (60 dev, 300 staging, 600 prod).",
            bounds=SCALING_WINDOW_SECONDS,
        ),
    )
    cooldownSeconds: int = Field(
        300,
        json_schema_extra=_key(
            "600", f"Autoscaling cooldown before scaling down (to zero), {_span(COOLDOWN_SECONDS)}.",
            bounds=COOLDOWN_SECONDS,
        ),
    )
    cacheVolume: str = Field(
        "standalone",
        json_schema_extra=_key(
            "hf-cache@GRA",
            "Hugging Face cache volume: standalone, or an Object Storage container@ALIAS[/prefix].",
        ),
    )
    cachePath: str = Field("/hub", json_schema_extra=_key("/hub", "Mount path of the cache (HF_HOME)."))
    cacheStack: str = Field(
        "",
        json_schema_extra=_key(
            "organization/platform/gra",
            "Platform stack whose bucket holds the model cache (<org>/platform/<region>): /hub is "
            "mounted from it under a per-model prefix; empty: no shared cache.",
        ),
    )
    cachePrefix: str = Field(
        "",
        json_schema_extra=_key(
            "mistralai--Mistral-Small-24B-Instruct-2501",
            "Model prefix under the platform's cache prefix; empty: derived from the model id.",
        ),
    )
    workspacePath: str = Field(
        "/workspace", json_schema_extra=_key("/workspace", "Standalone scratch volume; empty: none.")
    )
    extraVolumes: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key(
            "'[\"data@GRA/prefix:/data:ro\"]'", "More volumes, ovhai syntax SOURCE:/path[:ro|rw|rwd][:cache]."
        ),
    )
    tokenRole: str = Field(
        "read",
        json_schema_extra=_key(
            "read", f"Role of the consumers' token: {_or(TOKEN_ROLES)}.", choices=TOKEN_ROLES
        ),
    )
    tokenRotation: str = Field(
        "", json_schema_extra=_key("2025-06-01", "Change this value to renew the tokens in place.")
    )
    operatorToken: bool = Field(
        False,
        json_schema_extra=_key("true", "Also create an operator token for automation (operatorToken)."),
    )
    unsecureHttp: bool = Field(
        False, json_schema_extra=_key("false", "Serve without token (refused in prod).")
    )
    readinessTimeoutSeconds: int = Field(
        0,
        json_schema_extra=_key(
            "3600",
            f"Deadline for the app to serve, {_span(READINESS_SECONDS)} s; 0: the environment's "
            "(1800/2700/3600).",
            bounds=READINESS_SECONDS,
        ),
    )
    keepFailedApps: str = Field(
        "",
        json_schema_extra=_key("false", "Keep a failed app for its logs: true/false; empty: true in dev."),
    )
    adoptAppId: str = Field(
        "",
        json_schema_extra=_key(
            "<app id>",
            "An app made outside Pulumi (ovhai app run) that the first pulumi up takes over instead of "
            "creating one (alike in name, volumes and other replace fields); empty: create.",
        ),
    )
    labels: list[str] = Field(
        default_factory=list, json_schema_extra=_key("'[\"team=ml\"]'", "Extra app labels, key=value.")
    )
    hfToken: str = Field(
        "",
        json_schema_extra=_key(
            "hf_...",
            "Hugging Face token for gated models; set with --secret (or the HF_TOKEN environment variable).",
            secret=True,
        ),
    )
    serviceName: str = Field(
        "",
        json_schema_extra=_key(
            "<public cloud project id>",
            "The Public Cloud project (its id) of the OVHcloud public API door, used with the ovh:* "
            "credentials (pulumi-ovh's); empty: the regional door with ovhai:token.",
        ),
    )
    gpuQuota: int = Field(4, json_schema_extra=_key("8", "The project's GPU quota (default 4)."))
    prices: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key(
            "'[\"l40s-1-gpu=1.40\"]'",
            "Hourly price overrides, flavor=price per GPU-hour in the subsidiary's currency.",
        ),
    )
    ovhSubsidiary: str = Field(
        "FR",
        json_schema_extra=_key(
            "GB",
            "OVHcloud subsidiary whose public catalog prices the plans, in its currency: "
            + _or(tuple(SUBSIDIARIES)) + ".",
            choices=tuple(SUBSIDIARIES),
        ),
    )
    priceCatalogUrl: str = Field(
        "",
        json_schema_extra=_key(
            "http://127.0.0.1:19080",
            "Public catalog the prices come from (an API base or the catalog URL); empty: the API "
            "of ovh:endpoint or of the subsidiary; none: the built-in estimates.",
        ),
    )


LIST_KEYS = frozenset(name for name, f in StackConfig.model_fields.items() if f.annotation == list[str])


def declared_config() -> dict[str, dict[str, Any]]:
    """The `config:` block of Pulumi.yaml, derived from `StackConfig` (a test keeps them equal)."""
    out: dict[str, dict[str, Any]] = {}
    for name, f in StackConfig.model_fields.items():
        extra = f.json_schema_extra
        assert isinstance(extra, dict)
        decl: dict[str, Any]
        if f.annotation is int:
            decl = {"type": "integer"}
        elif f.annotation is bool:
            decl = {"type": "boolean"}
        elif f.annotation == list[str]:
            decl = {"type": "array", "items": {"type": "string"}}
        else:
            decl = {"type": "string"}
        decl["description"] = extra["description"]
        if name != "model":  # the one required key: the CLI refuses a stack without it
            decl["default"] = f.get_default(call_default_factory=True)
        out[name] = decl
    return out


def _extra(name: str) -> dict[str, Any]:
    extra = StackConfig.model_fields[name].json_schema_extra
    assert isinstance(extra, dict)
    return extra


def bounds(name: str) -> tuple[Any, Any]:
    """The (low, high) range declared on the key `name`."""
    limits = _extra(name)["bounds"]
    assert limits is not None, name
    return limits[0], limits[1]


def choices(name: str) -> tuple[str, ...]:
    """The values declared for the key `name`."""
    values = _extra(name)["choices"]
    assert values is not None, name
    return tuple(values)


def parse_structured(text: str) -> Any:
    """JSON (or YAML, its superset) text of a structured value."""
    return yaml.safe_load(text)
