"""The review rules of the policy pack, as plain functions over a stack's resources.

Free of Pulumi and of pulumi_policy so that each rule is tested as a function
(tests/test_policy.py); `pack.py` wires them into CrossGuard policies. A rule returns its
violations as `(urn, message)` pairs; each message names the stack key that fixes it.

What a rule can see is what the engine gives a stack policy at preview: each custom resource's
type, URN and inputs, the stack's own outputs (the planner's `estimatedHourlyCost`), and the
dynamic provider's inputs, which are the stack's config (`vllm-ai-deploy:environment`,
`ovhai:region`, `ovhai:endpoint`). The app's `deploymentStrategy.progressDeadlineSeconds` is the
planner's estimate of the model's download and load time. Component resources are not among the
resources a stack policy sees, so nothing is read from them. Values the engine does not know yet
at preview arrive as None and are skipped, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

PROJECT = "vllm-ai-deploy"
APP_TYPE = "pulumi-python:dynamic/ovhai:AiApp"
TOKEN_TYPE = "pulumi-python:dynamic/ovhai:AiToken"
STACK_TYPE = "pulumi:pulumi:Stack"
PROVIDER_TYPE = "pulumi:providers:pulumi-python"

# A pinned image names an exact release (v0.10.1.1, 0.11.0-cu129) or a digest.
PINNED_TAG = re.compile(r"^v?\d+(\.\d+)+([.-][\w.-]+)?$")
REGIONAL_HOST = re.compile(r"^([a-z]+)\.ai\.cloud\.ovh\.net$")
LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "::1")

Violation = tuple[str, str]


@dataclass(frozen=True)
class Resource:
    type: str
    name: str
    urn: str
    props: Mapping[str, Any]


def set_cmd(key: str, value: str) -> str:
    return f"pulumi config set {key} {value}"


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> <stack>."""
    return urn.split("::", 1)[0].rsplit(":", 1)[-1]


def environment_of(resources: Sequence[Resource]) -> str:
    """The stack's `environment` key, else the stack name's suffix (as the settings decide it)."""
    for r in resources:
        chosen = r.props.get(f"{PROJECT}:environment") if r.type == PROVIDER_TYPE else None
        if isinstance(chosen, str) and chosen:
            return chosen
    stack = stack_of(resources[0].urn) if resources else ""
    suffix = stack.rsplit("-", 1)[-1]
    return suffix if suffix in ("dev", "staging", "prod") else "dev"


def _spec(r: Resource) -> Mapping[str, Any]:
    spec = r.props.get("spec")
    return spec if isinstance(spec, Mapping) else {}


def apps(resources: Iterable[Resource]) -> list[Resource]:
    return [r for r in resources if r.type == APP_TYPE]


# ------------------------------------------------------------------------------------ the rules


def pinned_image_in_prod(resources: Sequence[Resource]) -> list[Violation]:
    if environment_of(resources) != "prod":
        return []
    found = []
    for app in apps(resources):
        image = _spec(app).get("image")
        if not isinstance(image, str):
            continue
        tag = image.rsplit(":", 1)[-1] if ":" in image.rsplit("/", 1)[-1] else ""
        if "@sha256:" not in image and not PINNED_TAG.match(tag):
            found.append((app.urn, f"{app.name}: image {image!r} is not pinned to a release in a prod stack; "
                          f"fix: {set_cmd(f'{PROJECT}:image', 'vllm/vllm-openai:v<release>')}"))
    return found


def no_unsecure_http_in_prod(resources: Sequence[Resource]) -> list[Violation]:
    if environment_of(resources) != "prod":
        return []
    return [
        (app.urn, f"{app.name}: unsecureHttp serves the model without a token in a prod stack; "
         f"fix: {set_cmd(f'{PROJECT}:unsecureHttp', 'false')}")
        for app in apps(resources)
        if _spec(app).get("unsecureHttp") is True
    ]


