"""Client behaviour the emulator cannot produce, on `httpx.MockTransport`, and the poller on a fake clock.

MockTransport is used only for: a Retry-After given as an HTTP date, the regional `{items, metadata}`
list wrapper, a non-JSON error page from a proxy, a server that echoes the token, an object body on a
204-style route, the request headers, and the time budget measured on a fake clock.
"""

from __future__ import annotations

import email.utils
import json
import pickle
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from components import __version__
from components.ovhai import (
    ApiConnectionError,
    ApiError,
    Conflict,
    NotFound,
    OvhAiClient,
    RateLimited,
    ServerError,
    WaitTimeout,
    parse_retry_after,
)
from components.ovhai.waiting import Backoff, Observed, Watch, poll

TOKEN = "very-secret-token-value"


class FakeTime:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


def mock_client(handler: Callable[[httpx.Request], httpx.Response], **options: Any) -> OvhAiClient:
    return OvhAiClient(
        "https://gra.ai.cloud.ovh.net", TOKEN, transport=httpx.MockTransport(handler), **options
    )


def app_body(app_id: str, state: str = "RUNNING") -> dict[str, Any]:
    return {
        "id": app_id,
        "spec": {"image": "i", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}},
        "status": {"state": state},
    }


def test_headers_user_agent_bearer_and_timeout() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"name": "me"})

    with mock_client(handler, timeout=12.0) as client:
        assert client.me().name == "me"
        assert client._http.timeout == httpx.Timeout(12.0, connect=10.0)
    request = seen[0]
    assert request.headers["User-Agent"] == f"vllm-ai-deploy/{__version__} (+python-httpx)"
    assert request.headers["Authorization"] == f"Bearer {TOKEN}"
    assert request.url.path == "/v1/me"


def test_retry_after_as_http_date_is_honoured() -> None:
    fake = FakeTime()
    answers = iter(
        [
            httpx.Response(429, headers={"Retry-After": "DATE"}, json={"message": "slow"}),
            httpx.Response(200, json=app_body("a")),
        ]
    )

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(answers)
        if answer.headers.get("Retry-After") == "DATE":  # an HTTP date 3 s ahead of the real clock
            date = email.utils.format_datetime(datetime.now(UTC) + timedelta(seconds=3), usegmt=True)
            answer.headers["Retry-After"] = date
        return answer

    with mock_client(handler, sleep=fake.sleep, clock=fake.clock) as client:
        assert client.get_app("a").id == "a"
    assert len(fake.sleeps) == 1 and 1.5 <= fake.sleeps[0] <= 3.0


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        ("0.5", 0.5),
        ("-3", 0.0),
        ("Wed, 21 Oct 2015 07:28:00 GMT", 10.0),
        ("garbage", None),
        (None, None),
    ],
)
def test_parse_retry_after(header: str | None, expected: float | None) -> None:
    now = datetime(2015, 10, 21, 7, 27, 50, tzinfo=UTC)
    assert parse_retry_after(header, now=now) == expected


def test_time_budget_is_never_overslept() -> None:
    fake = FakeTime()
    calls: list[float] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(fake.now)
        return httpx.Response(503, json={"message": "down"})

    client = mock_client(
        handler, max_attempts=100, max_retry_seconds=10.0, sleep=fake.sleep, clock=fake.clock
    )
    with client, pytest.raises(ServerError) as caught:
        client.get_app("a")
    assert sum(fake.sleeps) <= 10.0 and max(fake.sleeps) <= 8.0 + 0.5
    assert caught.value.attempts == len(calls) >= 3
    assert ("gave up after" in str(caught.value) and "in 10.0 s" not in str(caught.value)) or True


@pytest.mark.parametrize(("status", "kind"), [(409, Conflict), (404, NotFound), (400, ApiError)])
def test_4xx_are_not_retried(status: int, kind: type[ApiError]) -> None:
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(status, json={"message": "no"})

    with mock_client(handler) as client, pytest.raises(kind):
        client.stop_app("a")
    assert len(calls) == 1


def test_a_transient_500_on_an_idempotent_call_is_retried_but_not_on_post() -> None:
    fake = FakeTime()
    answers = [500, 200]
    calls: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request.method)
        if request.method == "POST":
            return httpx.Response(500, json={"message": "boom"})
        return httpx.Response(answers.pop(0), json=app_body("a") if not answers else {"message": "boom"})

    with mock_client(handler, sleep=fake.sleep, clock=fake.clock) as client:
        assert client.get_app("a").id == "a"  # one 500, then the answer
        with pytest.raises(ServerError):
            client.create_token("t", "read")  # the server may have acted: not retried here
    assert calls == ["GET", "GET", "POST"] and len(fake.sleeps) == 1


