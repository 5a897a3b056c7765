"""The model cache, pure: per-model prefixes, the platform stack's outputs, collisions, estimates.

A model stack opts in with `cacheStack: <org>/platform/<region>`: its `/hub` (HF_HOME, and vLLM's
compile caches beside it, see `vllm._cache_env`) is then an Object Storage volume, mounted from
the platform stack's bucket through its datastore alias, under a per-model prefix
`<platform cachePrefix>/<model prefix>`. The model prefix derives from the Hugging Face id
(`mistralai/Mistral-Small-24B-Instruct-2501` -> `mistralai--Mistral-Small-24B-Instruct-2501`, the
spelling of the Hub's own cache directories); revisions need no prefix of their own, the Hub cache
keeps them apart under `snapshots/<commit>`. An explicit `cachePrefix` replaces the derived one and
is checked against every other model's (the catalog's, and the other stack files of the project
that use the same cache stack): two models under one prefix would pull each other's weights on
every start.

Figures are estimates: the bandwidths below are stated once, here, and are what the readiness
report and bench/cold_start.py use (the emulator holds its own copies, held equal by a test).
Nothing here knows Pulumi or HTTP.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from components import vllm
from components.catalog import CATALOG, ModelSpec, resolve_model
from components.sizing import checkpoint_bytes

__all__ = [
    "BUCKET_PULL_BYTES_PER_SECOND",
    "BUCKET_PUSH_BYTES_PER_SECOND",
    "HUB_BYTES_PER_SECOND",
    "REQUIRED_OUTPUTS",
    "SERVICE_NAME_OUTPUT",
    "CacheClaim",
    "CacheError",
    "CacheSource",
    "StartEstimate",
    "claim_of_stack_file",
    "collisions",
    "estimate_starts",
    "model_prefix",
    "prefix_problem",
    "region_of_endpoint",
    "resolve_source",
]

# Bandwidths (bytes/s), estimates. The Hub: the conservative figure the readiness deadline already
# uses (vllm.DOWNLOAD_BYTES_PER_SECOND). The bucket: OVHcloud Object Storage read from an app of the
# same region, many objects in parallel (AI Deploy's volume sync), and its write back (datasync
# push): an S3 upload from inside the region is slower than its download.
HUB_BYTES_PER_SECOND = vllm.DOWNLOAD_BYTES_PER_SECOND
BUCKET_PULL_BYTES_PER_SECOND = 500e6
BUCKET_PUSH_BYTES_PER_SECOND = 200e6

# What a model stack reads from the platform stack (platform/__main__.py exports them).
REQUIRED_OUTPUTS = ("bucket", "region", "alias", "cachePrefix", "s3Endpoint")
# Read when present (platform stacks deployed before it was exported lack it): the project.
SERVICE_NAME_OUTPUT = "serviceName"
SERVICE_NAME_KEY = "serviceName"  # the model stack's own key (vllm-ai-deploy:serviceName)

_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
_STACK = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_REGIONAL_HOST = re.compile(r"^https?://([a-z0-9-]+)\.ai\.cloud\.ovh\.net(?:/|$)", re.IGNORECASE)


class CacheError(ValueError):
    """A cache problem of a model stack: the key, what is wrong, the value that fixes it."""

    def __init__(self, key: str, message: str, fix_value: str | None = None) -> None:
        self.key = key
        self.fix_value = fix_value
        super().__init__(message)


def model_prefix(hf_id: str) -> str:
    """The per-model prefix under the platform's cache prefix (the Hub cache's own spelling)."""
    return "--".join(part for part in hf_id.strip().split("/") if part)


def prefix_problem(prefix: str) -> str | None:
    """Why `prefix` is not a relative S3 prefix of path segments, or None."""
    if not prefix or prefix.startswith("/") or prefix.endswith("/"):
        return "must be a relative prefix (no leading or trailing '/')"
    for segment in prefix.split("/"):
        if segment in (".", "..") or not _SEGMENT.match(segment):
            return f"segment {segment!r} is not letters, digits, '.', '_' or '-'"
    return None


def stack_problem(name: str) -> str | None:
    if not _STACK.match(name):
        return f"{name!r} is not a fully qualified stack name <org>/platform/<region>"
    return None


def region_of_endpoint(endpoint: str | None) -> str | None:
    """`https://gra.ai.cloud.ovh.net` -> GRA; None for another host (the emulator, a proxy)."""
    if not endpoint:
        return None
    m = _REGIONAL_HOST.match(endpoint.strip())
    return m.group(1).upper() if m else None


@dataclass(frozen=True)
class CacheSource:
    """Where the app's /hub comes from: `container@alias/prefix` of the platform's bucket."""

    bucket: str
    region: str
    alias: str
    prefix: str  # the full prefix in the bucket: platform prefix / model prefix
    s3_endpoint: str
    service_name: str | None = None  # the OVHcloud project of the bucket (the platform's output)

    @property
    def volume_source(self) -> str:
        return f"{self.bucket}@{self.alias}/{self.prefix}"

    @property
    def s3_url(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}"

    def to_volume(self, mount_path: str) -> dict[str, Any]:
        """The AppSpec volume (the schema's `Volume`): RW, `cache: true` so that replicas share it."""
        return {
            "mountPath": mount_path,
            "permission": "RW",
            "cache": True,
            "volumeSource": {
                "dataStore": {"alias": self.alias, "container": self.bucket, "prefix": self.prefix}
            },
        }


def resolve_source(
    outputs: Mapping[str, Any], *, stack: str, app_region: str | None, model_prefix: str,
    service_name: str | None = None, project_needed: bool = False,
) -> CacheSource:
    """The cache of a model stack from the platform stack's outputs; `CacheError` naming
    `cacheStack` when an output is missing or the bucket is in another region than the app, and
    naming `serviceName` when the stack's own project (`service_name`) is not the platform's, or
    when the stack needs the platform's project (`project_needed`: the public door, no project of
    its own) and the platform stack does not export one."""
    missing = [name for name in REQUIRED_OUTPUTS if not outputs.get(name)]
    if missing:
        raise CacheError(
            "cacheStack",
            f"the platform stack {stack} has no output {', '.join(missing)} (is it deployed? "
            f"`pulumi up -s {stack}` in platform/), or it is not a platform stack",
        )
    region = str(outputs["region"]).upper()
    if app_region is not None and region != app_region.upper():
        raise CacheError(
            "cacheStack",
            f"the platform stack {stack} keeps its bucket in {region}, the app runs in "
            f"{app_region.upper()}: AI Deploy mounts only buckets of the app's region",
            fix_value=re.sub(r"[^/]+$", app_region.lower(), stack),
        )
    platform_project = str(outputs.get(SERVICE_NAME_OUTPUT) or "").strip() or None
    own = (service_name or "").strip() or None
    if own and platform_project and own != platform_project:
        raise CacheError(
            SERVICE_NAME_KEY,
            f"is {own}, but the platform stack {stack} keeps the cache in project {platform_project}: "
            "an app mounts only buckets of its own project; use the platform's project (or remove "
            f"the key: `pulumi config rm {SERVICE_NAME_KEY}`, the platform's is then used)",
            fix_value=platform_project,
        )
    if project_needed and not own and not platform_project:
        raise CacheError(
            SERVICE_NAME_KEY,
            f"is not set, and the platform stack {stack} exports no {SERVICE_NAME_OUTPUT} (deployed "
            "before it did: `pulumi up` it again in platform/): the OVHcloud public API door needs "
            f"the project: `pulumi config set {SERVICE_NAME_KEY} <public cloud project id>`",
        )
    root = str(outputs["cachePrefix"]).strip("/")
    return CacheSource(
        bucket=str(outputs["bucket"]),
        region=region,
        alias=str(outputs["alias"]),
        prefix=f"{root}/{model_prefix}" if root else model_prefix,
        s3_endpoint=str(outputs["s3Endpoint"]),
        service_name=own or platform_project,
    )


@dataclass(frozen=True)
class CacheClaim:
    """One stack's use of a cache: which platform stack, which model, under which prefix."""

    stack: str
    cache_stack: str
    hf_id: str
    prefix: str


def _nested(a: str, b: str) -> bool:
    return a == b or a.startswith(b + "/") or b.startswith(a + "/")


def collisions(claim: CacheClaim, others: Iterable[CacheClaim]) -> list[str]:
    """Why `claim` collides with another model's prefix (same or nested) in the same cache.

    The same model may share its prefix across stacks (staging and prod reuse the weights). The
    catalog's models count as claims of their derived prefixes in every cache."""
    problems: list[str] = []
    catalog_claims = [CacheClaim("catalog", claim.cache_stack, spec.hf_id, model_prefix(spec.hf_id))
                      for spec in CATALOG.values()]
    for other in [*others, *catalog_claims]:
        if other.stack == claim.stack or other.cache_stack != claim.cache_stack:
            continue
        if other.hf_id.lower() == claim.hf_id.lower():
            continue
        if _nested(claim.prefix, other.prefix):
            where = "the catalog's" if other.stack == "catalog" else f"stack {other.stack}'s"
            problems.append(f"prefix {claim.prefix!r} collides with {where} {other.hf_id} at "
                            f"{other.prefix!r} in {claim.cache_stack}")
    return problems


@dataclass(frozen=True)
class StartEstimate:
    """Estimated start-up of one replica (seconds), from the model size and the bandwidths."""

    weights_bytes: float
    hub_seconds: float  # download from the Hub (a start without the weights in /hub)
    bucket_seconds: float  # pull from the bucket during INITIALIZING (a later start)
    push_seconds: float  # datasync push after the first start (while serving)
    load_seconds: float  # read into the GPUs, compile, CUDA graphs

    @property
    def first_start(self) -> float:
        return self.hub_seconds + self.load_seconds

    @property
    def later_start(self) -> float:
        return self.bucket_seconds + self.load_seconds

    def describe(self, cached: bool) -> str:
        gb = self.weights_bytes / 1e9
        if not cached:
            return (f"weights from the Hugging Face Hub on every start: {gb:.1f} GB, about "
                    f"{_minutes(self.first_start)} to serve (estimate at "
                    f"{HUB_BYTES_PER_SECOND / 1e6:.0f} MB/s)")
        return (f"weights: first start from the Hugging Face Hub ({gb:.1f} GB, about "
                f"{_minutes(self.first_start)} at {HUB_BYTES_PER_SECOND / 1e6:.0f} MB/s, then pushed "
                f"to the bucket in about {_minutes(self.push_seconds)}); later starts from the bucket "
                f"(about {_minutes(self.later_start)} at {BUCKET_PULL_BYTES_PER_SECOND / 1e6:.0f} MB/s, "
                "0 bytes from the Hub)")


def _minutes(seconds: float) -> str:
    return f"{math.ceil(seconds / 60)} min" if seconds >= 90 else f"{math.ceil(seconds)} s"


def estimate_starts(model: ModelSpec) -> StartEstimate:
    size = checkpoint_bytes(model)
    return StartEstimate(
        weights_bytes=size,
        hub_seconds=size / HUB_BYTES_PER_SECOND,
        bucket_seconds=size / BUCKET_PULL_BYTES_PER_SECOND,
        push_seconds=size / BUCKET_PUSH_BYTES_PER_SECOND,
        load_seconds=vllm.STARTUP_SECONDS + size / vllm.LOAD_BYTES_PER_SECOND,
    )


def claim_of_stack_file(stack: str, config: Mapping[str, Any], project: str) -> CacheClaim | None:
    """The cache claim a stack file's `config:` makes (None without `cacheStack`)."""
    cache_stack = str(config.get(f"{project}:cacheStack") or "").strip()
    if not cache_stack:
        return None
    model = str(config.get(f"{project}:model") or "").strip()
    try:
        hf_id = resolve_model(model).hf_id
    except (ValueError, TypeError):
        hf_id = model
    prefix = str(config.get(f"{project}:cachePrefix") or "").strip() or model_prefix(hf_id)
    return CacheClaim(stack, cache_stack, hf_id, prefix)
