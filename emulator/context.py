"""What every handler needs: settings, the store, the fault script and request counters."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from starlette.requests import Request

from .auth import Principal, authenticate
from .backend import DEFAULT_GPU_QUOTA, Rules
from .errors import ApiError, invalid
from .faults import FaultScript
from .ovh_auth import OvhDoorConfig
from .store import Store
from .timings import FAST, Timings

__all__ = ["DEFAULT_GPU_QUOTA", "Context", "ctx", "int_query", "json_body", "writer"]


@dataclass
class Context:
    store: Store
    admin_token: str
    gpu_quota: int = DEFAULT_GPU_QUOTA
    timings: Timings = FAST
    base_url: str = "http://127.0.0.1:19080"  # set to the bound port before serving
    faults: FaultScript = field(default_factory=FaultScript)
    ovh: OvhDoorConfig = field(default_factory=lambda: OvhDoorConfig.parse(None, None, None))  # public door

    def principal(self, request: Request) -> Principal:
        return authenticate(request, self.store, self.admin_token)

    @property
    def rules(self) -> Rules:
        return Rules(self.store, self.gpu_quota, self.timings)


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


def int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    """An integer query parameter: 400 when it is not one or is below `low`; capped at `high`."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"must be an integer, got {raw!r}") from None
    if value < low:
        raise invalid(name, f"must be >= {low}")
    return min(value, high)


class _NotJson(ValueError):
    """NaN, Infinity or -Infinity: Python reads them, JSON (and the real service) does not."""


def _not_json(name: str) -> Any:
    raise _NotJson(name)


async def json_body(request: Request) -> Any:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        return json.loads(raw, parse_constant=_not_json)
    except _NotJson as exc:
        raise ApiError(400, f"body: invalid JSON ({exc} is not a JSON value)") from None
    except json.JSONDecodeError as exc:
        raise ApiError(
            400, f"body: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})"
        ) from None
    except UnicodeDecodeError:
        raise ApiError(400, "body: invalid JSON (not UTF-8 text)") from None
    except RecursionError:
        raise ApiError(400, "body: invalid JSON (nested too deeply)") from None
