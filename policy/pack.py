"""The CrossGuard policies of the pack: each wraps one rule of `checks.py` as a stack policy.

Stack policies see every resource at once (the stack's outputs and config beside the apps).
Each policy's enforcement level and settings come from `--policy-pack-config`, e.g.
policy/config.example.json: `{"hourly-cost-budget": {"enforcementLevel": "mandatory",
"budgets": {"mistral-small-prod": 12}, "defaultBudget": 5}}`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import checks
from checks import Resource, Violation
from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    StackValidationArgs,
    StackValidationPolicy,
)

Rule = Callable[[Sequence[Resource], dict[str, Any]], list[Violation]]


def resources_of(args: StackValidationArgs) -> list[Resource]:
    return [Resource(r.resource_type, r.name, r.urn, r.props) for r in args.resources]


def budget(resources: Sequence[Resource], config: dict[str, Any]) -> float | None:
    stack = checks.stack_of(resources[0].urn) if resources else ""
    per_stack = config.get("budgets") or {}
    value = per_stack.get(stack, config.get("defaultBudget"))
    return float(value) if isinstance(value, int | float) else None


def policy(name: str, description: str, rule: Rule, level: EnforcementLevel,
           schema: PolicyConfigSchema | None = None) -> StackValidationPolicy:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        for urn, message in rule(resources_of(args), dict(args.get_config() or {})):
            report(message, urn)

    return StackValidationPolicy(name=name, description=description, validate=validate,
                                 enforcement_level=level, config_schema=schema)


STRING_LIST = {"type": "array", "items": {"type": "string"}}
CONFIG_FILE_HINT = "fix the file given to --policy-pack-config (see policy/config.example.json)"


def config_problems(config: Mapping[str, Any], policies: Sequence[StackValidationPolicy]) -> list[str]:
    """Unknown policy names and unknown keys in a `--policy-pack-config` file. The engine checks
    the types of the keys a policy's schema declares, but takes any other key in silence (a
    `defaultBudgett` typo would leave the budget unchecked) and ignores a policy name it does not
    know when its entry has an enforcementLevel; "all" sets the level of every policy."""
    known = {p.name: set((p.config_schema.properties if p.config_schema else {}) or {}) for p in policies}
    problems: list[str] = []
    for name, value in config.items():
        if name == "all":
            continue
        if name not in known:
            problems.append(f"unknown policy {name!r} (the pack's policies: {', '.join(sorted(known))})")
            continue
        keys = set(value) if isinstance(value, Mapping) else set()
        for key in sorted(keys - known[name] - {"enforcementLevel"}):
            allowed = ", ".join(sorted(known[name] | {"enforcementLevel"}))
            problems.append(f"policy {name!r} has no setting {key!r} (it takes: {allowed})")
    return problems

POLICIES = [
    policy("prod-pinned-image", "prod stacks run a vLLM image pinned to a release",
           lambda rs, _c: checks.pinned_image_in_prod(rs), EnforcementLevel.MANDATORY),
    policy("prod-no-unsecure-http", "prod stacks never serve a model without a token",
           lambda rs, _c: checks.no_unsecure_http_in_prod(rs), EnforcementLevel.MANDATORY),
    policy("read-only-consumer-token", "the token other stacks read is read-only",
           lambda rs, _c: checks.read_only_consumer_tokens(rs), EnforcementLevel.MANDATORY),
    policy("hourly-cost-budget", "the planner's hourly cost estimate stays within the stack's budget",
           lambda rs, c: checks.hourly_cost_budget(rs, budget(rs, c)), EnforcementLevel.MANDATORY,
           PolicyConfigSchema({"budgets": {"type": "object", "additionalProperties": {"type": "number"}},
                               "defaultBudget": {"type": "number"}})),
    policy("allowed-flavors", "apps use the GPU flavors the platform team allows",
           lambda rs, c: checks.allowed_flavors(rs, c.get("allowed")), EnforcementLevel.MANDATORY,
           PolicyConfigSchema({"allowed": STRING_LIST})),
    policy("allowed-regions", "stacks deploy to the regions the platform team allows",
           lambda rs, c: checks.allowed_regions(rs, c.get("allowed")), EnforcementLevel.MANDATORY,
           PolicyConfigSchema({"allowed": STRING_LIST})),
    policy("readiness-covers-load", "the readiness deadline covers the model's estimated load time",
           lambda rs, _c: checks.readiness_covers_load(rs), EnforcementLevel.ADVISORY),
]
