"""The environments a stack belongs to (dev, staging, prod) and what each gives a stack by default."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from components.vllm_releases import default_image

ENVIRONMENTS = ("dev", "staging", "prod")
Environment = Literal["dev", "staging", "prod"]


@dataclass(frozen=True)
class EnvironmentDefaults:
    """What an environment gives a stack that does not say otherwise."""

    replicas: int
    readiness_timeout_seconds: int
    keep_failed_apps: bool
    vllm_image: str
    floating_image_allowed: bool  # `latest` or no tag
    unsecure_http_allowed: bool
    # Autoscaling: replicas removed only after the load stayed low this long (HPA-style); a
    # longer window in prod keeps a brief lull from dropping a warm GPU replica.
    scale_down_window_seconds: int = 300
    scale_up_window_seconds: int = 0


# A pinned vLLM release for the environments that refuse floating tags (the CUDA 12.9 build:
# see components.vllm_releases; `vllmCuda` chooses the other build).
PINNED_VLLM_IMAGE = default_image("cu129")

ENVIRONMENT_DEFAULTS: Mapping[str, EnvironmentDefaults] = {
    # dev: the seed's recipe (floating `latest`), a failed app is kept to read its logs.
    "dev": EnvironmentDefaults(1, 1800, True, "vllm/vllm-openai:latest", True, True, 60),
    # staging: prod's image rules in spirit, one replica to keep GPU cost down.
    "staging": EnvironmentDefaults(1, 2700, False, PINNED_VLLM_IMAGE, True, True, 300),
    # prod: two replicas so a node loss or a rolling restart keeps serving (it doubles the GPU
    # bill and needs 2 x GPUs of quota: the quota rule below says so at preview); pinned images.
    "prod": EnvironmentDefaults(2, 3600, False, PINNED_VLLM_IMAGE, False, False, 600),
}
