"""Custom-metric autoscaling of an app, the way AI Deploy's KEDA metrics-API scaler does it.

An app whose `scalingStrategy.automatic` has `customMetrics` is scaled from the metric its own
server exposes (`apiUrl` with `<SELF>`, here the vLLM stand-in's `/metrics` of the same app):
- the value is read from the Prometheus text (`valueLocation` names the metric; its samples are
  summed across label sets);
- the stand-in serves all replicas of an app from one process, so its value is the app's total
  and the load is taken as evenly spread: every aggregation (AVERAGE, MAX, MIN, SUM) then asks
  for the same count, ceil(total / targetValue), like the HPA's AverageValue target;
- the count is bounded by replicasMin..replicasMax (the quota already holds replicasMax);
- HPA stabilization: a scale-up takes the lowest recommendation of the last
  scaleUpStabilizationWindowSeconds, a scale-down the highest of the last
  scaleDownStabilizationWindowSeconds, so a brief lull does not drop a replica;
- a change of replicas rolls the app (RUNNING -> SCALING -> RUNNING, still serving).

Like the state machine (lifecycle.py) it runs on reads, with no background task: each read of an
app samples its metric and applies the decision; the recommendations are kept in the app's
record (so they survive a restart of the emulator). Fast timings scale the windows down like the
other durations.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)")
MAX_RECOMMENDATIONS = 512  # bounded history per app


def metric_value(text: str, name: str) -> float | None:
    """The sum of the samples of metric `name` in Prometheus text; None when it is absent."""
    total, found = 0.0, False
    for line in text.splitlines():
        if line.startswith("#"):
            continue
        match = SAMPLE.match(line)
        if match and match.group(1) == name:
            try:
                value = float(match.group(3))
            except ValueError:
                continue
            if math.isfinite(value):
                total, found = total + value, True
    return total if found else None


def wanted(total: float, target: float, low: int, high: int) -> int:
    """Replicas that bring the metric per replica to the target, within low..high."""
    count = math.ceil(total / target - 1e-9) if target > 0 else high
    return max(low, min(high, max(count, 1 if low >= 1 else 0)))


def stabilized(current: int, recommendations: Sequence[tuple[float, int]], now: float,
               up_window: float, down_window: float) -> int:
    """The HPA's choice from the recommendations (time, replicas), the newest last."""
    if not recommendations:
        return current
    newest = recommendations[-1][1]
    if newest > current:
        within = [r for t, r in recommendations if now - t <= up_window] or [newest]
        return max(current, min(within))
    if newest < current:
        within = [r for t, r in recommendations if now - t <= down_window] or [newest]
        return min(current, max(within))
    return current


def custom_metrics(spec: dict[str, Any]) -> dict[str, Any] | None:
    automatic = spec.get("scalingStrategy", {}).get("automatic")
    return automatic.get("customMetrics") if isinstance(automatic, dict) else None


def decide(record: dict[str, Any], metrics_text: str, now: float, time_scale: float) -> int | None:
    """Sample the app's metric, remember the recommendation, and return the replicas it should
    have now (None when it does not autoscale on a custom metric or the metric is absent)."""
    custom = custom_metrics(record["spec"])
    if custom is None:
        return None
    automatic = record["spec"]["scalingStrategy"]["automatic"]
    low, high = int(automatic["replicasMin"]), int(automatic["replicasMax"])
    value = metric_value(metrics_text, str(custom["valueLocation"]))
    state = record.setdefault("autoscaler", {"replicas": max(low, 1), "recommendations": []})
    current = int(state["replicas"])
    if value is None:
        return current
    history: list[list[float]] = state["recommendations"]
    history.append([now, wanted(value, float(custom["targetValue"]), max(low, 1), high)])
    del history[:-MAX_RECOMMENDATIONS]
    up = float(automatic.get("scaleUpStabilizationWindowSeconds") or 0) * time_scale
    down = float(automatic.get("scaleDownStabilizationWindowSeconds") or 0) * time_scale
    pairs = [(t, int(r)) for t, r in history]
    state["replicas"] = stabilized(current, pairs, now, up, down)
    return int(state["replicas"])
