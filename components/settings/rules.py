"""The resolver: runs every rule group on a parsed config and builds `Settings` when none failed.

The rules run in a fixed order (the order of the problems a user reads), each group in its own
module; a rule that fails reports to the shared collector and returns None so the others still run.
"""

from __future__ import annotations

from pydantic import SecretStr

from components import sizing, vllm
from components.settings.environments import ENVIRONMENT_DEFAULTS
from components.settings.model import Settings
from components.settings.rules_access import AccessRules
from components.settings.rules_gpu import (
    GpuRules,
    fixed_kv_cache,
    pinned_default_image,
    release_args,
    resolve_release,
)
from components.settings.rules_identity import IdentityRules
from components.settings.rules_lifecycle import LifecycleRules
from components.settings.rules_scaling import ScalingRules
from components.settings.rules_volumes import VolumeRules


class Resolver(IdentityRules, ScalingRules, VolumeRules, GpuRules, AccessRules, LifecycleRules):
    """Every rule group on one config; `resolve()` returns None when any problem was reported."""

    def resolve(self) -> Settings | None:
        cfg, p = self.cfg, self.p
        env = self._environment()
        defaults = pinned_default_image(cfg, p, ENVIRONMENT_DEFAULTS[env or "dev"])
        model = self._model()
        served = self._served_name(model)
        app_name = self._app_name()
        image = self._image(env, defaults)
        release = resolve_release(cfg, p, self.warnings, image)
        scaling = self._scaling(defaults)
        volumes = self._volumes()
        gmu = self._gpu_memory_utilization()
        labels = self._labels()
        role = self._token_role(env)
        readiness = self._readiness(defaults, model)
        keep_failed = self._keep_failed(defaults)
        self._unsecure(env, defaults)
        self._provider_credentials(env)
        vllm_args = self._vllm_args()
        release_args(cfg, p, release)
        hf_token = self._hf_token(model)
        if cfg.toolCalling and model is not None and not model.tool_call_parser:
            p.add("toolCalling", f"model {model.hf_id} has no known tool-call parser",
                  p.set_cmd("toolCalling", "false"))
        if cfg.gpuQuota < 1:
            p.add("gpuQuota", f"must be at least 1 (got {cfg.gpuQuota})", value="4")
        prices = self._prices()
        chosen: tuple[sizing.Plan, list[sizing.Plan]] | None = None
        if model is not None and gmu is not None and prices is not None and self._planner_inputs_ok():
            chosen = self._plan(model, gmu, prices, release)
        if chosen is not None and scaling is not None:
            self._quota(chosen[0], scaling)
        kv_bytes = fixed_kv_cache(cfg, p, release, chosen[0] if chosen is not None else None)
        if p.items or env is None or model is None or chosen is None or scaling is None:
            return None
        assert served is not None and app_name is not None and image is not None and volumes is not None
        assert gmu is not None and labels is not None and role is not None and readiness is not None
        return Settings(
            project=self.project,
            stack=self.stack,
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
            labels=labels,
            gpu_quota=cfg.gpuQuota,
            hf_token=SecretStr(hf_token) if hf_token else None,
            warnings=tuple(self.warnings),
        )
