"""Faults on demand and request counters, for tests and benchmarks.

Control routes (admin token as Bearer), under a prefix no real API uses:
- `POST /_emulator/faults` `{"faults": [...], "match": {"method": "GET", "pathPrefix": "/v1/app"}}`
  appends faults; each later matching `/v1` request consumes one, in order:
  `{"status": 429, "retryAfter": 1, "message": "..."}` answers that status (with `Retry-After`)
  without handling the request; with `"after": true` the request is handled first (its state
  change is made, as behind a gateway that timed out) and its answer replaced by that status,
  `{"delaySeconds": 2.5}` sleeps then handles normally, `{"drop": true}` handles the request (its
  state change is made and persisted) then closes the connection mid-response; with
  `"before": true` it closes the connection without handling the request.
- `DELETE /_emulator/faults` clears them.
- `GET /_emulator/requests` -> `{"count": N, "byRoute": {"GET /v1/app/{id}": n}}`; `DELETE` resets.
- `POST /_emulator/reset` deletes every app, token and volume.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

ID_AFTER = re.compile(r"^/v1/(app|token|volume|capabilities/flavor)/([^/]+)")


class DroppedResponse(Exception):
    """Raised after the response head so that the server closes the connection mid-response."""


@dataclass
class Fault:
    status: int | None = None
    retry_after: float | None = None
    message: str | None = None
    delay: float | None = None
    drop: bool = False
    after: bool = False  # a status fault answered after the server acted
    before: bool = False  # a drop before the server acted
    method: str | None = None
    path_prefix: str | None = None

    def matches(self, method: str, path: str) -> bool:
        if self.method is not None and self.method.upper() != method.upper():
            return False
        return self.path_prefix is None or path.startswith(self.path_prefix)


@dataclass
class FaultScript:
    pending: list[Fault] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)

    def take(self, method: str, path: str) -> Fault | None:
        for index, fault in enumerate(self.pending):
            if fault.matches(method, path):
                return self.pending.pop(index)
        return None


def parse_faults(body: Any) -> list[Fault]:
    """Parse the body of `POST /_emulator/faults`; raise ValueError naming the bad field."""
    if not isinstance(body, dict) or not isinstance(body.get("faults"), list):
        raise ValueError("faults: required (a list)")
    match = body.get("match") or {}
    if not isinstance(match, dict):
        raise ValueError("match: must be an object")
    result: list[Fault] = []
    for index, raw in enumerate(body["faults"]):
        if not isinstance(raw, dict):
            raise ValueError(f"faults[{index}]: must be an object")
        fault = Fault(method=match.get("method"), path_prefix=match.get("pathPrefix"))
        if raw.get("drop"):
            fault.drop = True
            fault.before = bool(raw.get("before"))
        elif raw.get("delaySeconds") is not None:
            fault.delay = float(raw["delaySeconds"])
        elif isinstance(raw.get("status"), int) and 400 <= raw["status"] <= 599:
            fault.status = raw["status"]
            fault.retry_after = raw.get("retryAfter")
            fault.message = raw.get("message")
            fault.after = bool(raw.get("after"))
        else:
            raise ValueError(f"faults[{index}]: expected status (400..599), delaySeconds or drop")
        result.append(fault)
    return result


def route_of(method: str, path: str) -> str:
    """`GET /v1/app/abc/start` -> `GET /v1/app/{id}/start` for the counters."""
    templated = ID_AFTER.sub(lambda m: f"/v1/{m.group(1)}/{{id}}", path.rstrip("/") or "/")
    return f"{method} {templated}"


async def _swallow(message: Message) -> None:
    """Discard an answer (the request was handled; a fault answers in its place)."""


class FaultMiddleware:
    """Outermost ASGI layer: counts `/v1` requests and applies scripted faults to them."""

    def __init__(self, app: ASGIApp, script: FaultScript) -> None:
        self.app = app
        self.script = script

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        self.script.counts[route_of(method, path)] += 1
        fault = self.script.take(method, path)
        if fault is None:
            await self.app(scope, receive, send)
        elif fault.delay is not None:
            await asyncio.sleep(fault.delay)
            await self.app(scope, receive, send)
        elif fault.drop:
            await self._drop(fault, scope, receive, send)
        else:
            if fault.after:
                await self.app(scope, receive, _swallow)
            await self._answer(fault, send)

    async def _answer(self, fault: Fault, send: Send) -> None:
        assert fault.status is not None
        message = fault.message or f"emulated fault: HTTP {fault.status}"
        body = json.dumps({"message": message}).encode()
        headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
        if fault.retry_after is not None:
            headers.append((b"retry-after", str(fault.retry_after).encode()))
        await send({"type": "http.response.start", "status": fault.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _drop(self, fault: Fault, scope: Scope, receive: Receive, send: Send) -> None:
        started: list[Message] = []

        async def swallow(message: Message) -> None:  # the action happens; its answer is lost
            if message["type"] == "http.response.start":
                started.append(message)

        if not fault.before:
            await self.app(scope, receive, swallow)
        status = started[0]["status"] if started else 200
        head = [(b"content-type", b"application/json"), (b"content-length", b"4096")]
        await send({"type": "http.response.start", "status": status, "headers": head})
        raise DroppedResponse("emulated fault: connection dropped after the server acted")
