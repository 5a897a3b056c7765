"""Routes of `/v1/app`: list, create, get, update, delete, start, stop, scaling, image, label, log.

Each handler parses the request, calls the rules in `backend` under the store lock and renders.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import autoscaler, backend, datastore, render, validation
from .auth import Principal, parse_selector
from .context import Context, ctx, int_query, json_body, writer
from .errors import invalid
from .lifecycle import AppState
from .store import Record
from .vllm_logs import log_lines
from .vllm_standin import metrics_text

ORDER_KEYS = ("createdAt", "updatedAt", "name")
ORDERS = ("asc", "desc")


@dataclass
class _Edit:
    """One app under the store lock; `changed` makes the block save the store when it ends."""

    app: Record
    now: float
    changed: bool = False

    def touch(self) -> None:
        backend.touch(self.app, self.now)
        self.changed = True


@asynccontextmanager
async def editing_app(request: Request, context: Context, principal: Principal) -> AsyncIterator[_Edit]:
    """Lock the store and find the path's app (404 outside the token's scope); save on success if
    touched, so a rejected or no-op change writes nothing."""
    async with context.store.lock:
        now = time.time()
        app = backend.find_app(context.rules, principal, request.path_params["app_id"], now)
        edit = _Edit(app, now)
        yield edit
        if edit.changed:
            context.store.save()


def _render(context: Context, app: Record, now: float) -> Response:
    return JSONResponse(render.app(app, context.base_url, now))


def _query(request: Request) -> backend.AppQuery:
    params = request.query_params
    states: set[str] = set()
    for raw in params.getlist("statusState"):
        for name in filter(None, (s.strip() for s in raw.split(","))):
            states.add(validation.enum(name, "statusState", tuple(s.value for s in AppState)))
    sort = params.get("sort") or "createdAt"
    if sort not in ORDER_KEYS:
        raise invalid("sort", f"must be one of {', '.join(ORDER_KEYS)}, got {sort!r}")
    order = (params.get("order") or "asc").lower()
    if order not in ORDERS:
        raise invalid("order", f"must be asc or desc, got {params.get('order')!r}")
    return backend.AppQuery(
        parse_selector(params.get("labelSelector")), frozenset(states), sort, order == "desc"
    )


async def list_apps(request: Request) -> Response:
    context = ctx(request)
    principal = context.principal(request)
    query = _query(request)
    page = int_query(request, "page", 1, 1, 1_000_000)
    size = int_query(request, "size", 100, 1, 100)
    now = time.time()
    visible = backend.visible_apps(context.rules, principal, query, now)
    for record in visible:
        _autoscale(request, context, record, now)
    chunk = backend.paginate(visible, page, size)
    items = [render.app(app, context.base_url, now) for app in chunk.items]
    return JSONResponse(render.listing(chunk, request.url.path, items))


async def create_app(request: Request) -> Response:
    context, principal = writer(request)
    body = await json_body(request)
    if isinstance(body, dict) and set(body) == {"spec"}:  # also accept an App-shaped body
        body = body["spec"]
    spec = validation.app_spec(body)
    validation.volume_aliases(spec, lambda region, alias: datastore.alias_known(context.store, region, alias))
    async with context.store.lock:
        now = time.time()
        app = backend.create_app(context.rules, principal, spec, now)
        context.store.save()
        return _render(context, app, now)


async def get_app(request: Request) -> Response:
    context = ctx(request)
    principal = context.principal(request)
    now = time.time()
    app = backend.find_app(context.rules, principal, request.path_params["app_id"], now)
    _autoscale(request, context, app, now)
    return _render(context, app, now)


def _autoscale(request: Request, context: Context, record: Record, now: float) -> None:
    # The platform polls each app's metric; here a read of the app is the poll (autoscaler.py).
    if autoscaler.custom_metrics(record["spec"]) is not None:
        backend.autoscale(context.rules, record, metrics_text(request, record), now)


async def update_app(request: Request) -> Response:
    context, principal = writer(request)
    body = await json_body(request)
    async with editing_app(request, context, principal) as edit:
        app, now = edit.app, edit.now
        spec = validation.app_spec(validation.merge_update(app["spec"], body, app["id"]))
        spec["labels"] = app["spec"]["labels"]
        spec["name"] = app["spec"]["name"]
        backend.replace_spec(context.rules, app, now, spec)
        edit.touch()
        return _render(context, app, now)


async def delete_app(request: Request) -> Response:
    context, principal = writer(request)
    force = validation.flag(request.query_params.get("force"), "force")
    async with editing_app(request, context, principal) as edit:
        if backend.delete_app(context.rules, edit.app, edit.now, force=force):
            edit.touch()
    return Response(status_code=204)


async def start_app(request: Request) -> Response:
    context, principal = writer(request)
    async with editing_app(request, context, principal) as edit:
        backend.start_app(context.rules, edit.app, edit.now)
        edit.touch()
    return Response(status_code=204)


async def stop_app(request: Request) -> Response:
    context, principal = writer(request)
    async with editing_app(request, context, principal) as edit:
        if backend.stop_app(context.rules, edit.app, edit.now):
            edit.touch()
    return Response(status_code=204)


async def set_scaling(request: Request) -> Response:
    context, principal = writer(request)
    strategy = validation.scaling_strategy(await json_body(request), "scalingStrategy")
    async with editing_app(request, context, principal) as edit:
        spec = {**edit.app["spec"], "scalingStrategy": strategy}
        backend.replace_spec(context.rules, edit.app, edit.now, spec)
        edit.touch()
    return Response(status_code=204)


async def set_image(request: Request) -> Response:
    """200 with `{"message"}`: the schema's `GenericResponse` (the official client reads a text body)."""
    context, principal = writer(request)
    body = validation.obj(await json_body(request), "body")
    image = validation.string(body.get("url"), "url", required=True)
    async with editing_app(request, context, principal) as edit:
        backend.set_image(context.rules, edit.app, edit.now, image)
        edit.touch()
    return JSONResponse({"message": f"app {edit.app['id']} image set to {image}"})


