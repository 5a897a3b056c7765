"""Handlers of the `/_emulator/` control routes (see `faults` for their semantics)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import bearer
from .context import Context, ctx, json_body
from .errors import ApiError
from .faults import parse_faults


def _admin(request: Request) -> Context:
    context = ctx(request)
    if bearer(request) != context.admin_token:
        raise ApiError(401, "control routes need the admin token as Bearer")
    return context


async def add_faults(request: Request) -> Response:
    context = _admin(request)
    try:
        faults = parse_faults(await json_body(request))
    except ValueError as exc:
        raise ApiError(400, str(exc)) from None
    context.faults.pending.extend(faults)
    return JSONResponse({"pending": len(context.faults.pending)})


async def clear_faults(request: Request) -> Response:
    _admin(request).faults.pending.clear()
    return Response(status_code=204)


async def get_requests(request: Request) -> Response:
    counts = _admin(request).faults.counts
    return JSONResponse({"count": sum(counts.values()), "byRoute": dict(counts)})


async def reset_requests(request: Request) -> Response:
    _admin(request).faults.counts.clear()
    return Response(status_code=204)


async def reset(request: Request) -> Response:
    context = _admin(request)
    async with context.store.lock:
        context.store.reset()
        context.store.save()
    return Response(status_code=204)


routes = [
    Route("/_emulator/faults", add_faults, methods=["POST"]),
    Route("/_emulator/faults", clear_faults, methods=["DELETE"]),
    Route("/_emulator/requests", get_requests, methods=["GET"]),
    Route("/_emulator/requests", reset_requests, methods=["DELETE"]),
    Route("/_emulator/reset", reset, methods=["POST"]),
]
