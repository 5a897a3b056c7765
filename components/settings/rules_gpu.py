"""Rules of the engine and the GPU planner: vLLM arguments, dtypes, flavor, count, context, prices.

When no plan fits, the planner's suggestions become the fix: the key to change and its value.
"""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from components import catalog, sizing, vllm, vllm_releases
from components.platform import MAX_GPUS_PER_APP
from components.settings.environments import EnvironmentDefaults
from components.settings.keys import StackConfig, bounds, choices
from components.settings.rules_base import Findings

# vLLM flags the deployment sets itself: giving them again would contradict the plan.
MANAGED_VLLM_FLAGS = vllm.MANAGED_FLAGS


def gpu_memory_utilization(cfg: StackConfig, p: Findings) -> float | None:
    text = cfg.gpuMemoryUtilization.strip()
    try:
        value = float(text)
    except ValueError:
        p.add("gpuMemoryUtilization", f"'{text}' is not a number")
        return None
    low, high = bounds("gpuMemoryUtilization")
    if not low <= value <= high:
        p.add("gpuMemoryUtilization", f"must be between {low:g} and {high:g} (got {value})")
        return None
    return value


def vllm_args(cfg: StackConfig, p: Findings) -> list[str]:
    args = [a for a in cfg.vllmArgs]
    for arg in args:
        flag = arg.split("=", 1)[0]
        if flag in MANAGED_VLLM_FLAGS:
            p.add("vllmArgs", f"'{flag}' is set by the deployment from the plan; use its own "
                  "config key (gpuCount, maxModelLen, dtype, servedModelName, ...)",
                  p.set_cmd("vllmArgs", "'[]'"))
        elif not arg.strip():
            p.add("vllmArgs", "contains an empty argument", p.set_cmd("vllmArgs", "'[]'"))
    return args


def planner_inputs_ok(cfg: StackConfig, p: Findings) -> bool:
    ok = True
    if cfg.dtype not in choices("dtype"):
        p.add("dtype", f"must be one of {', '.join(choices('dtype'))} (got {cfg.dtype!r})", value="auto")
        ok = False
    kv_choices = choices("kvCacheDtype")
    if cfg.kvCacheDtype not in kv_choices:
        p.add("kvCacheDtype", f"must be one of {', '.join(kv_choices)} (got {cfg.kvCacheDtype!r})",
              value="auto")
        ok = False
    if cfg.gpuFlavor and cfg.gpuFlavor not in sizing.FLAVORS:
        known = ", ".join(sorted(sizing.FLAVORS))
        p.add("gpuFlavor", f"'{cfg.gpuFlavor}' is not a GPU flavor ({known})", value="l40s-1-gpu")
        ok = False
    _, most = bounds("gpuCount")
    if not 0 <= cfg.gpuCount <= most:
        p.add("gpuCount", f"must be 1..{most} GPUs per app, or 0 for the planner "
              f"(got {cfg.gpuCount})",
              value="2")
        ok = False
    elif cfg.gpuFlavor in sizing.FLAVORS and cfg.gpuCount > sizing.FLAVORS[cfg.gpuFlavor].max_gpus:
        limit = sizing.FLAVORS[cfg.gpuFlavor].max_gpus
        p.add("gpuCount", f"{cfg.gpuFlavor} allows at most {limit} GPUs per app (got {cfg.gpuCount})",
              value=str(limit))
        ok = False
    return ok


MIN_MODEL_LEN = 256  # the shortest context a stack (or the plan CLI) may ask for


def context_length(cfg: StackConfig, model: catalog.ModelSpec, p: Findings) -> bool:
    """`maxModelLen`: 0 (the model's maximum) or MIN_MODEL_LEN up to the model's own context."""
    if cfg.maxModelLen < 0 or (cfg.maxModelLen and cfg.maxModelLen < MIN_MODEL_LEN):
        p.add("maxModelLen", f"must be at least {MIN_MODEL_LEN} tokens, or 0 for the model's maximum "
              f"(got {cfg.maxModelLen})", value="8192")
        return False
    if cfg.maxModelLen > model.max_position_embeddings:
        p.add("maxModelLen", f"{cfg.maxModelLen} is above {model.hf_id}'s maximum context of "
              f"{model.max_position_embeddings} tokens", value=str(model.max_position_embeddings))
        return False
    return True


