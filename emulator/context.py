"""What every handler needs: settings, the store, the fault script and request counters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .auth import Principal, authenticate
from .errors import ApiError
from .faults import FaultScript
from .store import Store
from .timings import FAST, Timings

DEFAULT_GPU_QUOTA = 4  # a project's GPU quota unless OVHcloud raised it


@dataclass
class Context:
    store: Store
    admin_token: str
    gpu_quota: int = DEFAULT_GPU_QUOTA
    timings: Timings = FAST
    base_url: str = "http://127.0.0.1:19080"  # set to the bound port before serving
    faults: FaultScript = field(default_factory=FaultScript)

    def principal(self, request: Request) -> Principal:
        return authenticate(request, self.store, self.admin_token)


def ctx(request: Request) -> Context:
    context = request.app.state.ctx
    assert isinstance(context, Context)
    return context


def writer(request: Request) -> tuple[Context, Principal]:
    """Authenticate a mutating call: a read-only token gets its 403 before the body is read."""
    context = ctx(request)
    principal = context.principal(request)
    principal.require_write()
    return context, principal


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw)
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"body: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
