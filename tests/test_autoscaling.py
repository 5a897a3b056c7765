"""Autoscaling on vLLM's own metrics: the stack keys, the API body, and the emulator scaling an
app's replicas from what its stand-in serves (over real HTTP on loopback)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from components import autoscaling
from components.ovhai import OvhAiClient
from components.settings import SettingsError, load_settings
from emulator import autoscaler
from emulator.runner import RunningEmulator


def test_a_vllm_metric_becomes_a_custom_metric_of_the_app() -> None:
    body = autoscaling.automatic_strategy(
        min_replicas=1, max_replicas=3, metric="KV_CACHE_USAGE", target=80, aggregation="MAX",
        cooldown_seconds=300, scale_up_window_seconds=0, scale_down_window_seconds=600, metrics_port=8000)
    assert body["customMetrics"] == {
        "apiUrl": "http://<SELF>:8000/metrics", "format": "PROMETHEUS",
        "valueLocation": "vllm:kv_cache_usage_perc", "targetValue": 0.8, "aggregationType": "MAX"}
    assert "resourceType" not in body and body["scaleDownStabilizationWindowSeconds"] == 600
    cpu = autoscaling.automatic_strategy(
        min_replicas=1, max_replicas=3, metric="CPU", target=75, aggregation="AVERAGE",
        cooldown_seconds=300, scale_up_window_seconds=0, scale_down_window_seconds=300, metrics_port=8000)
    assert cpu["resourceType"] == "CPU" and cpu["averageUsageTarget"] == 75 and "customMetrics" not in cpu


SEED = {"model": "mistral-small-24b", "gpuFlavor": "l40s-1-gpu", "gpuCount": "2",
        "maxReplicas": "2", "vllmImage": "vllm/vllm-openai:v0.10.1.1"}


def settings(**overrides: str) -> Any:
    return load_settings({**SEED, **overrides}, stack="x-staging", secret_keys=(),
                         environ={"HF_TOKEN": "hf_x"}, provider_config={})


def test_stack_keys_and_environment_defaults() -> None:
    settings_ = settings(scalingMetric="REQUESTS_WAITING", scalingTarget="4")
    wire = settings_.scaling.to_wire(metrics_port=8000)["automatic"]
    assert wire["customMetrics"]["valueLocation"] == "vllm:num_requests_waiting"
    assert wire["customMetrics"]["targetValue"] == 4
    assert wire["scaleDownStabilizationWindowSeconds"] == 300  # staging's default
    with pytest.raises(SettingsError) as error:
        settings(scalingAggregation="MEDIAN", scaleDownWindowSeconds="7200")
    text = str(error.value)
    assert "scalingAggregation" in text and "scaleDownWindowSeconds" in text and "pulumi config set" in text


def test_the_hpa_rules_of_the_emulator() -> None:
    text = 'vllm:num_requests_running{model_name="m"} 5.0\nvllm:num_requests_running{model_name="n"} 1\n'
    assert autoscaler.metric_value(text, "vllm:num_requests_running") == 6.0
    assert autoscaler.metric_value(text, "vllm:num_requests_waiting") is None
    assert autoscaler.wanted(6, 2, 1, 10) == 3 and autoscaler.wanted(6, 2, 1, 2) == 2
    assert autoscaler.wanted(0, 2, 1, 3) == 1
    # Down only when every recommendation of the window is lower; up at once with no window.
    recs = [(0.0, 3), (5.0, 1)]
    assert autoscaler.stabilized(3, recs, 6.0, 0, 10) == 3
    assert autoscaler.stabilized(3, recs, 11.0, 0, 10) == 1
    assert autoscaler.stabilized(1, [(0.0, 3)], 0.0, 0, 10) == 3


def autoscaled_spec() -> dict[str, Any]:
    return {
        "name": "autoscaled", "image": "vllm/vllm-openai:v0.10.1.1",
        "command": ["vllm", "serve", "org/model", "--served-model-name", "m"],
        "resources": {"flavor": "l4-1-gpu", "gpu": 1}, "defaultHttpPort": 8000, "unsecureHttp": True,
        "scalingStrategy": {"automatic": {
            "replicasMin": 1, "replicasMax": 3, "scaleUpStabilizationWindowSeconds": 0,
            "scaleDownStabilizationWindowSeconds": 150,  # x 0.8/60 in fast timings: 2 s
            "customMetrics": {"apiUrl": "http://<SELF>:8000/metrics", "format": "PROMETHEUS",
                              "valueLocation": "vllm:num_requests_running", "targetValue": 2,
                              "aggregationType": "AVERAGE"}}},
    }


def test_a_load_adds_replicas_and_the_window_removes_them(emulator: RunningEmulator) -> None:
    with OvhAiClient(emulator.base_url, emulator.admin_token) as api:
        app = api.create_app(autoscaled_spec())
        try:
            api.wait_for_app(app.id, timeout=30)
            url = str(api.get_app(app.id).status.url)
            seen: list[int] = []

            async def load() -> None:
                async with httpx.AsyncClient(timeout=60) as http:
                    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
                            "max_tokens": 300, "stream": True,
                            "ignore_eos": True}  # the whole 300 tokens: a load the poll sees

                    async def one() -> None:
                        async with http.stream("POST", f"{url}/v1/chat/completions", json=body) as r:
                            async for _ in r.aiter_bytes():
                                pass

                    async def watch() -> None:
                        for _ in range(20):
                            seen.append(api.get_app(app.id).status.available_replicas or 0)
                            await asyncio.sleep(0.15)

                    await asyncio.gather(*(one() for _ in range(6)), watch())

            # A loop of its own: asyncio.run would unset the current loop that Pulumi's mocks use.
            loop = asyncio.new_event_loop()
            try:
                loop.run_until_complete(load())
            finally:
                loop.close()
            assert max(seen) == 3, seen  # 6 requests running / 2 per replica
            deadline = time.monotonic() + 30
            while (api.get_app(app.id).status.available_replicas or 0) != 1:
                assert time.monotonic() < deadline, "did not scale back down after the window"
                time.sleep(0.3)
        finally:
            api.delete_app(app.id, force=True)