async def set_label(request: Request) -> Response:
    context, principal = writer(request)
    name, value = validation.label_update(await json_body(request))
    async with editing_app(request, context, principal) as edit:
        backend.set_label(edit.app, name, value)
        edit.touch()
    return Response(status_code=204)


async def get_log(request: Request) -> Response:
    """Plain text (`text/plain`), one log line per line, oldest first; `?tail=N` keeps the last N."""
    context = ctx(request)
    principal = context.principal(request)
    now = time.time()
    app = backend.find_app(context.rules, principal, request.path_params["app_id"], now)
    lines = log_lines(app, now)
    tail = request.query_params.get("tail")
    if tail is not None:
        count = int_query(request, "tail", 0, 0, 1_000_000)
        lines = lines[-count:] if count else []
    return PlainTextResponse("".join(line + "\n" for line in lines))


routes = [
    Route("/v1/app", list_apps, methods=["GET"]),
    Route("/v1/app", create_app, methods=["POST"]),
    Route("/v1/app/{app_id}", get_app, methods=["GET"]),
    Route("/v1/app/{app_id}", update_app, methods=["PUT"]),
    Route("/v1/app/{app_id}", delete_app, methods=["DELETE"]),
    Route("/v1/app/{app_id}/start", start_app, methods=["PUT"]),
    Route("/v1/app/{app_id}/stop", stop_app, methods=["PUT"]),
    Route("/v1/app/{app_id}/scalingstrategy", set_scaling, methods=["PUT"]),
    Route("/v1/app/{app_id}/image", set_image, methods=["PUT"]),
    Route("/v1/app/{app_id}/label", set_label, methods=["PUT"]),
    Route("/v1/app/{app_id}/log", get_log, methods=["GET"]),
]
