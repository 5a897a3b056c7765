"""Malformed requests to every emulator route: a 4xx with a JSON message, never a 500 or a
traceback, and the emulator keeps serving afterwards."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.runner import RunningEmulator

BODIES: list[bytes] = [
    b"{not json",
    b"[1, 2",
    b"\xff\xfe\x00garbage",
    b"NaN",
    b'{"x": Infinity}',
    b"[" * 5000 + b"]" * 5000,
    b"null",
    b"42",
    b'"text"',
    b"[]",
    b'{"name": 5, "role": [], "image": {}, "resources": "gpu", "url": 7, "value": {}}',
    b'{"spec": 5}',
    b'{"resources": {"flavor": "ai1-1-cpu", "cpu": 1e999}, "image": "i"}',
    b'{"resources": {"flavor": "l40s-1-gpu", "gpu": 1.5}, "image": "i"}',
    b'{"image": "i", "resources": {"flavor": "ai1-1-cpu"}, "labels": {"emulator/startup-seconds": "nan"}}',
    b'{"image": "i", "resources": {"flavor": "ai1-1-cpu"}, "volumes": [{"mountPath": 5}]}',
    b'{"image": "i", "resources": {"flavor": "ai1-1-cpu"}, "envVars": [{"name": "A", "value": 1}]}',
    b'{"fixed": {"replicas": "2"}, "automatic": 3}',
    b'{"automatic": {"customMetrics": {"targetValue": "x"}}}',
    b'{"appUpdate": {"gpu": "two"}, "id": "other"}',
    b'{"name": "ovh/id", "value": "x"}',
    b'{"name": "ok", "labelSelector": 5, "role": "ai_training_read"}',
    b'{"standalone": {}, "dataStore": {"alias": 1}}',
    b'{"privateSwift": {"container": "c"}}',
]
QUERIES: list[dict[str, str]] = [
    {"page": "abc"},
    {"size": "0"},
    {"page": "-1"},
    {"tail": "x"},
    {"statusState": "NAPPING"},
    {"labelSelector": "=="},
    {"force": "maybe"},
    {"order": "sideways"},
    {"sort": "colour"},
]


@pytest.fixture(scope="module")
def api(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    headers = {"Authorization": f"Bearer {emulator.admin_token}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=30) as client:
        yield client


@pytest.fixture(scope="module")
def ids(api: httpx.Client) -> dict[str, str]:
    app = api.post("/v1/app", json={"image": "i", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}}).json()
    token = api.post("/v1/token", json={"name": "bad-input", "role": "ai_training_read"}).json()
    volume = api.post("/v1/volume", json={}).json()
    return {"app": app["id"], "token": token["id"], "volume": volume["id"]}


def routes(ids: dict[str, str]) -> list[tuple[str, str]]:
    app, token, volume = ids["app"], ids["token"], ids["volume"]
    return [
        ("GET", "/v1/app"),
        ("POST", "/v1/app"),
        ("GET", f"/v1/app/{app}"),
        ("PUT", f"/v1/app/{app}"),
        ("PUT", f"/v1/app/{app}/scalingstrategy"),
        ("PUT", f"/v1/app/{app}/image"),
        ("PUT", f"/v1/app/{app}/label"),
        ("PUT", f"/v1/app/{app}/stop"),
        ("PUT", f"/v1/app/{app}/start"),
        ("GET", f"/v1/app/{app}/log"),
        ("GET", "/v1/token"),
        ("POST", "/v1/token"),
        ("GET", f"/v1/token/{token}"),
        ("GET", "/v1/volume"),
        ("POST", "/v1/volume"),
        ("GET", f"/v1/volume/{volume}"),
        ("GET", "/v1/capabilities/flavor"),
        ("GET", "/v1/capabilities/flavor/nope"),
        ("GET", "/v1/capabilities/quota"),
        ("GET", "/v1/me"),
        ("POST", "/_emulator/faults"),
        ("DELETE", f"/v1/app/{app}"),  # last: it may delete the app
    ]


def expect_clean(response: httpx.Response, what: str) -> None:
    assert response.status_code < 500, (what, response.status_code, response.text)
    if response.status_code >= 400:
        body: Any = response.json()
        assert isinstance(body, dict) and isinstance(body.get("message"), str) and body["message"], what
        assert "Traceback" not in response.text and 'File "' not in response.text, what


def test_malformed_bodies_and_params_get_4xx_with_a_message(api: httpx.Client, ids: dict[str, str]) -> None:
    sent = 0
    for method, path in routes(ids):
        for body in BODIES:
            expect_clean(api.request(method, path, content=body), f"{method} {path} {body[:40]!r}")
            sent += 1
        for params in QUERIES:
            expect_clean(api.request(method, path, params=params), f"{method} {path} {params}")
            sent += 1
    for method, path in [
        ("GET", "/v1/app/%00"),
        ("GET", "/v1/nothing"),
        ("PATCH", "/v1/app"),
        ("GET", "/v1/app/x/y/z"),
    ]:
        expect_clean(api.request(method, path), f"{method} {path}")
    assert sent > 500
    assert api.get("/v1/me").status_code == 200  # still serving


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (b"{not json", "body: invalid JSON"),
        (b"NaN", "body: invalid JSON (NaN is not a JSON value)"),
        (b'{"a": "\xc3\x28"}', "body: invalid JSON (not UTF-8 text)"),
        (b"[" * 5000 + b"]" * 5000, "body: invalid JSON (nested too deeply)"),
        (
            b'{"image": "i", "resources": {"flavor": "ai1-1-cpu", "cpu": 1e999}}',
            "spec.resources.cpu: must be an integer",
        ),
    ],
)
def test_the_message_names_what_is_wrong(api: httpx.Client, body: bytes, message: str) -> None:
    answer = api.post("/v1/app", content=body)
    assert answer.status_code == 400 and answer.json()["message"].startswith(message)
