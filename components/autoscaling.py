"""Autoscaling on what a GPU server is busy with: AI Deploy's custom-metric scaling on vLLM's own
Prometheus metrics.

AI Deploy scales on CPU or RAM (`resourceType`), or on a custom metric (`customMetrics`: a URL,
its format, where the value sits in it, a target and an aggregation across replicas; the
platform reads it with KEDA's metrics-API scaler, and `<SELF>` stands for each replica). A
GPU-bound vLLM server barely moves CPU or RAM, so the useful signals are vLLM's own gauges on
`/metrics` of the app's port: requests waiting or running, and the KV cache in use. Their names
are those of the vLLM releases this project supports (0.10 and later: `vllm:kv_cache_usage_perc`
replaced `vllm:gpu_cache_usage_perc` in 0.10 and the older name is gone from 0.11).

Pure: the settings choose, this module renders the `scalingStrategy.automatic` body.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

RESOURCE_METRICS = ("CPU", "RAM")
# Stack key value -> (vLLM gauge, how the stack's integer target maps to the gauge's unit).
VLLM_METRICS: Mapping[str, tuple[str, float]] = {
    "REQUESTS_WAITING": ("vllm:num_requests_waiting", 1.0),  # requests queued per replica
    "REQUESTS_RUNNING": ("vllm:num_requests_running", 1.0),  # requests in flight per replica
    "KV_CACHE_USAGE": ("vllm:kv_cache_usage_perc", 0.01),  # percent of the KV cache (a 0..1 gauge)
}
METRICS = (*RESOURCE_METRICS, *VLLM_METRICS)
AGGREGATIONS = ("AVERAGE", "MAX", "MIN", "SUM")
TARGET_UNITS: Mapping[str, str] = {
    "CPU": "percent of CPU",
    "RAM": "percent of RAM",
    "REQUESTS_WAITING": "requests waiting per replica",
    "REQUESTS_RUNNING": "requests running per replica",
    "KV_CACHE_USAGE": "percent of the KV cache per replica",
}


def metrics_url(port: int) -> str:
    """Where each replica serves vLLM's metrics, in AI Deploy's notation for "the replica itself"."""
    return f"http://<SELF>:{port}/metrics"


def automatic_strategy(
    *,
    min_replicas: int,
    max_replicas: int,
    metric: str,
    target: int,
    aggregation: str,
    cooldown_seconds: int,
    scale_up_window_seconds: int,
    scale_down_window_seconds: int,
    metrics_port: int,
) -> dict[str, Any]:
    """The API's `scalingStrategy.automatic` body for one of `METRICS`."""
    body: dict[str, Any] = {
        "replicasMin": min_replicas,
        "replicasMax": max_replicas,
        "cooldownPeriodSeconds": cooldown_seconds,
    }
    if metric in RESOURCE_METRICS:
        # As before the vLLM metrics: CPU/RAM stacks keep the platform's own windows.
        body.update(resourceType=metric, averageUsageTarget=target)
        return body
    body["scaleUpStabilizationWindowSeconds"] = scale_up_window_seconds
    body["scaleDownStabilizationWindowSeconds"] = scale_down_window_seconds
    gauge, unit = VLLM_METRICS[metric]
    body["customMetrics"] = {
        "apiUrl": metrics_url(metrics_port),
        "format": "PROMETHEUS",
        "valueLocation": gauge,
        "targetValue": round(target * unit, 6),
        "aggregationType": aggregation,
    }
    return body
