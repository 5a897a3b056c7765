"""Rules of the app's lifecycle: how long it may take to serve, whether a failed app is kept."""

from __future__ import annotations

import math

from components import cache, catalog, vllm
from components.settings.environments import EnvironmentDefaults
from components.settings.keys import StackConfig, bounds
from components.settings.rules_base import Findings


def readiness(
    cfg: StackConfig, defaults: EnvironmentDefaults, model: catalog.ModelSpec | None, p: Findings
) -> int | None:
    """The provider's deadline; never shorter than the platform's progress deadline for the
    model (download + load), or a healthy start-up would be reported as a failure."""
    deadline = vllm.progress_deadline_seconds(model) if model is not None else 0
    explicit = cfg.readinessTimeoutSeconds
    if explicit == 0:
        return max(defaults.readiness_timeout_seconds, deadline)
    low, high = bounds("readinessTimeoutSeconds")
    if not low <= explicit <= high:
        p.add("readinessTimeoutSeconds", f"must be {low}..{high} seconds, or 0 for the "
              "environment's "
              f"(got {explicit})", value=str(max(defaults.readiness_timeout_seconds, deadline)))
        return None
    if explicit < deadline:
        assert model is not None
        p.add("readinessTimeoutSeconds", f"{explicit} s is shorter than the {deadline} s that "
              f"{model.hf_id} may need to download and load", value=str(deadline))
        return None
    return explicit


# A start from the bucket: the estimate (components/cache.py: pull + load) times this margin, since
# the bucket's bandwidth is an estimate, rounded up to the minute and never under the floor (the
# image pull and the platform's phases alone take minutes on a cold node).
BUCKET_DEADLINE_MARGIN = 1.5
BUCKET_DEADLINE_FLOOR_SECONDS = 600


def bucket_readiness(model: catalog.ModelSpec, hub_deadline: int) -> int:
    """The deadline of a start that pulls the weights from the cache bucket: never longer than the
    Hub deadline (`readiness` above), which still covers every start without a pushed prefix."""
    estimate = cache.estimate_starts(model).later_start * BUCKET_DEADLINE_MARGIN
    seconds = max(BUCKET_DEADLINE_FLOOR_SECONDS, math.ceil(estimate / 60.0) * 60)
    return min(hub_deadline, seconds)


def keep_failed(cfg: StackConfig, defaults: EnvironmentDefaults, p: Findings) -> bool:
    text = cfg.keepFailedApps.strip().lower()
    if text == "":
        return defaults.keep_failed_apps
    if text not in ("true", "false"):
        p.add("keepFailedApps", f"must be true or false (got {cfg.keepFailedApps!r})",
              value="true")
        return defaults.keep_failed_apps
    return text == "true"
