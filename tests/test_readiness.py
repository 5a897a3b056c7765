"""The provider's wait (readiness.wait_until_ready) on the one engine, on a fake clock.

The API answers through `httpx.MockTransport` (a scripted state per second of fake time) and the
readiness probe is a function of fake time, so the pace of API reads and probes is exact.
"""

from __future__ import annotations

import io
import itertools
from collections.abc import Callable

import httpx

from components.ovhai.models import App
from components.resources.progress import Progress
from components.resources.readiness import CONFIRM_PAUSE, DEFAULT_POLICY, wait_until_ready
from tests.test_client_unit import FakeTime, app_body, mock_client

URL = "https://app-1.app.gra.ai.cloud.ovh.net"


def body(state: str) -> dict[str, object]:
    return {**app_body("app-1", state), "status": {"state": state, "url": URL}}


def run(
    fake: FakeTime,
    state_at: Callable[[float], str],
    probe_at: Callable[[float], bool],
    *,
    path: str = "/health",
    timeout: float = 600.0,
) -> tuple[str, App, str, list[float], list[float]]:
    """Wait on a scripted app; returns (kind, app, detail, API read times, probe times) from t=0."""
    start = fake.now
    reads: list[float] = []
    probes: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        reads.append(fake.now - start)
        return httpx.Response(200, json=body(state_at(fake.now - start)))

    def prober(url: str) -> tuple[bool, str]:
        assert url == URL + path
        probes.append(fake.now - start)
        ok = probe_at(fake.now - start)
        return ok, "" if ok else "HTTP 503"

    with mock_client(handler, sleep=fake.sleep, clock=fake.clock) as client:
        outcome = wait_until_ready(
            client,
            App.model_validate(body(state_at(0.0))),
            token="t",
            path=path,
            deadline=start + timeout,
            progress=Progress("m", io.StringIO()),
            prober=prober,
            sleep=fake.sleep,
            clock=fake.clock,
        )
    return outcome.kind, outcome.app, outcome.detail, reads, probes


def test_api_reads_back_off_without_reset_and_probes_keep_their_pace() -> None:
    fake = FakeTime()
    # A state change at 10 s does not bring the API pace back to 4 s (no reset on change).
    kind, app, detail, reads, probes = run(
        fake, lambda t: "QUEUED" if t < 10 else "SCALING", lambda t: False, timeout=100.0
    )
    assert kind == "timeout" and app.state == "SCALING"
    assert reads == [4.0, 12.0, 28.0, 58.0, 88.0, 100.0]  # the last one: fresh state at the deadline
    assert detail == "state SCALING, readiness path /health: HTTP 503"
    gaps = {round(b - a, 6) for a, b in itertools.pairwise(probes)}
    assert gaps <= {DEFAULT_POLICY.probe_interval, 0.0}  # every 0.5 s (twice at a read: before, after)


def test_ready_within_a_probe_interval_of_serving_with_one_confirming_read() -> None:
    fake = FakeTime()
    kind, app, _, reads, _ = run(
        fake, lambda t: "RUNNING" if t >= 41.2 else "SCALING", lambda t: t >= 41.2
    )
    assert kind == "ready" and app.state == "RUNNING"
    assert reads == [4.0, 12.0, 28.0, 41.5]  # 41.5: the look the probe asked for
    assert fake.now - 1000.0 - 41.2 <= DEFAULT_POLICY.probe_interval


def test_rolling_update_confirms_at_most_once_per_pause() -> None:
    fake = FakeTime()
    # Old replicas answer all along; the app is RUNNING again only at 7.2 s.
    kind, _, _, reads, _ = run(fake, lambda t: "RUNNING" if t >= 7.2 else "SCALING", lambda t: True)
    assert kind == "ready"
    assert reads[0] == 0.0 and reads[-1] <= 7.2 + CONFIRM_PAUSE
    assert all(b - a >= CONFIRM_PAUSE for a, b in itertools.pairwise(reads))


def test_without_a_path_running_is_ready_and_the_probe_is_never_called() -> None:
    fake = FakeTime()
    kind, _, _, reads, probes = run(fake, lambda t: "RUNNING" if t >= 5 else "SCALING", bool, path="")
    assert kind == "ready" and reads == [4.0, 12.0] and probes == []


def test_a_stop_state_ends_the_wait_at_the_read_that_sees_it() -> None:
    fake = FakeTime()
    kind, app, _, reads, _ = run(fake, lambda t: "FAILED" if t >= 3 else "INITIALIZING", lambda t: False)
    assert kind == "stopped" and app.state == "FAILED" and reads == [4.0]