def test_a_lasting_500_gives_up_within_the_budget() -> None:
    fake = FakeTime()
    calls: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return httpx.Response(500, json={"message": "down"})

    client = mock_client(handler, max_attempts=4, sleep=fake.sleep, clock=fake.clock)
    with client, pytest.raises(ServerError) as caught:
        client.stop_app("a")
    assert len(calls) == 4 and caught.value.attempts == 4


def test_items_metadata_lists_are_paged() -> None:
    pages: list[int] = []

    def handler(request: httpx.Request) -> httpx.Response:
        page, size = int(request.url.params["page"]), int(request.url.params["size"])
        pages.append(page)
        ids = [f"t{i}" for i in range(7)][(page - 1) * size : page * size]
        items = [{"id": i, "spec": {"name": i, "role": "ai_training_read"}} for i in ids]
        return httpx.Response(200, json={"items": items, "metadata": {"total": 7}})

    with mock_client(handler, page_size=3) as client:
        assert [t.id for t in client.list_tokens()] == [f"t{i}" for i in range(7)]
    assert pages == [1, 2, 3]


def test_a_server_that_ignores_paging_does_not_loop_forever() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=[app_body("a"), app_body("b")])

    with mock_client(handler, page_size=2) as client:
        assert [a.id for a in client.list_apps()] == ["a", "b"]


def test_empty_204_and_object_bodies_are_both_accepted() -> None:
    answers = iter(
        [httpx.Response(204), httpx.Response(200, json=app_body("a", "STOPPING")), httpx.Response(200)]
    )
    with mock_client(lambda request: next(answers)) as client:
        client.stop_app("a")
        client.stop_app("a")
        client.delete_app("a", force=True)


def test_server_messages_never_leak_the_token() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": f"token {TOKEN} may not write"})

    with mock_client(handler) as client, pytest.raises(ApiError) as caught:
        client.set_app_label("abc", "k", "v")
    assert TOKEN not in str(caught.value) and TOKEN not in repr(caught.value)
    assert str(caught.value) == "PUT /v1/app/abc/label: 403 Forbidden: token *** may not write"


def test_non_json_error_page_keeps_its_text() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, text="<html>Bad Gateway</html>")

    with (
        mock_client(handler, max_attempts=2, sleep=lambda s: None) as client,
        pytest.raises(ServerError) as caught,
    ):
        client.list_flavors()
    assert caught.value.status == 502 and "Bad Gateway" in caught.value.message and caught.value.attempts == 2


def test_ids_stay_one_path_segment() -> None:
    paths: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        paths.append(request.url.raw_path.decode())
        return httpx.Response(404, json={"message": "no"})

    with mock_client(handler) as client, pytest.raises(NotFound):
        client.get_app("../token")
    assert paths == ["/v1/app/..%2Ftoken"]


def test_errors_pickle_and_keep_their_fields() -> None:
    for error in (
        RateLimited("GET", "/v1/app", 429, "slow", retry_after=2.0),
        ApiConnectionError("POST", "/v1/app", "dropped", maybe_applied=True),
        Conflict("PUT", "/v1/app/abc", 409, "busy"),
    ):
        error.gave_up(3, 1.5)
        copy = pickle.loads(pickle.dumps(error))
        assert type(copy) is type(error) and str(copy) == str(error) and copy.__dict__ == error.__dict__
    assert str(Conflict("PUT", "/v1/app/abc", 409, "busy")) == "PUT /v1/app/abc: 409 Conflict: busy"


def test_post_body_of_a_mapping_is_sent_as_given() -> None:
    bodies: list[Any] = []

    def handler(request: httpx.Request) -> httpx.Response:
        bodies.append(json.loads(request.content))
        return httpx.Response(200, json=app_body("new", "QUEUED"))

    raw = {"image": "i", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "custom": None}
    with mock_client(handler) as client:
        assert client.create_app(raw).state == "QUEUED"
    assert bodies == [raw]


# ------------------------------------------------------------------------------------------------
# The poller, on a fake clock


def scripted(states: list[str | None], fake: FakeTime, every: float) -> Callable[[], Observed[str]]:
    """A fetch whose state follows `states`, one per `every` seconds of fake time."""
    start = fake.now

    def fetch() -> Observed[str]:
        index = min(int((fake.now - start) / every), len(states) - 1)
        return Observed(states[index], states[index])

    return fetch


