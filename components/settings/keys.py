"""The config keys of a stack: `StackConfig`, one typed field per key, as Pulumi.yaml declares them.

Pulumi.yaml declares the same keys (`declared_config()` renders the declarations and a test keeps
the two equal). Keys whose default depends on the environment are declared with an "automatic"
default (`""` or `0`): the CLI injects declared defaults, so an unset key must look like one.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, Field

from components.platform import DEPLOYMENT_LABEL, PROJECT
from components.settings.environments import PINNED_VLLM_IMAGE

__all__ = ["DEPLOYMENT_LABEL", "LIST_KEYS", "PROJECT", "StackConfig", "declared_config", "parse_structured"]


def _key(example: str, description: str, *, secret: bool = False) -> Any:
    """Field metadata: the config key's example value (for fix commands) and Pulumi.yaml text."""
    return {"example": example, "description": description, "secret": secret}


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
            "GPU flavor (l4-1-gpu, l40s-1-gpu, a100-1-gpu, h100-1-gpu, ai1-1-gpu); empty: planner.",
        ),
    )
    gpuCount: int = Field(
        0, json_schema_extra=_key("2", "GPUs per replica (also the tensor-parallel size); 0: planner.")
    )
    maxModelLen: int = Field(
        0, json_schema_extra=_key("16384", "Context length in tokens; 0: the model's own maximum.")
    )
    dtype: str = Field(
        "auto", json_schema_extra=_key("bfloat16", "Weights dtype: auto, bfloat16, float16 (half), fp8.")
    )
    kvCacheDtype: str = Field("auto", json_schema_extra=_key("fp8", "KV-cache dtype: auto or fp8."))
    gpuMemoryUtilization: str = Field(
        "0.9", json_schema_extra=_key("0.9", "Share of GPU memory vLLM may use, 0.5 to 0.98.")
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
    replicas: int = Field(
        0,
        json_schema_extra=_key("1", "Fixed replicas 1..10; 0: the environment's (dev 1, staging 1, prod 2)."),
    )
    minReplicas: int = Field(
        1, json_schema_extra=_key("0", "Autoscaling minimum (0: scale to zero); used when maxReplicas > 0.")
    )
    maxReplicas: int = Field(
        0, json_schema_extra=_key("3", "Autoscaling maximum 1..10; 0: fixed replicas.")
    )
    scalingMetric: str = Field("CPU", json_schema_extra=_key("CPU", "Autoscaling metric: CPU or RAM."))
    scalingTarget: int = Field(
        75, json_schema_extra=_key("75", "Autoscaling average usage target in percent, 1..100.")
    )
    cooldownSeconds: int = Field(
        300, json_schema_extra=_key("600", "Autoscaling cooldown before scaling down (to zero), 0..3600.")
    )
    cacheVolume: str = Field(
        "standalone",
        json_schema_extra=_key(
            "hf-cache@GRA",
            "Hugging Face cache volume: standalone, or an Object Storage container@ALIAS[/prefix].",
        ),
    )
    cachePath: str = Field("/hub", json_schema_extra=_key("/hub", "Mount path of the cache (HF_HOME)."))
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
        "read", json_schema_extra=_key("read", "Role of the consumers' token: read or operator.")
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
            "3600", "Deadline for the app to serve, 60..14400 s; 0: the environment's (1800/2700/3600)."
        ),
    )
    keepFailedApps: str = Field(
        "",
        json_schema_extra=_key("false", "Keep a failed app for its logs: true/false; empty: true in dev."),
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
    gpuQuota: int = Field(4, json_schema_extra=_key("8", "The project's GPU quota (default 4)."))
    prices: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key("'[\"l40s-1-gpu=1.40\"]'", "Hourly price overrides, flavor=EUR per GPU-hour."),
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


def parse_structured(text: str) -> Any:
    """JSON (or YAML, its superset) text of a structured value."""
    return yaml.safe_load(text)
