"""The pure part of the platform stack (platform/): names, prefixes, the bucket policy, config rules.

The platform stack creates, per AI Deploy region, the OVHcloud side that the model stacks' cache
needs: an S3 bucket, a Public Cloud user with S3 credentials, and a bucket policy for that user.
Nothing here knows Pulumi: `plan_platform(config)` takes the stack's raw config (key -> string,
as the CLI passes it) and returns a `PlatformPlan`, or raises `PlatformConfigError` naming every
bad key and the command that fixes it (the program turns that into a preview failure).

The datastore alias. AI Deploy mounts an Object Storage container through a datastore alias of
the app's region. Each AI region has an OVHcloud-owned S3 datastore, `S3<REGION>` (shared/ovhai/
API.md), that reaches the S3 buckets of the project in that region: a bucket in the app's region
needs no alias of its own, and that is the only layout this stack builds (a bucket in another
region than the app is refused, as issue 12 asks). `datastoreAlias` names a customer-owned alias
instead, which the program registers with this stack's S3 credentials: pulumi-ovh 2.22.0 has no
resource for `/cloud/project/{serviceName}/ai/data/region/{region}/alias`, so it is our dynamic
resource AiDatastoreAlias (components/resources/alias.py), through the OVHcloud public API with
the same `ovh:*` keys as pulumi-ovh. A name of OVHcloud's own datastores (`GRA`, `S3BHS`, ...)
cannot be registered and is refused here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AI_REGIONS",
    "ALIAS_PATTERN",
    "BUCKET_ACTIONS",
    "CONFIG_KEYS",
    "OBJECT_ACTIONS",
    "PROJECT",
    "USER_ROLE",
    "PlatformConfigError",
    "PlatformPlan",
    "bucket_policy",
    "default_alias",
    "plan_platform",
    "s3_endpoint",
]

PROJECT = "platform"
# AI Deploy regions (shared/ovhai/API.md: one regional host each) with their default S3 datastore.
AI_REGIONS: tuple[str, ...] = ("GRA", "BHS")
USER_ROLE = "objectstore_operator"  # the only role the S3 user gets; the bucket policy narrows it

# What the apps do under the cache prefix: read, write, overwrite (the Hugging Face cache renames
# its .incomplete blobs, that is copy + delete in S3) and multipart uploads of large weight files.
OBJECT_ACTIONS: tuple[str, ...] = (
    "s3:GetObject",
    "s3:PutObject",
    "s3:DeleteObject",
    "s3:AbortMultipartUpload",
    "s3:ListMultipartUploadParts",
)
# What they do on the bucket itself: list it (to find what is cached) and its uploads, locate it.
BUCKET_ACTIONS: tuple[str, ...] = (
    "s3:ListBucket",
    "s3:ListBucketMultipartUploads",
    "s3:GetBucketLocation",
)

CONFIG_KEYS: Mapping[str, str] = {
    "region": "AI Deploy region of the apps and of the bucket: " + " or ".join(AI_REGIONS) + ".",
    "bucketName": "S3 bucket for model caches; empty: vllm-model-cache-<stack>.",
    "cachePrefix": "Prefix under which the model stacks put their per-model caches.",
    "datastoreAlias": "Datastore alias AI Deploy mounts the bucket through, registered by this stack; "
                      "empty: S3<REGION>, the region's default.",
    "serviceName": "Public Cloud project id; empty: the OVH_CLOUD_PROJECT_SERVICE variable.",
}

_BUCKET = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")
_IP_LIKE = re.compile(r"^\d{1,3}(\.\d{1,3}){3}$")
_PREFIX_SEGMENT = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
ALIAS_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")  # a datastore alias (AiDatastoreAlias too)
_SERVICE = re.compile(r"^[0-9a-f]{32}$")


class PlatformConfigError(ValueError):
    """Every problem of a platform stack's config at once, each naming its key and fix."""

    def __init__(self, stack: str, problems: list[tuple[str, str]]) -> None:
        self.stack = stack
        self.problems = problems
        lines = [f"stack '{stack}': {len(problems)} configuration problem(s):"]
        lines += [f"  - {key}: {message}" for key, message in problems]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [key for key, _ in self.problems]


@dataclass(frozen=True)
class PlatformPlan:
    """What the platform stack of one region creates and exports (all plain values)."""

    stack: str
    region: str  # upper case, as pulumi-ovh's region_name and the datastore aliases spell it
    bucket: str
    cache_prefix: str
    alias: str
    alias_is_default: bool
    service_name: str | None

    @property
    def s3_endpoint(self) -> str:
        return s3_endpoint(self.region)

    @property
    def user_description(self) -> str:
        return f"vllm model cache {self.stack}: read/write {self.bucket}/{self.cache_prefix}/"

    @property
    def policy(self) -> str:
        return bucket_policy(self.bucket, self.cache_prefix)

    @property
    def volume_source(self) -> str:
        """The ovhai volume syntax of the cache root, `container@alias/prefix`."""
        return f"{self.bucket}@{self.alias}/{self.cache_prefix}"


