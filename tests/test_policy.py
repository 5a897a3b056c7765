"""The policy pack's rules (policy/checks.py) as plain functions, and the pack's wiring
(policy/pack.py) through pulumi_policy's own argument objects. The pack against the real engine
is in tests/test_e2e.py (`pulumi preview --policy-pack policy`)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from tests.pulumi_cli import REPO

URN = "urn:pulumi:{stack}::vllm-ai-deploy::{type}::{name}"


@pytest.fixture(scope="module")
def policy() -> Iterator[tuple[ModuleType, ModuleType]]:
    # The pack's modules are top-level names in policy/ (the analyzer runs `python policy/`).
    sys.path.insert(0, str(REPO / "policy"))
    try:
        yield importlib.import_module("checks"), importlib.import_module("pack")
    finally:
        sys.path.remove(str(REPO / "policy"))


def resource(checks: ModuleType, type_: str, name: str, props: dict[str, Any],
             stack: str = "dev") -> Any:
    return checks.Resource(type_, name, URN.format(stack=stack, type=type_, name=name), props)


def app(checks: ModuleType, stack: str = "dev", **spec: Any) -> Any:
    base = {"name": "vllm-x", "image": "vllm/vllm-openai:v0.10.1.1", "unsecureHttp": False,
            "resources": {"flavor": "l40s-1-gpu", "gpu": 2},
            "deploymentStrategy": {"progressDeadlineSeconds": 1320}}
    return resource(checks, checks.APP_TYPE, "vllm-app",
                    {"spec": {**base, **spec}, "readiness": {"timeoutSeconds": 1800}}, stack)


def provider(checks: ModuleType, stack: str = "dev", **config: str) -> Any:
    return resource(checks, checks.PROVIDER_TYPE, "default", config, stack)


def test_prod_stacks_need_a_pinned_image(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, _ = policy
    for image in ("vllm/vllm-openai:latest", "vllm/vllm-openai", "vllm/vllm-openai:nightly"):
        found = checks.pinned_image_in_prod([app(checks, "llama-prod", image=image)])
        assert len(found) == 1 and "pulumi config set vllm-ai-deploy:image" in found[0][1], image
    for image in ("vllm/vllm-openai:v0.10.1.1", "vllm/vllm-openai:v0.33.0-cu129",
                  "registry:5000/vllm@sha256:" + "a" * 64):
        assert checks.pinned_image_in_prod([app(checks, "llama-prod", image=image)]) == [], image
    assert checks.pinned_image_in_prod([app(checks, "llama-dev", image="vllm/vllm-openai:latest")]) == []
    # The environment key wins over the stack name's suffix.
    prod = [app(checks, "llama", image="x:latest"),
            provider(checks, "llama", **{"vllm-ai-deploy:environment": "prod"})]
    assert len(checks.pinned_image_in_prod(prod)) == 1


def test_prod_stacks_keep_the_token(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, _ = policy
    found = checks.no_unsecure_http_in_prod([app(checks, "m-prod", unsecureHttp=True)])
    assert len(found) == 1 and "vllm-ai-deploy:unsecureHttp false" in found[0][1]
    assert checks.no_unsecure_http_in_prod([app(checks, "m-staging", unsecureHttp=True)]) == []
    assert checks.no_unsecure_http_in_prod([app(checks, "m-prod")]) == []


def test_the_consumer_token_is_read_only(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, _ = policy
    operator = resource(checks, checks.TOKEN_TYPE, "vllm-token", {"role": "operator"})
    found = checks.read_only_consumer_tokens([operator])
    assert len(found) == 1 and "vllm-ai-deploy:tokenRole read" in found[0][1]
    assert checks.read_only_consumer_tokens(
        [resource(checks, checks.TOKEN_TYPE, "vllm-operator-token", {"role": "operator"}),
         resource(checks, checks.TOKEN_TYPE, "vllm-token", {"role": "read"})]) == []


def test_the_hourly_cost_stays_within_the_budget(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, pack = policy
    stack = resource(checks, checks.STACK_TYPE, "vllm-ai-deploy-dev",
                     {"estimatedHourlyCost": {"amount": 2.8}})
    found = checks.hourly_cost_budget([stack], 1.0)
    assert len(found) == 1 and "2.80 EUR/h" in found[0][1] and "gpuCount" in found[0][1]
    assert checks.hourly_cost_budget([stack], 2.8) == []
    assert checks.hourly_cost_budget([stack], None) == []
    # The budget is per stack, with a default.
    assert pack.budget([stack], {"budgets": {"dev": 3}, "defaultBudget": 1}) == 3.0
    assert pack.budget([stack], {"budgets": {"other": 3}, "defaultBudget": 1}) == 1.0
    assert pack.budget([stack], {}) is None


def test_flavors_and_regions_are_the_allowed_ones(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, _ = policy
    found = checks.allowed_flavors([app(checks)], ["l4-1-gpu"])
    assert len(found) == 1 and "vllm-ai-deploy:gpuFlavor l4-1-gpu" in found[0][1]
    assert checks.allowed_flavors([app(checks)], ["l40s-1-gpu"]) == []
    assert checks.allowed_flavors([app(checks)], None) == []

    assert checks.region_of({"ovhai:region": "SBG"}) == "sbg"
    assert checks.region_of({"ovhai:endpoint": "https://gra.ai.cloud.ovh.net"}) == "gra"
    assert checks.region_of({"ovhai:endpoint": "http://127.0.0.1:19080"}) == "local"
    assert checks.region_of({}) is None
    found = checks.allowed_regions([provider(checks, **{"ovhai:region": "bhs"})], ["gra", "sbg"])
    assert len(found) == 1 and "ovhai:region gra" in found[0][1]
    assert checks.allowed_regions([provider(checks, **{"ovhai:region": "gra"})], ["gra"]) == []


def test_the_readiness_deadline_covers_the_load(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, _ = policy
    short = app(checks)
    short.props["readiness"]["timeoutSeconds"] = 600
    found = checks.readiness_covers_load([short])
    assert len(found) == 1 and "vllm-ai-deploy:readinessTimeoutSeconds 1320" in found[0][1]
    assert checks.readiness_covers_load([app(checks)]) == []


def test_values_unknown_at_preview_are_skipped(policy: tuple[ModuleType, ModuleType]) -> None:
    checks, _ = policy
    unknown = resource(checks, checks.APP_TYPE, "chat-ui", {"spec": None, "readiness": None}, "x-prod")
    for rule in (checks.pinned_image_in_prod, checks.no_unsecure_http_in_prod, checks.readiness_covers_load):
        assert rule([unknown]) == []
    assert checks.allowed_flavors([unknown], ["l4-1-gpu"]) == []


def test_the_pack_reports_through_pulumi_policy(policy: tuple[ModuleType, ModuleType]) -> None:
    from pulumi_policy import PolicyCustomTimeouts, PolicyResource, PolicyResourceOptions, StackValidationArgs

    _, pack = policy
    checks = sys.modules["checks"]
    opts = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [], None)
    live = app(checks, "m-prod", image="vllm/vllm-openai:latest")
    resources = [PolicyResource(live.type, live.props, live.urn, live.name, opts, None, None, [], {})]
    names = {p.name for p in pack.POLICIES}
    assert names == {"prod-pinned-image", "prod-no-unsecure-http", "read-only-consumer-token",
                     "hourly-cost-budget", "allowed-flavors", "allowed-regions", "readiness-covers-load"}
    reported: list[tuple[str, str | None]] = []
    pinned = next(p for p in pack.POLICIES if p.name == "prod-pinned-image")
    pinned.validate(StackValidationArgs(resources, {}),
                    lambda message, urn=None: reported.append((message, urn)))
    assert reported and reported[0][1] == live.urn and "not pinned" in reported[0][0]

