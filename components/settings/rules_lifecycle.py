"""Rules of the app's lifecycle: how long it may take to serve, whether a failed app is kept."""

from __future__ import annotations

from components import catalog, vllm
from components.settings.environments import EnvironmentDefaults
from components.settings.keys import bounds
from components.settings.rules_base import RuleContext


class LifecycleRules(RuleContext):
    """Readiness deadline and failed apps."""

    def _readiness(self, defaults: EnvironmentDefaults, model: catalog.ModelSpec | None) -> int | None:
        """The provider's deadline; never shorter than the platform's progress deadline for the
        model (download + load), or a healthy start-up would be reported as a failure."""
        deadline = vllm.progress_deadline_seconds(model) if model is not None else 0
        explicit = self.cfg.readinessTimeoutSeconds
        if explicit == 0:
            return max(defaults.readiness_timeout_seconds, deadline)
        low, high = bounds("readinessTimeoutSeconds")
        if not low <= explicit <= high:
            self.p.add("readinessTimeoutSeconds", f"must be {low}..{high} seconds, or 0 for the "
                       "environment's "
                       f"(got {explicit})", value=str(max(defaults.readiness_timeout_seconds, deadline)))
            return None
        if explicit < deadline:
            assert model is not None
            self.p.add("readinessTimeoutSeconds", f"{explicit} s is shorter than the {deadline} s that "
                       f"{model.hf_id} may need to download and load", value=str(deadline))
            return None
        return explicit

    def _keep_failed(self, defaults: EnvironmentDefaults) -> bool:
        text = self.cfg.keepFailedApps.strip().lower()
        if text == "":
            return defaults.keep_failed_apps
        if text not in ("true", "false"):
            self.p.add("keepFailedApps", f"must be true or false (got {self.cfg.keepFailedApps!r})",
                       value="true")
            return defaults.keep_failed_apps
        return text == "true"