def plan(
    cfg: StackConfig, model: catalog.ModelSpec, gmu: float, prices: dict[str, float], p: Findings,
    release: vllm_releases.ReleaseProfile | None = None,
) -> tuple[sizing.Plan, list[sizing.Plan]] | None:
    if not context_length(cfg, model, p):
        return None
    kwargs = planner_kwargs(cfg, gmu, prices)
    if release is not None:
        kwargs["release"] = release  # the memory model of the image's release line
    try:
        plans = sizing.plan(model, **kwargs)
        best = sizing.best_plan(model, **kwargs)
    except sizing.NoFittingPlan as exc:
        _explain_no_fit(cfg, model, exc, kwargs, p)
        return None
    except ValueError as exc:  # an input the planner refuses (checked above: a safety net)
        p.add("gpuFlavor" if cfg.gpuFlavor else "model", str(exc).splitlines()[0])
        return None
    for note in best.notes:  # a trade-off the plan accepts (weight-only kernels): said, not refused
        p.warn(f"{best.gpus} x {best.flavor}: {note}")
    return best, plans


def planner_kwargs(cfg: StackConfig, gmu: float, prices: dict[str, float]) -> dict[str, Any]:
    """The planner's keyword arguments for the stack's keys (shared with the plan CLI)."""
    kwargs: dict[str, Any] = {
        "max_model_len": cfg.maxModelLen or None,
        "dtype": None if cfg.dtype == "auto" else cfg.dtype,
        "kv_cache_dtype": None if cfg.kvCacheDtype == "auto" else cfg.kvCacheDtype,
        "gpu_memory_utilization": gmu,
    }
    if cfg.gpuFlavor:
        kwargs["flavors"] = [cfg.gpuFlavor]
    if cfg.gpuCount:
        kwargs["gpus"] = cfg.gpuCount
    if prices:
        kwargs["prices"] = prices
    return kwargs


def _explain_no_fit(
    cfg: StackConfig, model: catalog.ModelSpec, exc: sizing.NoFittingPlan, kwargs: dict[str, Any], p: Findings
) -> None:
    """Name the key to change and the value that makes a plan fit (the planner says which)."""
    message = str(exc)
    # An explicit GPU count that breaks tensor parallelism: another count, same flavor.
    if cfg.gpuCount and any("tensor parallel" in r for pl in exc.plans for r in pl.reasons):
        for count in range(1, MAX_GPUS_PER_APP + 1):
            if count != cfg.gpuCount and any(
                pl.fits for pl in sizing.plan(model, **{**kwargs, "gpus": count})
            ):
                p.add("gpuCount", message, value=str(count))
                return
    # bfloat16 asked on a GPU without it (V100S): half precision runs there.
    reasons = [r for pl in exc.plans for r in pl.reasons]
    if cfg.dtype in ("bfloat16", "bf16") and any("no bfloat16" in r for r in reasons):
        p.add("dtype", message, value="half")
        return
    # FP8 asked on a checkpoint that is already quantised (MXFP4, AWQ, ...): its own format runs.
    requantised = any("already" in r for r in reasons)
    if cfg.dtype == "fp8" and model.quantization not in (None, "fp8") and requantised:
        p.add("dtype", message, value="auto")
        return
    length = kwargs["max_model_len"] or model.max_position_embeddings
    useful = [fit for _text, fit in exc.suggestions if fit.max_model_len >= min(8192, length)]
    # a context cut to a few thousand tokens is a poor fix when other GPUs or FP8 would do
    for fit in useful or [fit for _text, fit in exc.suggestions]:
        if fit.max_model_len < length:
            p.add("maxModelLen", message, value=str(fit.max_model_len))
        elif fit.kv_cache_dtype == "fp8" and cfg.kvCacheDtype == "auto":
            p.add("kvCacheDtype", message, value="fp8")
        elif fit.quantization == "fp8" and cfg.dtype != "fp8":
            p.add("dtype", message, value="fp8")
        elif cfg.gpuFlavor and fit.flavor != cfg.gpuFlavor:
            also = p.set_cmd("gpuCount", str(fit.gpus))
            p.add("gpuFlavor", f"{message} (and `{also}`)", value=fit.flavor)
        else:
            p.add("gpuCount", message, value=str(fit.gpus))
        return
    p.add("model", message, p.set_cmd("model", "llama-3.1-8b"))