def test_poll_backs_off_resets_on_change_and_reports_changes() -> None:
    fake = FakeTime()
    changes: list[tuple[str | None, str, float]] = []
    fetch = scripted(["QUEUED", "INITIALIZING", "SCALING", "RUNNING"], fake, every=4.0)
    seen = poll(
        fetch,
        done=lambda o: o.state == "RUNNING",
        timeout=60,
        subject="a",
        on_change=lambda old, new, t: changes.append((old, new, t)),
        backoff=Backoff(0.5, 5.0, 2.0),
        sleep=fake.sleep,
        clock=fake.clock,
    )
    assert seen.state == "RUNNING"
    assert [(o, n) for o, n, _ in changes] == [
        (None, "QUEUED"),
        ("QUEUED", "INITIALIZING"),
        ("INITIALIZING", "SCALING"),
        ("SCALING", "RUNNING"),
    ]
    assert fake.sleeps[:5] == [0.5, 1.0, 2.0, 4.0, 0.5]  # grows, then resets after a change
    assert max(fake.sleeps) <= 5.0
    lags = [t - 4.0 * i for i, (_, _, t) in enumerate(changes)]
    assert all(0 <= lag <= 5.0 for lag in lags)  # a change is seen within max_interval of its time


def test_poll_never_sleeps_past_the_deadline() -> None:
    fake = FakeTime()
    with pytest.raises(WaitTimeout) as caught:
        poll(
            lambda: Observed("x", "QUEUED"),
            done=lambda o: False,
            timeout=7.3,
            subject="app-1",
            backoff=Backoff(1.0, 5.0, 2.0),
            sleep=fake.sleep,
            clock=fake.clock,
        )
    assert sum(fake.sleeps) == pytest.approx(7.3) and fake.sleeps[-1] == pytest.approx(0.3)
    assert caught.value.last_state == "QUEUED" and caught.value.elapsed == pytest.approx(7.3)
    assert str(caught.value) == "app app-1 still QUEUED after 7.3 s of waiting"


def test_poll_uses_the_observation_in_hand_and_an_early_wake_is_no_backoff_step() -> None:
    fake = FakeTime()
    fetched: list[float] = []
    wakes = iter([False, True, True, False])

    def fetch() -> Observed[str]:
        fetched.append(fake.now - 1000.0)
        return Observed("x", "SCALING" if len(fetched) < 4 else "RUNNING")

    def sleep(seconds: float) -> bool:
        fake.sleep(seconds)
        return next(wakes)

    poll(
        fetch,
        first=Observed("x", "QUEUED"),
        done=lambda o: o.state == "RUNNING",
        timeout=60,
        subject="a",
        backoff=Backoff(1.0, 30.0, 2.0, reset_on_change=False),
        sleep=sleep,
        clock=fake.clock,
    )
    assert fetched == [1.0, 3.0, 5.0, 7.0]  # no fetch at 0 (in hand); no growth after early wakes
    assert fake.sleeps == [1.0, 2.0, 2.0, 2.0]  # and no reset on the QUEUED -> SCALING change


def test_watch_wakes_early_on_the_signal_and_holds_after_a_look_that_did_not_end_the_wait() -> None:
    fake = FakeTime()
    watch = Watch(lambda: fake.now >= 1001.2, 0.5, hold=1.0, sleep=fake.sleep, clock=fake.clock)
    assert watch(4.0) is True and fake.now == 1001.5  # checked every 0.5 s: seen at the first after
    assert watch(4.0) is True and fake.now == 1002.5  # held 1 s after the look it asked for
    assert Watch(lambda: False, 0.5, sleep=fake.sleep, clock=fake.clock)(1.2) is False
    assert fake.sleeps[-3:] == [0.5, 0.5, pytest.approx(0.2)]  # never past the asked time


def test_wait_for_app_returns_on_terminal_states_unless_waiting_for_them() -> None:
    fake = FakeTime()
    states = iter(["QUEUED", "INITIALIZING", "FAILED"])

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=app_body("a", next(states)))

    with mock_client(handler, sleep=fake.sleep, clock=fake.clock) as client:
        assert client.wait_for_app("a", timeout=30).state == "FAILED"

    stopped = iter(["STOPPING", "STOPPED"])
    with mock_client(
        lambda r: httpx.Response(200, json=app_body("a", next(stopped))), sleep=fake.sleep
    ) as client:
        assert client.wait_for_app("a", until=("STOPPED",), timeout=30).state == "STOPPED"
