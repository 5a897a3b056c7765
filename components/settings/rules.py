"""The resolver: runs every rule on a parsed config and builds `Settings` when none failed.

The rules are plain functions, grouped by topic in the `rules_*` modules; each takes the values it
checks and the shared `Findings`, and returns its resolved value or None when it failed, so the
others still run. They run in a fixed order: the order of the problems a user reads.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from pydantic import SecretStr

from components import pricing, sizing, vllm
from components.settings import rules_access as access
from components.settings import rules_gpu as gpu
from components.settings import rules_identity as identity
from components.settings import rules_lifecycle as lifecycle
from components.settings import rules_prices as price_rules
from components.settings import rules_scaling as scaling_rules
from components.settings import rules_volumes as volume_rules
from components.settings.environments import ENVIRONMENT_DEFAULTS
from components.settings.keys import StackConfig
from components.settings.model import Settings
from components.settings.problems import Problems
from components.settings.rules_base import Findings


def resolve(
    cfg: StackConfig,
    problems: Problems,
    *,
    stack: str,
    project: str,
    secret_keys: Collection[str],
    environ: Mapping[str, str],
    provider_config: Mapping[str, Any],
    catalog_prices: pricing.PriceList | None = None,
) -> Settings | None:
    """Every rule on one config; None when any problem was reported (they are in `problems`).
    `catalog_prices`: the public catalog's prices as fetched by the program (None: not fetched)."""
    p = Findings(problems)
    env = identity.environment(cfg, stack, p)
    defaults = gpu.pinned_default_image(cfg, p, ENVIRONMENT_DEFAULTS[env or "dev"])
    model = identity.model(cfg, p)
    served = identity.served_name(cfg, model, p)
    app_name = identity.app_name(cfg, stack, p)
    image = identity.image(cfg, env, defaults, p)
    release = gpu.resolve_release(cfg, p, image)
    scaling = scaling_rules.scaling(cfg, defaults, p)
    volumes = volume_rules.volumes(cfg, p)
    cache = volume_rules.cache(cfg, model, p)
    gmu = gpu.gpu_memory_utilization(cfg, p)
    labels = access.labels(cfg, p)
    role = access.token_role(cfg, env, p)
    readiness = lifecycle.readiness(cfg, defaults, model, p)
    keep_failed = lifecycle.keep_failed(cfg, defaults, p)
    access.unsecure(cfg, env, defaults, p)
    access.provider_credentials(
        provider_config, secret_keys, env, p, service_name=cfg.serviceName, environ=environ,
        project_from_platform=bool(cfg.cacheStack.strip()),
    )
    vllm_args = gpu.vllm_args(cfg, p)
    gpu.release_args(cfg, p, release)
    hf_token = access.hf_token(cfg, model, secret_keys, environ, p)
    if cfg.toolCalling and model is not None and not model.tool_call_parser:
        p.add("toolCalling", f"model {model.hf_id} has no known tool-call parser",
              p.set_cmd("toolCalling", "false"))
    if cfg.gpuQuota < 1:
        p.add("gpuQuota", f"must be at least 1 (got {cfg.gpuQuota})", value="4")
    prices = gpu.prices(cfg, p)
    sub = price_rules.subsidiary(cfg, p)
    url_ok = price_rules.catalog_url_ok(cfg, p)
    price_list: pricing.PriceList | None = None
    if sub is not None and url_ok and prices is not None:
        price_list = price_rules.price_list(cfg, sub, catalog_prices, prices, p)
    chosen: tuple[sizing.Plan, list[sizing.Plan]] | None = None
    if model is not None and gmu is not None and price_list is not None and gpu.planner_inputs_ok(cfg, p):
        chosen = gpu.plan(cfg, model, gmu, price_list.per_gpu_hour(), p, release)
        if chosen is not None:
            chosen = price_rules.label_currency(chosen, price_list)
    if chosen is not None and scaling is not None:
        scaling_rules.quota(cfg, chosen[0], scaling, p)
    kv_bytes = gpu.fixed_kv_cache(cfg, p, release, chosen[0] if chosen is not None else None)
    if p.failed or env is None or model is None or chosen is None or scaling is None:
        return None
    assert served is not None and app_name is not None and image is not None and volumes is not None
    assert gmu is not None and labels is not None and role is not None and readiness is not None
    return Settings(
        project=project,
        stack=stack,
        environment=env,
        model=model,
        engine=vllm.EngineOptions(
            served_model_name=served,
            gpu_memory_utilization=gmu,
            tool_calling=cfg.toolCalling,
            extra_args=tuple(vllm_args),
            release=release,
            kv_cache_memory_bytes=kv_bytes,
        ),
        app_name=app_name,
        plan=chosen[0],
        plans=tuple(chosen[1]),
        image=image,
        scaling=scaling,
        volumes=tuple(volumes),
        cache_path=cfg.cachePath.rstrip("/") or "/",
        token_role=role,
        operator_token=cfg.operatorToken,
        token_rotation=cfg.tokenRotation.strip(),
        unsecure_http=cfg.unsecureHttp,
        readiness_timeout_seconds=readiness,
        keep_failed_apps=keep_failed,
        adopt_app_id=cfg.adoptAppId.strip(),
        labels=labels,
        gpu_quota=cfg.gpuQuota,
        price_list=price_list,
        hf_token=SecretStr(hf_token) if hf_token else None,
        cache=cache,
        warnings=tuple(p.warnings),
    )


class Resolver:
    """`resolve()` over inputs given once (what `loading.load_settings` calls)."""

    def __init__(
        self,
        cfg: StackConfig,
        problems: Problems,
        *,
        stack: str,
        project: str,
        secret_keys: Collection[str],
        environ: Mapping[str, str],
        provider_config: Mapping[str, Any],
        catalog_prices: pricing.PriceList | None = None,
    ) -> None:
        self._catalog_prices = catalog_prices
        self._cfg, self._problems = cfg, problems
        self._stack, self._project, self._secret_keys = stack, project, secret_keys
        self._environ, self._provider_config = environ, provider_config

    def resolve(self) -> Settings | None:
        return resolve(
            self._cfg,
            self._problems,
            stack=self._stack,
            project=self._project,
            secret_keys=self._secret_keys,
            environ=self._environ,
            provider_config=self._provider_config,
            catalog_prices=self._catalog_prices,
        )