def prices(cfg: StackConfig, p: Findings) -> dict[str, float] | None:
    out: dict[str, float] = {}
    for i, item in enumerate(cfg.prices):
        flavor, sep, amount = item.partition("=")
        try:
            value = float(amount)
        except ValueError:
            value = -1.0
        if not sep or flavor.strip() not in sizing.FLAVORS or value <= 0:
            p.add("prices", f"[{i}] '{item}' must be flavor=price per GPU-hour (in the subsidiary's "
                  "currency), a known GPU flavor")
            return None
        out[flavor.strip()] = value
    return out


# --- the vLLM release (plain functions: read the config, report problems, return the result) ---


def pinned_default_image(cfg: StackConfig, p: Findings, defaults: EnvironmentDefaults) -> EnvironmentDefaults:
    """The environment's defaults with its pinned image in the CUDA build `vllmCuda` chooses."""
    if cfg.vllmCuda not in choices("vllmCuda"):
        p.add("vllmCuda", f"must be one of {', '.join(choices('vllmCuda'))} (got {cfg.vllmCuda!r})",
              value="cu129")
        return defaults
    if defaults.floating_image_allowed and defaults.vllm_image.endswith(":latest"):
        return defaults  # dev floats on purpose (the seed's recipe)
    return replace(defaults, vllm_image=vllm_releases.default_image(cfg.vllmCuda))


def resolve_release(
    cfg: StackConfig, p: Findings, image: str | None
) -> vllm_releases.ReleaseProfile | None:
    """The release profile of the stack's image (`vllmVersion` wins over the tag)."""
    if image is None:
        return None
    try:
        release, notes = vllm_releases.resolve_release(image, cfg.vllmVersion)
    except vllm_releases.ReleaseError as exc:
        p.add(exc.key, str(exc), value=exc.value)
        return None
    for note in notes:
        p.warn(note)
    ref = vllm_releases.image_release(image)
    if release.cuda13 and ref.cuda != "cu129" and (ref.version is not None or ref.floating):
        variant = (f"; its `-cu129` build (`vllm/vllm-openai:v{release.label}-cu129`) runs on CUDA 12.x "
                   "drivers" if release.has_cu129_variant else "")
        p.warn(
            f"vllmImage '{image}' is built on CUDA 13.0 (vLLM >= 0.20), which needs an NVIDIA driver "
            f">= 580; AI Deploy does not publish its hosts' driver{variant}"
        )
    return release


def release_args(cfg: StackConfig, p: Findings, release: vllm_releases.ReleaseProfile | None) -> None:
    """Each vllmArgs flag the release does not know fails here, with the arguments that remain."""
    if release is None:
        return
    problems = vllm.release_args_problems(cfg.vllmArgs, release)
    if not problems:
        return
    kept = [a for group in vllm.arg_groups(cfg.vllmArgs) if not vllm.release_args_problems(group, release)
            for a in group]
    fix = p.set_cmd("vllmArgs", "'" + json.dumps(kept) + "'")
    for problem in problems:
        p.add("vllmArgs", f"{problem} (release read from the image tag or vllmVersion)", fix)


def fixed_kv_cache(
    cfg: StackConfig, p: Findings, release: vllm_releases.ReleaseProfile | None, plan: sizing.Plan | None
) -> int | None:
    """`fixedKvCache`: the planner's KV bytes per GPU for --kv-cache-memory-bytes (None: not asked)."""
    if not cfg.fixedKvCache or release is None or plan is None:
        return None
    if not release.kv_cache_memory_bytes:
        p.add("fixedKvCache", f"vLLM {release.label} has no --kv-cache-memory-bytes "
              "(from 0.11, vllm PR #21489): use a newer vllmImage or turn it off", value="false")
        return None
    if plan.kv_cache_bytes_per_gpu <= 0:
        p.add("fixedKvCache", "the plan leaves no KV cache to fix", value="false")
        return None
    return plan.kv_cache_bytes_per_gpu
