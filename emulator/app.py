"""Assemble the ASGI application: the API routes, the vLLM stand-in, control routes, faults."""

from __future__ import annotations

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp

from . import (
    apps_api,
    catalog_api,
    control_api,
    datastore_api,
    misc_api,
    public_api,
    tokens_api,
    vllm_standin,
)
from .context import Context
from .errors import ApiError, handle_api_error
from .faults import FaultMiddleware


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    message = f"{request.method} {request.url.path}: {exc.detail}"
    return JSONResponse({"message": message}, status_code=exc.status_code, headers=exc.headers)


async def _server_error(request: Request, exc: Exception) -> Response:
    return JSONResponse({"message": f"internal emulator error: {type(exc).__name__}"}, status_code=500)


def build_app(context: Context) -> ASGIApp:
    app = Starlette(
        routes=[
            *apps_api.routes,
            *tokens_api.routes,
            *misc_api.routes,
            *control_api.routes,
            *public_api.routes,
            *datastore_api.routes,
            *catalog_api.routes,
            *vllm_standin.routes,
        ],
        exception_handlers={
            ApiError: handle_api_error,
            HTTPException: _http_error,
            Exception: _server_error,
        },
    )
    app.state.ctx = context
    return FaultMiddleware(app, context.faults)
