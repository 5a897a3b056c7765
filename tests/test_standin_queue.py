"""The stand-in's request queue: at most --max-num-seqs requests run per replica, the others wait,
/metrics shows both, and the emulator's autoscaler on vllm:num_requests_waiting adds replicas that
take the waiting requests in (real HTTP on loopback against `python -m emulator`).

vLLM's defaults (vllm/engine/arg_utils.py `get_batch_defaults`): --max-num-seqs 1024 for the
OpenAI server on a GPU of >= 70 GiB that is not an A100, else 256; clamped to
--max-num-batched-tokens; the V1 scheduler admits first come, first served.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx

from components.ovhai import OvhAiClient
from emulator.autoscaler import metric_value
from emulator.runner import RunningEmulator
from emulator.standin_queue import GIB, RequestQueue, max_num_seqs, max_num_seqs_of


def test_the_default_follows_the_gpu_like_vllm() -> None:
    h100 = {"gpuModel": "H100", "gpuMemory": 80 * GIB}
    a100 = {"gpuModel": "A100", "gpuMemory": 80 * GIB}
    l40s = {"gpuModel": "L40S", "gpuMemory": 48 * GIB}
    assert max_num_seqs(None, None, h100) == 1024
    assert max_num_seqs(None, None, a100) == 256  # PR #17885: A100 keeps the small defaults
    assert max_num_seqs(None, None, l40s) == 256
    assert max_num_seqs(None, 128, l40s) == 128  # clamped to --max-num-batched-tokens
    assert max_num_seqs(8, 128, h100) == 8
    spec = {"command": ["vllm", "serve", "m", "--max-num-seqs=3"], "resources": l40s}
    assert max_num_seqs_of(spec) == 3
    shell = {"command": ["bash", "-c", "vllm serve m --max-num-seqs 5 && true"], "resources": l40s}
    assert max_num_seqs_of(shell) == 5
    assert max_num_seqs_of({"command": ["vllm", "serve", "m"], "resources": h100}) == 1024


def test_first_come_first_served_and_a_cancelled_waiter_leaves_the_line() -> None:
    async def scenario() -> None:
        queue = RequestQueue()
        order: list[int] = []
        gate = asyncio.Event()

        async def request(index: int) -> None:
            async with queue.slot(lambda: 1):
                order.append(index)
                await gate.wait()

        first = asyncio.create_task(request(0))
        await asyncio.sleep(0.01)
        rest = [asyncio.create_task(request(i)) for i in (1, 2, 3)]
        await asyncio.sleep(0.01)
        assert (queue.running, queue.waiting) == (1, 3)
        rest[0].cancel()  # a client that goes away while waiting
        await asyncio.sleep(0.01)
        assert queue.waiting == 2
        gate.set()
        await asyncio.gather(first, rest[1], rest[2])
        assert order == [0, 2, 3] and (queue.running, queue.waiting) == (0, 0)

    asyncio.run(scenario())


def spec(max_seqs: int, automatic: dict[str, Any] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {
        "name": "queued", "image": "vllm/vllm-openai:v0.10.1.1",
        "command": ["vllm", "serve", "org/model", "--served-model-name", "m",
                    "--max-num-seqs", str(max_seqs)],
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "defaultHttpPort": 8000, "unsecureHttp": True,
    }
    if automatic is not None:
        body["scalingStrategy"] = {"automatic": automatic}
    return body


CHAT = {"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 150,
        "ignore_eos": True, "stream": True}


async def _stream(http: httpx.AsyncClient, url: str) -> tuple[float, int]:
    """(seconds to the first chunk, content chunks) of one streamed chat completion."""
    started, first, chunks = time.monotonic(), 0.0, 0
    async with http.stream("POST", f"{url}/v1/chat/completions", json=CHAT) as response:
        assert response.status_code == 200
        async for line in response.aiter_lines():
            if line.startswith("data: {") and '"content": "' in line and '"content": ""' not in line:
                chunks += 1
                first = first or time.monotonic() - started
    return first, chunks


def _run(coroutine: Any) -> Any:
    loop = asyncio.new_event_loop()  # a loop of its own (see test_autoscaling.py)
    try:
        return loop.run_until_complete(coroutine)
    finally:
        loop.close()


def _gauges(text: str) -> tuple[float | None, float | None]:
    return metric_value(text, "vllm:num_requests_running"), metric_value(text, "vllm:num_requests_waiting")


def test_max_num_seqs_caps_running_and_the_rest_wait(emulator: RunningEmulator) -> None:
    with OvhAiClient(emulator.base_url, emulator.admin_token) as api:
        app = api.create_app(spec(2))
        try:
            api.wait_for_app(app.id, timeout=30)
            url = str(api.get_app(app.id).status.url)
            seen: list[tuple[float | None, float | None]] = []

            async def load() -> list[tuple[float, int]]:
                async with httpx.AsyncClient(timeout=60) as http:
                    async def watch() -> None:
                        for _ in range(12):
                            await asyncio.sleep(0.25)
                            seen.append(_gauges((await http.get(f"{url}/metrics")).text))

                    results = await asyncio.gather(*(_stream(http, url) for _ in range(5)), watch())
                    return list(results[:5])

            results = _run(load())
            assert (2.0, 3.0) in seen, seen  # two run (--max-num-seqs 2), three wait
            assert all(running is not None and running <= 2 for running, _ in seen), seen
            assert all(chunks == 150 for _, chunks in results)  # ignore_eos: the full max_tokens
            firsts = sorted(first for first, _ in results)
            # The last ones in line waited for two requests to finish before their first token.
            assert firsts[0] < 0.5 and firsts[-1] > 2 * 150 * 0.01 * 0.9, firsts
            running, waiting = _gauges(httpx.get(f"{url}/metrics").text)
            assert (running, waiting) == (0.0, 0.0)
        finally:
            api.delete_app(app.id, force=True)
            api.wait_for_app_gone(app.id, timeout=60)  # frees its quota for the next test


def test_the_autoscaler_on_requests_waiting_adds_replicas_that_drain_the_queue(
    emulator: RunningEmulator,
) -> None:
    automatic = {
        "replicasMin": 1, "replicasMax": 3, "scaleUpStabilizationWindowSeconds": 0,
        "scaleDownStabilizationWindowSeconds": 150,  # x 0.8/60 in fast timings: 2 s
        "customMetrics": {"apiUrl": "http://<SELF>:8000/metrics", "format": "PROMETHEUS",
                          "valueLocation": "vllm:num_requests_waiting", "targetValue": 2,
                          "aggregationType": "AVERAGE"},
    }
    with OvhAiClient(emulator.base_url, emulator.admin_token) as api:
        app = api.create_app(spec(2, automatic))
        try:
            api.wait_for_app(app.id, timeout=30)
            url = str(api.get_app(app.id).status.url)
            replicas: list[int] = []
            gauges: list[tuple[float | None, float | None]] = []

            async def load() -> None:
                async with httpx.AsyncClient(timeout=60) as http:
                    async def watch() -> None:
                        for _ in range(16):
                            await asyncio.sleep(0.15)
                            replicas.append(api.get_app(app.id).status.available_replicas or 0)
                            gauges.append(_gauges((await http.get(f"{url}/metrics")).text))

                    await asyncio.gather(*(_stream(http, url) for _ in range(8)), watch())

            _run(load())
            # 8 requests, 2 run: 6 wait -> ceil(6 / 2) = 3 replicas, which run 6 at once.
            assert max(replicas) == 3, replicas
            assert max(running or 0 for running, _ in gauges) > 2, gauges
            deadline = time.monotonic() + 30
            while (api.get_app(app.id).status.available_replicas or 0) != 1:
                assert time.monotonic() < deadline, "did not scale back down after the window"
                time.sleep(0.3)
        finally:
            api.delete_app(app.id, force=True)
            api.wait_for_app_gone(app.id, timeout=60)  # frees its quota for the next test
