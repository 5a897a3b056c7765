"""The resolved settings of a stack: what the deployment is built from, every default applied."""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from components import autoscaling, catalog, pricing, sizing, vllm
from components.settings.environments import Environment
from components.settings.keys import DEPLOYMENT_LABEL

COST_NOTE = (
    "estimate: per-GPU hourly prices (see source and date) while the app is SCALING or RUNNING, "
    "excl. tax; a stack can override prices"
)


@dataclass(frozen=True)
class VolumeSettings:
    """One app volume; `container`/`alias` set for Object Storage, else a standalone disk."""

    mount_path: str
    permission: Literal["RO", "RW", "RWD"] = "RW"
    cache: bool = False
    container: str | None = None
    alias: str | None = None
    prefix: str | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.container is not None:
            data_store: dict[str, Any] = {"alias": self.alias, "container": self.container}
            if self.prefix:
                data_store["prefix"] = self.prefix
            source: dict[str, Any] = {"dataStore": data_store}
        else:
            source = {"standalone": {}}
        return {
            "mountPath": self.mount_path,
            "permission": self.permission,
            "cache": self.cache,
            "volumeSource": source,
        }


@dataclass(frozen=True)
class CacheSettings:
    """The shared model cache (`cacheStack`): the platform stack and this model's prefix in it."""

    stack: str  # <org>/platform/<region>, read through a StackReference
    prefix: str  # under the platform's cachePrefix (components.cache.model_prefix or cachePrefix)
    explicit_prefix: bool = False


@dataclass(frozen=True)
class ScalingSettings:
    """Fixed replicas, or autoscaling between min and max (min 0: scale to zero)."""

    replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    metric: str = "CPU"
    target: int = 75
    cooldown_seconds: int = 300
    aggregation: str = "AVERAGE"
    scale_up_window_seconds: int = 0
    scale_down_window_seconds: int = 300

    @property
    def automatic(self) -> bool:
        return self.max_replicas is not None

    @property
    def billed_replicas(self) -> tuple[int, int]:
        """(least, most) replicas running at once."""
        if self.automatic:
            assert self.min_replicas is not None and self.max_replicas is not None
            return self.min_replicas, self.max_replicas
        assert self.replicas is not None
        return self.replicas, self.replicas

    def to_wire(self, metrics_port: int = 8000) -> dict[str, Any]:
        """The API's scalingStrategy; a vLLM metric is read from `metrics_port` of each replica."""
        if not self.automatic:
            return {"fixed": {"replicas": self.replicas}}
        assert self.min_replicas is not None and self.max_replicas is not None
        return {
            "automatic": autoscaling.automatic_strategy(
                min_replicas=self.min_replicas,
                max_replicas=self.max_replicas,
                metric=self.metric,
                target=self.target,
                aggregation=self.aggregation,
                cooldown_seconds=self.cooldown_seconds,
                scale_up_window_seconds=self.scale_up_window_seconds,
                scale_down_window_seconds=self.scale_down_window_seconds,
                metrics_port=metrics_port,
            )
        }


class Settings(BaseModel):
    """A stack's settings, every rule checked and every default applied."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    project: str
    stack: str
    environment: Environment
    model: catalog.ModelSpec
    engine: vllm.EngineOptions  # what the stack chose for vLLM; the plan fixes the rest
    app_name: str
    plan: sizing.Plan
    plans: tuple[sizing.Plan, ...]  # what the planner weighed, for the reviewer's table
    image: str
    scaling: ScalingSettings
    volumes: tuple[VolumeSettings, ...]
    cache_path: str
    token_role: Literal["read", "operator"]
    operator_token: bool
    token_rotation: str
    unsecure_http: bool
    readiness_timeout_seconds: int
    keep_failed_apps: bool
    adopt_app_id: str  # an app made outside Pulumi for the first create to take over ("" : none)
    labels: dict[str, str]
    gpu_quota: int
    price_list: pricing.PriceList | None = None  # where the plans' prices come from
    hf_token: SecretStr | None = Field(default=None, repr=False)
    cache: CacheSettings | None = None  # the shared model cache, when the stack opts in
    warnings: tuple[str, ...] = ()

    @property
    def served_model_name(self) -> str:
        return self.engine.served_model_name or self.model.hf_id

    @property
    def deployment_label(self) -> tuple[str, str]:
        return DEPLOYMENT_LABEL, deployment_label_value(self.project, self.stack)

    @property
    def label_selector(self) -> str:
        key, value = self.deployment_label
        return f"{key}={value}"

    def price_source(self) -> dict[str, Any]:
        """`source` and `date` of the chosen plan's price (`date` null for the built-in estimates),
        the `subsidiary`, and `sourceNote`: the line under the planner's table."""
        prices = self.price_list or pricing.builtin_prices()
        source = prices.source_of(self.plan.flavor)
        return {
            "source": source,
            "date": prices.date if source == prices.source else None,
            "subsidiary": prices.subsidiary,
            "sourceNote": pricing.source_line(prices),
        }

    def estimated_hourly_cost(self) -> dict[str, Any]:
        """Per replica and for the replicas billed (min..max when autoscaling); an estimate."""
        per_replica = round(float(self.plan.hourly_cost), 4)
        low, high = self.scaling.billed_replicas
        cost: dict[str, Any] = {
            "amount": round(per_replica * low, 4),
            "perReplica": per_replica,
            "replicas": low,
            "currency": self.plan.currency,
            "note": COST_NOTE,
            **self.price_source(),
        }
        if high != low:
            cost["maxAmount"] = round(per_replica * high, 4)
            cost["maxReplicas"] = high
        return cost


def deployment_label_value(project: str, stack: str) -> str:
    """`<project>-<stack>` as a valid label value (63 chars, [A-Za-z0-9._-])."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{project}-{stack}").strip("-._")
    if len(value) > 63:
        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        value = value[:54].rstrip("-._") + "-" + digest
    return value