def read_only_consumer_tokens(resources: Sequence[Resource]) -> list[Violation]:
    """The token other stacks read (`<name>-token`) may only read; automation gets the separate
    operator token (`operatorToken`), which stays inside the stack."""
    return [
        (r.urn, f"{r.name}: the consumer token has role {r.props['role']!r}, but what other stacks read "
         f"must be read-only; fix: {set_cmd(f'{PROJECT}:tokenRole', 'read')} (and "
         f"{set_cmd(f'{PROJECT}:operatorToken', 'true')} for automation)")
        for r in resources
        if r.type == TOKEN_TYPE and not r.name.endswith("-operator-token")
        and r.props.get("role") not in (None, "read")
    ]


def hourly_cost_budget(resources: Sequence[Resource], max_hourly_cost: float | None) -> list[Violation]:
    if max_hourly_cost is None:
        return []
    found = []
    for r in resources:
        estimate = r.props.get("estimatedHourlyCost") if r.type == STACK_TYPE else None
        cost = estimate.get("amount") if isinstance(estimate, Mapping) else None
        if isinstance(cost, int | float) and cost > max_hourly_cost:
            found.append((r.urn, f"the planner estimates {cost:.2f} EUR/h for this stack, over its budget "
                          f"of {max_hourly_cost:.2f} EUR/h; fix: fewer or smaller GPUs "
                          f"({set_cmd(f'{PROJECT}:gpuFlavor', '...')}, {PROJECT}:gpuCount, "
                          f"{PROJECT}:maxReplicas), a shorter {PROJECT}:maxModelLen, or a higher "
                          "budget in the policy pack's config"))
    return found


def allowed_flavors(resources: Sequence[Resource], allowed: Sequence[str] | None) -> list[Violation]:
    if not allowed:
        return []
    found = []
    for app in apps(resources):
        flavor = (_spec(app).get("resources") or {}).get("flavor")
        if isinstance(flavor, str) and flavor not in allowed and "gpu" in flavor:
            found.append((app.urn, f"{app.name}: flavor {flavor} is not allowed here (allowed: "
                          f"{', '.join(allowed)}); fix: {set_cmd(f'{PROJECT}:gpuFlavor', allowed[0])}"))
    return found


def region_of(provider_config: Mapping[str, Any]) -> str | None:
    """The region a stack deploys to: `ovhai:region`, else the regional endpoint's host; "local"
    for the emulator on loopback; None when it cannot be told."""
    region = provider_config.get("ovhai:region")
    if isinstance(region, str) and region:
        return region.lower()
    endpoint = provider_config.get("ovhai:endpoint")
    if not isinstance(endpoint, str):
        return None
    host = (urlsplit(endpoint).hostname or "").lower()
    if host in LOOPBACK_HOSTS:
        return "local"
    found = REGIONAL_HOST.match(host)
    return found.group(1) if found else None


def allowed_regions(resources: Sequence[Resource], allowed: Sequence[str] | None) -> list[Violation]:
    if not allowed:
        return []
    found = []
    for r in resources:
        if r.type != PROVIDER_TYPE:
            continue
        region = region_of(r.props)
        if region is not None and region not in allowed:
            found.append((r.urn, f"the stack deploys to region {region!r}, not allowed here (allowed: "
                          f"{', '.join(allowed)}); fix: {set_cmd('ovhai:region', allowed[0])}"))
    return found


def readiness_covers_load(resources: Sequence[Resource]) -> list[Violation]:
    found = []
    for app in apps(resources):
        strategy = _spec(app).get("deploymentStrategy")
        load = strategy.get("progressDeadlineSeconds") if isinstance(strategy, Mapping) else None
        readiness = app.props.get("readiness")
        timeout = readiness.get("timeoutSeconds") if isinstance(readiness, Mapping) else None
        if isinstance(load, int | float) and isinstance(timeout, int | float) and timeout < load:
            found.append((app.urn, f"{app.name}: the readiness deadline of {timeout:.0f} s is shorter than "
                          f"the {load:.0f} s the model is estimated to need to download and load; fix: "
                          f"{set_cmd(f'{PROJECT}:readinessTimeoutSeconds', str(int(load)))}"))
    return found