def default_alias(region: str) -> str:
    return f"S3{region.upper()}"


def s3_endpoint(region: str) -> str:
    return f"https://s3.{region.lower()}.io.cloud.ovh.net"


def bucket_policy(bucket: str, prefix: str) -> str:
    """The S3 policy document (JSON text) of the cache user: the object actions under
    `<prefix>/` only, the bucket actions on this bucket only; nothing else is allowed."""
    document: dict[str, Any] = {
        "Statement": [
            {
                "Sid": "CacheObjects",
                "Effect": "Allow",
                "Action": list(OBJECT_ACTIONS),
                "Resource": [f"arn:aws:s3:::{bucket}/{prefix}/*"],
            },
            {
                "Sid": "CacheBucket",
                "Effect": "Allow",
                "Action": list(BUCKET_ACTIONS),
                "Resource": [f"arn:aws:s3:::{bucket}"],
            },
        ],
    }
    return json.dumps(document, indent=2, sort_keys=True)


def _fix(key: str, example: str) -> str:
    return f"run `pulumi config set {key} {example}`"


def plan_platform(raw: Mapping[str, str], *, stack: str) -> PlatformPlan:
    """The plan of a platform stack from its config (`key` -> string, without the namespace)."""
    problems: list[tuple[str, str]] = []
    unknown = sorted(set(raw) - set(CONFIG_KEYS))
    for key in unknown:
        problems.append((f"{PROJECT}:{key}", f"unknown key (known: {', '.join(CONFIG_KEYS)}); "
                         f"remove it with `pulumi config rm {key}`"))

    region = str(raw.get("region", "")).strip().upper()
    if region not in AI_REGIONS:
        given = raw.get("region", "")
        problems.append((f"{PROJECT}:region", (f"{given!r} is not" if given else "missing: the stack needs")
                         + f" an AI Deploy region ({', '.join(AI_REGIONS)}); "
                         + _fix("region", AI_REGIONS[0])))

    bucket = str(raw.get("bucketName", "")).strip() or f"vllm-model-cache-{stack.lower()}"
    if not _BUCKET.match(bucket) or ".." in bucket or _IP_LIKE.match(bucket):
        problems.append((f"{PROJECT}:bucketName", f"{bucket!r} is not a valid bucket name (3 to 63 "
                         "lower-case letters, digits, dots and hyphens, starting and ending with a "
                         "letter or digit, not an IP address); "
                         + _fix("bucketName", "vllm-model-cache-gra")))

    prefix = str(raw.get("cachePrefix", "")).strip()
    if not prefix or prefix.startswith("/") or prefix.endswith("/") or not all(
        _PREFIX_SEGMENT.match(segment) and segment not in (".", "..") for segment in prefix.split("/")
    ):
        problems.append((f"{PROJECT}:cachePrefix", f"{prefix!r} is not a cache prefix (path segments "
                         "of letters, digits, '.', '_', '-', no leading or trailing '/'); "
                         + _fix("cachePrefix", "models")))

    alias_given = str(raw.get("datastoreAlias", "")).strip()
    alias = alias_given or (default_alias(region) if region else "")
    if alias_given and not ALIAS_PATTERN.match(alias_given):
        problems.append((f"{PROJECT}:datastoreAlias", f"{alias_given!r} is not a datastore alias "
                         "(letters, digits, '_', '-'); " + _fix("datastoreAlias", "''")
                         + " for the region's default"))
    elif alias_given and alias_given.startswith("S3") and alias_given != default_alias(region) \
            and alias_given[2:] in AI_REGIONS:
        problems.append((f"{PROJECT}:datastoreAlias", f"{alias_given!r} is the default datastore of "
                         f"{alias_given[2:]}, not of the bucket's region {region}: the app would not "
                         "reach the bucket; " + _fix("datastoreAlias", "''")))
    elif alias_given.upper() in AI_REGIONS:
        problems.append((f"{PROJECT}:datastoreAlias", f"{alias_given!r} is OVHcloud's Swift datastore "
                         f"of {alias_given.upper()}, not an alias this stack can register for its S3 "
                         "bucket; " + _fix("datastoreAlias", "''") + " for S3" + (region or "<REGION>")
                         + ", or another name"))

    service = str(raw.get("serviceName", "")).strip()
    if service and not _SERVICE.match(service):
        problems.append((f"{PROJECT}:serviceName", f"{service!r} is not a Public Cloud project id (32 "
                         "hex digits); " + _fix("serviceName", "<project id>")
                         + " or leave it empty and set OVH_CLOUD_PROJECT_SERVICE"))

    if problems:
        raise PlatformConfigError(stack, problems)
    return PlatformPlan(stack=stack, region=region, bucket=bucket, cache_prefix=prefix, alias=alias,
                        alias_is_default=alias == default_alias(region), service_name=service or None)
