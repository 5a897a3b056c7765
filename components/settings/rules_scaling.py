"""Rules of replicas: fixed or autoscaling, and the GPUs they need against the project's quota."""

from __future__ import annotations

from components import autoscaling, sizing
from components.settings.environments import EnvironmentDefaults
from components.settings.keys import StackConfig, bounds, choices
from components.settings.model import ScalingSettings
from components.settings.rules_base import Findings


def _within(p: Findings, key: str, got: int, *, fix: str, unit: str = "", bounds_of: str = "") -> bool:
    """Whether `key` is within the bounds declared on it (or on `bounds_of`); if not, report it
    with `fix` as the suggested value."""
    low, high = bounds(bounds_of or key)
    if low <= got <= high:
        return True
    p.add(key, f"must be {low}..{high}{unit} (got {got})", value=fix)
    return False


def scaling(cfg: StackConfig, defaults: EnvironmentDefaults, p: Findings) -> ScalingSettings | None:
    ok = True
    if cfg.maxReplicas == 0:
        if cfg.minReplicas != 1:
            p.add("minReplicas", "only applies with autoscaling: set maxReplicas too",
                  p.set_cmd("maxReplicas", "3"))
            return None
        replicas = cfg.replicas or defaults.replicas
        if not _within(p, "replicas", replicas, fix="1"):
            return None
        return ScalingSettings(replicas=replicas)
    if cfg.replicas:
        p.add("replicas", "fixed replicas and autoscaling (maxReplicas) exclude each other",
              p.rm_cmd("replicas"))
        ok = False
    if not _within(p, "maxReplicas", cfg.maxReplicas, fix="3"):
        ok = False
    if not _within(p, "minReplicas", cfg.minReplicas, fix="1"):
        ok = False
    elif cfg.minReplicas > cfg.maxReplicas >= 1:
        p.add("minReplicas", f"{cfg.minReplicas} is above maxReplicas {cfg.maxReplicas}",
              value=str(cfg.maxReplicas))
        ok = False
    metric = cfg.scalingMetric.strip().upper()
    if metric not in choices("scalingMetric"):
        allowed = " or ".join(choices("scalingMetric"))
        p.add("scalingMetric", f"must be {allowed} (got {cfg.scalingMetric!r})", value="CPU")
        ok = False
    if not _within(p, "scalingTarget", cfg.scalingTarget, fix="75", unit=" percent"):
        ok = False
    if not _within(p, "cooldownSeconds", cfg.cooldownSeconds, fix="300", unit=" seconds"):
        ok = False
    aggregation = cfg.scalingAggregation.strip().upper()
    if aggregation not in choices("scalingAggregation"):
        allowed = " or ".join(choices("scalingAggregation"))
        p.add("scalingAggregation", f"must be {allowed} (got {cfg.scalingAggregation!r})", value="AVERAGE")
        ok = False
    up = _window(p, "scaleUpWindowSeconds", cfg.scaleUpWindowSeconds, defaults.scale_up_window_seconds)
    down = _window(p, "scaleDownWindowSeconds", cfg.scaleDownWindowSeconds,
                   defaults.scale_down_window_seconds)
    if not ok or up is None or down is None:
        return None
    if cfg.minReplicas == 0:
        p.warn("minReplicas 0: the app scales to zero; the first request after "
               "idle waits for the model to load again")
        if metric in autoscaling.VLLM_METRICS:
            p.warn(f"minReplicas 0 with scalingMetric {metric}: at zero replicas no replica serves "
                   "/metrics, and scaling from zero on a custom metric is not yet proven on AI Deploy")
    elif metric in autoscaling.RESOURCE_METRICS:
        p.warn(f"scalingMetric {metric}: a GPU-bound vLLM server barely moves {metric}; "
               f"{p.set_cmd('scalingMetric', 'REQUESTS_WAITING')} scales on vLLM's own queue")
    return ScalingSettings(
        min_replicas=cfg.minReplicas,
        max_replicas=cfg.maxReplicas,
        metric=metric,
        target=cfg.scalingTarget,
        cooldown_seconds=cfg.cooldownSeconds,
        aggregation=aggregation,
        scale_up_window_seconds=up,
        scale_down_window_seconds=down,
    )


def _window(p: Findings, key: str, got: int, default: int) -> int | None:
    """A stabilization window: -1 takes the environment's default."""
    if got == -1:
        return default
    low, high = bounds(key)
    if not 0 <= got <= high:
        p.add(key, f"must be 0..{high:g} seconds, or -1 for the environment's (got {got})",
              value=str(default))
        return None
    del low
    return got


def quota(cfg: StackConfig, plan: sizing.Plan, scaling: ScalingSettings, p: Findings) -> None:
    most = scaling.billed_replicas[1]
    need = most * plan.gpus
    if need <= cfg.gpuQuota:
        return
    key = "maxReplicas" if scaling.automatic else "replicas"
    fit = max(1, cfg.gpuQuota // plan.gpus)
    p.add(
          key,
          f"{most} replica(s) x {plan.gpus} GPU(s) of {plan.flavor} = {need} GPUs, above the "
          f"project's GPU quota of {cfg.gpuQuota} (raise it with OVHcloud support, then "
          f"`{p.set_cmd('gpuQuota', str(need))}`)",
          value=str(fit),
          )
