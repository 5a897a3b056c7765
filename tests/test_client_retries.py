"""The retry policy against the emulator's fault route (`POST /_emulator/faults`), over real HTTP."""

from __future__ import annotations

import socket
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from components.ovhai import ApiConnectionError, ApiTimeout, OvhAiClient, RateLimited, ServerError
from emulator.runner import RunningEmulator
from tests.conftest import ADMIN_TOKEN

CPU = {"image": "ghcr.io/example/echo:1", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}}


class Sleeps:
    """A real sleep that remembers what it was asked (the tests check the waits chosen)."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        time.sleep(seconds)


def control(emu: RunningEmulator, method: str, path: str, body: Any = None) -> Any:
    answer = httpx.request(
        method, f"{emu.base_url}{path}", json=body, headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    answer.raise_for_status()
    return answer.json() if answer.content else None


def script(emu: RunningEmulator, faults: list[dict[str, Any]], method: str, prefix: str) -> None:
    control(
        emu,
        "POST",
        "/_emulator/faults",
        {"faults": faults, "match": {"method": method, "pathPrefix": prefix}},
    )


def count(emu: RunningEmulator, route: str) -> int:
    return int(control(emu, "GET", "/_emulator/requests")["byRoute"].get(route, 0))


@pytest.fixture
def world(fresh_emulator: RunningEmulator) -> Iterator[tuple[RunningEmulator, str]]:
    """A fresh emulator with one app; request counters reset."""
    with OvhAiClient(fresh_emulator.base_url, ADMIN_TOKEN) as client:
        app = client.create_app({**CPU, "name": "retry-target"})
    control(fresh_emulator, "DELETE", "/_emulator/requests")
    yield fresh_emulator, app.id
    control(fresh_emulator, "DELETE", "/_emulator/faults")


def test_429_then_success_honours_retry_after(world: tuple[RunningEmulator, str]) -> None:
    emu, app_id = world
    sleeps = Sleeps()
    script(emu, [{"status": 429, "retryAfter": 1, "message": "slow down"}], "GET", f"/v1/app/{app_id}")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN, sleep=sleeps) as client:
        assert client.get_app(app_id).id == app_id
    assert sleeps.calls == [1.0]
    assert count(emu, "GET /v1/app/{id}") == 2


def test_503_twice_then_success(world: tuple[RunningEmulator, str]) -> None:
    emu, app_id = world
    sleeps = Sleeps()
    script(emu, [{"status": 503}, {"status": 503}], "PUT", f"/v1/app/{app_id}/label")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN, sleep=sleeps, backoff_initial=0.1) as client:
        client.set_app_label(app_id, "k", "v")
        assert client.get_app(app_id).labels["k"] == "v"
    assert len(sleeps.calls) == 2 and all(0 < s <= 8.0 for s in sleeps.calls)
    assert sleeps.calls[1] >= 0.2  # exponential: the second wait starts from twice the first base
    assert count(emu, "PUT /v1/app/{id}/label") == 3


def test_gives_up_after_the_attempt_budget_with_a_clear_error(world: tuple[RunningEmulator, str]) -> None:
    emu, app_id = world
    script(emu, [{"status": 503, "message": "maintenance"}] * 5, "GET", f"/v1/app/{app_id}")
    client = OvhAiClient(emu.base_url, ADMIN_TOKEN, max_attempts=3, backoff_initial=0.05)
    with client, pytest.raises(ServerError) as caught:
        client.get_app(app_id)
    error = caught.value
    assert error.status == 503 and error.attempts == 3
    assert str(error).startswith(
        f"GET /v1/app/{app_id}: 503 Service Unavailable: maintenance (gave up after 3 attempts in "
    )
    assert count(emu, "GET /v1/app/{id}") == 3


def test_gives_up_at_once_when_retry_after_exceeds_the_time_budget(
    world: tuple[RunningEmulator, str],
) -> None:
    emu, app_id = world
    sleeps = Sleeps()
    script(emu, [{"status": 429, "retryAfter": 30}], "GET", f"/v1/app/{app_id}")
    client = OvhAiClient(emu.base_url, ADMIN_TOKEN, max_retry_seconds=5, sleep=sleeps)
    with client, pytest.raises(RateLimited) as caught:
        client.get_app(app_id)
    assert sleeps.calls == []  # never sleeps past the budget
    assert caught.value.retry_after == 30 and "gave up after 1 attempt in" in str(caught.value)


def test_dropped_response_on_get_is_retried(world: tuple[RunningEmulator, str]) -> None:
    emu, app_id = world
    script(emu, [{"drop": True}], "GET", f"/v1/app/{app_id}")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN, backoff_initial=0.05) as client:
        assert client.get_app(app_id).id == app_id
    assert count(emu, "GET /v1/app/{id}") == 2


def test_read_timeout_on_get_is_retried(world: tuple[RunningEmulator, str]) -> None:
    emu, app_id = world
    script(emu, [{"delaySeconds": 2}], "GET", f"/v1/app/{app_id}")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN, timeout=0.5, backoff_initial=0.05) as client:
        assert client.get_app(app_id).id == app_id
    assert count(emu, "GET /v1/app/{id}") == 2


def test_post_5xx_is_not_retried(world: tuple[RunningEmulator, str]) -> None:
    emu, _ = world
    script(emu, [{"status": 503}], "POST", "/v1/app")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN) as client, pytest.raises(ServerError) as caught:
        client.create_app({**CPU, "name": "never-twice"})
    assert caught.value.attempts == 1 and "gave up" not in str(caught.value)
    assert count(emu, "POST /v1/app") == 1


def test_post_dropped_response_is_recognisable_and_the_app_can_be_adopted(
    world: tuple[RunningEmulator, str],
) -> None:
    emu, _ = world
    key = uuid.uuid4().hex[:12]
    script(emu, [{"drop": True}], "POST", "/v1/app")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN) as client:
        with pytest.raises(ApiConnectionError) as caught:
            client.create_app({**CPU, "name": "adopt-me", "labels": {"test/key": key}})
        assert caught.value.maybe_applied  # the server may have acted: look before creating again
        assert "POST /v1/app: connection error:" in str(caught.value)
        adopted = client.list_apps(label_selector=f"test/key={key}")
        assert [a.spec.name for a in adopted] == ["adopt-me"]
    assert count(emu, "POST /v1/app") == 1


def test_post_read_timeout_is_an_api_timeout(world: tuple[RunningEmulator, str]) -> None:
    emu, _ = world
    script(emu, [{"delaySeconds": 1.5}], "POST", "/v1/app")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN, timeout=0.5) as client:
        with pytest.raises(ApiTimeout) as caught:
            client.create_app({**CPU, "name": "slow-create"})
        assert caught.value.maybe_applied
    assert count(emu, "POST /v1/app") == 1


def test_post_429_is_retried_because_the_server_did_not_act(world: tuple[RunningEmulator, str]) -> None:
    emu, _ = world
    script(emu, [{"status": 429, "retryAfter": 0.2}], "POST", "/v1/app")
    with OvhAiClient(emu.base_url, ADMIN_TOKEN) as client:
        app = client.create_app({**CPU, "name": "after-429"})
        assert [a.id for a in client.list_apps() if a.spec.name == "after-429"] == [app.id]
    assert count(emu, "POST /v1/app") == 2


def test_connection_refused_is_retried_then_reported() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    sleeps = Sleeps()
    with (
        OvhAiClient(
            f"http://127.0.0.1:{port}", "tok", max_attempts=3, backoff_initial=0.01, sleep=sleeps
        ) as client,
        pytest.raises(ApiConnectionError) as caught,
    ):
        client.list_apps()
    assert not caught.value.maybe_applied and caught.value.attempts == 3 and len(sleeps.calls) == 2
    assert "GET /v1/app: connection error:" in str(caught.value) and "tok" not in str(caught.value)
