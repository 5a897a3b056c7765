"""Routes of the datastore model (emulator/datastore.py): `datasync` and the control routes."""

from __future__ import annotations

import time

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .auth import bearer
from .backend import find_app
from .context import ctx, json_body, writer
from .datastore import ALIASES_KEY, CONFIG_KEY, RESERVED_KEYS, cached, datasync, render_syncs
from .errors import ApiError


async def post_datasync(request: Request) -> Response:
    """`POST /v1/app/{app_id}/datasync`: answers the new `DataSync`."""
    context, principal = writer(request)
    body = await json_body(request)
    async with context.store.lock:
        now = time.time()
        app = find_app(context.rules, principal, request.path_params["app_id"], now)
        sync = datasync(context.store, app, body, now, context.timings)
        context.store.save()
        rendered = next(s for s in render_syncs(app, now) if s["id"] == sync["id"])
    return JSONResponse(rendered)


def _admin(request: Request) -> None:
    if bearer(request) != ctx(request).admin_token:
        raise ApiError(401, "control routes need the admin token as Bearer")


async def get_starts(request: Request) -> Response:
    """`GET /_emulator/app/{app_id}/starts`: each start's Hub bytes, pull and download seconds."""
    _admin(request)
    app = ctx(request).store.apps.get(request.path_params["app_id"])
    if app is None:
        raise ApiError(404, f"app {request.path_params['app_id']} not found")
    return JSONResponse({"starts": app.get("cacheStarts") or []})


async def set_config(request: Request) -> Response:
    """`POST /_emulator/datastore {"hubDownloads": bool, "scale"?: number}` turns the model on."""
    _admin(request)
    body = await json_body(request)
    if not isinstance(body, dict) or not isinstance(body.get("hubDownloads", False), bool):
        raise ApiError(400, "body: {\"hubDownloads\": true|false, \"scale\"?: seconds per real second}")
    factor = body.get("scale")
    bad = isinstance(factor, bool) or not isinstance(factor, int | float) or factor <= 0
    if factor is not None and bad:
        raise ApiError(400, "scale must be a number > 0")
    context = ctx(request)
    async with context.store.lock:
        context.store.datastore[CONFIG_KEY] = {"hubDownloads": bool(body.get("hubDownloads")),
                                               "scale": factor}
        context.store.save()
    return JSONResponse(context.store.datastore[CONFIG_KEY])


async def get_store(request: Request) -> Response:
    """`GET /_emulator/datastore`: the settings and, per alias|container|prefix, the cached models."""
    _admin(request)
    now = time.time()
    data = ctx(request).store.datastore
    return JSONResponse({
        "config": data.get(CONFIG_KEY) or {},
        "store": {k: cached(ctx(request).store, k, now) for k in data if k not in RESERVED_KEYS},
        "aliases": data.get(ALIASES_KEY) or {},
    })


routes = [
    Route("/v1/app/{app_id}/datasync", post_datasync, methods=["POST"]),
    Route("/_emulator/app/{app_id}/starts", get_starts, methods=["GET"]),
    Route("/_emulator/datastore", set_config, methods=["POST"]),
    Route("/_emulator/datastore", get_store, methods=["GET"]),
]
