"""Routes of `/v1/app`: list, create, get, update, delete, start, stop, scaling, image, label, log."""

from __future__ import annotations

import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from . import lifecycle, validation
from .auth import Principal, parse_selector
from .context import Context, ctx, json_body, writer
from .errors import ApiError, invalid, not_found
from .lifecycle import AppState
from .store import Record
from .vllm_logs import log_lines

ORDER_KEYS = {"createdAt": "createdAt", "updatedAt": "updatedAt", "name": "name"}


def replicas(spec: dict[str, Any]) -> int:
    strategy = spec["scalingStrategy"]
    if "fixed" in strategy:
        return int(strategy["fixed"]["replicas"])
    return max(int(strategy["automatic"]["replicasMin"]), 1)


def gpus_held(spec: dict[str, Any]) -> int:
    """GPUs an active app can hold: gpu x replicas (x replicasMax when autoscaled)."""
    strategy = spec["scalingStrategy"]
    count = strategy["fixed"]["replicas"] if "fixed" in strategy else strategy["automatic"]["replicasMax"]
    return int(spec["resources"].get("gpu") or 0) * int(count)


def state_of(app: Record, now: float) -> AppState:
    return lifecycle.current_state(app["schedule"], now)


def check_quota(context: Context, spec: dict[str, Any], now: float, exclude: str | None = None) -> None:
    wanted = gpus_held(spec)
    if wanted == 0:
        return
    used = sum(
        gpus_held(app["spec"])
        for app_id, app in context.store.apps.items()
        if app_id != exclude and state_of(app, now) not in lifecycle.RELEASED
    )
    if used + wanted > context.gpu_quota:
        raise ApiError(
            402,
            f"GPU quota exceeded: this app needs {wanted} GPUs, {used} of the project's "
            f"{context.gpu_quota} are in use",
        )


def render(app: Record, context: Context, now: float) -> dict[str, Any]:
    base = context.base_url
    app_id = app["id"]
    status = lifecycle.render_status(app["schedule"], now, replicas(app["spec"]))
    status.update(
        url=f"{base}/app/{app_id}",
        infoUrl=f"{base}/_emulator/ui/app/{app_id}",
        monitoringUrl=f"{base}/_emulator/monitoring/app/{app_id}",
    )
    if app["spec"].get("grpcPort"):
        status["grpcAddress"] = f"127.0.0.1:{context.base_url.rsplit(':', 1)[-1]}"
    return {
        "id": app_id,
        "createdAt": app["createdAt"],
        "updatedAt": app["updatedAt"],
        "user": app["user"],
        "spec": app["spec"],
        "status": status,
    }


def find(context: Context, principal: Principal, app_id: str, now: float) -> Record:
    """The app if it exists, is not DELETED and is in the token's scope; else 404."""
    app = context.store.apps.get(app_id)
    if app is None or state_of(app, now) is AppState.DELETED or not principal.sees(app["spec"]["labels"]):
        raise not_found("app", app_id)
    return app


def purge_deleted(context: Context, now: float) -> None:
    gone = [i for i, app in context.store.apps.items() if state_of(app, now) is AppState.DELETED]
    for app_id in gone:
        del context.store.apps[app_id]


def touch(app: Record, now: float) -> None:
    app["updatedAt"] = lifecycle.iso(now)


@dataclass
class _Edit:
    """One app under the store lock: `state` is as found, before the handler changes anything."""

    app: Record
    now: float
    state: AppState
    changed: bool = False

    def touch(self) -> None:
        """Mark the app updated; the store is saved when the `editing_app` block ends."""
        touch(self.app, self.now)
        self.changed = True


@asynccontextmanager
async def editing_app(request: Request, context: Context, principal: Principal) -> AsyncIterator[_Edit]:
    """Lock the store and find the path's app (404 outside the token's scope); save on success if
    touched, so a rejected or no-op change writes nothing."""
    async with context.store.lock:
        now = time.time()
        app = find(context, principal, request.path_params["app_id"], now)
        edit = _Edit(app, now, state_of(app, now))
        yield edit
        if edit.changed:
            context.store.save()


def startup_override(spec: dict[str, Any]) -> float | None:
    value = spec["labels"].get(validation.STARTUP_LABEL)
    return None if value is None else max(float(value), 0.0)


def _int_query(request: Request, name: str, default: int, low: int, high: int) -> int:
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise invalid(name, f"must be an integer, got {raw!r}") from None
    if value < low:
        raise invalid(name, f"must be >= {low}")
    return min(value, high)


async def list_apps(request: Request) -> Response:
    context = ctx(request)
    principal = context.principal(request)
    now = time.time()
    selector = parse_selector(request.query_params.get("labelSelector"))
    states: set[str] = set()
    for raw in request.query_params.getlist("statusState"):
        for name in filter(None, (s.strip() for s in raw.split(","))):
            states.add(validation.enum(name, "statusState", tuple(s.value for s in AppState)))
    page = _int_query(request, "page", 1, 1, 1_000_000)
    size = _int_query(request, "size", 100, 1, 100)
    sort_key = ORDER_KEYS.get(request.query_params.get("sort", "createdAt"), "createdAt")
    descending = request.query_params.get("order", "asc").lower() == "desc"
    items = []
    for app in context.store.apps.values():
        state = state_of(app, now)
        labels = app["spec"]["labels"]
        if state is AppState.DELETED or not principal.sees(labels):
            continue
        if any(labels.get(k) != v for k, v in selector.items()) or (states and state.value not in states):
            continue
        items.append(app)
    items.sort(
        key=lambda a: (a["spec"]["name"] if sort_key == "name" else a[sort_key], a["id"]), reverse=descending
    )
    chunk = items[(page - 1) * size : page * size]
    return JSONResponse([render(app, context, now) for app in chunk])


async def create_app(request: Request) -> Response:
    context, principal = writer(request)
    body = await json_body(request)
    if isinstance(body, dict) and set(body) == {"spec"}:  # also accept an App-shaped body
        body = body["spec"]
    spec = validation.app_spec(body)
    async with context.store.lock:
        now = time.time()
        app_id = str(uuid.uuid4())
        spec["labels"] = {**spec["labels"], **principal.selector, "ovh/id": app_id, "ovh/type": "app"}
        if not spec["name"]:
            spec["name"] = f"app-{app_id[:8]}"
        check_quota(context, spec, now)
        app: Record = {
            "id": app_id,
            "createdAt": lifecycle.iso(now),
            "updatedAt": lifecycle.iso(now),
            "user": principal.name,
            "spec": spec,
            "schedule": lifecycle.start_plan(now, context.timings, spec["image"], startup_override(spec)),
        }
        purge_deleted(context, now)
        context.store.apps[app_id] = app
        context.store.save()
        return JSONResponse(render(app, context, now))


async def get_app(request: Request) -> Response:
    context = ctx(request)
    principal = context.principal(request)
    now = time.time()
    return JSONResponse(render(find(context, principal, request.path_params["app_id"], now), context, now))


def _change_running(context: Context, app: Record, now: float) -> None:
    """A spec change of a serving app rolls through SCALING; stopped or starting apps just keep it."""
    state = state_of(app, now)
    if state in (AppState.DELETING,):
        raise ApiError(409, f"app {app['id']} is {state.value}")
    if lifecycle.is_serving(app["schedule"], now):
        plan = lifecycle.rescale_plan(now, context.timings, app["spec"]["image"])
        app["schedule"] = lifecycle.apply(app["schedule"], now, plan)


def _holds_gpus(app: Record, now: float) -> bool:
    return state_of(app, now) not in lifecycle.RELEASED


def _replace_spec(context: Context, app: Record, now: float, spec: dict[str, Any]) -> None:
    """Swap in a new spec: only a bigger GPU footprint of an app holding GPUs meets the quota, and a
    serving app rolls (planned before the swap, as for update and scaling alike)."""
    if _holds_gpus(app, now) and gpus_held(spec) > gpus_held(app["spec"]):
        check_quota(context, spec, now, exclude=app["id"])
    _change_running(context, app, now)
    app["spec"] = spec


async def update_app(request: Request) -> Response:
    context, principal = writer(request)
    body = await json_body(request)
    async with editing_app(request, context, principal) as edit:
        app, now = edit.app, edit.now
        spec = validation.app_spec(validation.merge_update(app["spec"], body))
        spec["labels"] = app["spec"]["labels"]
        spec["name"] = app["spec"]["name"]
        _replace_spec(context, app, now, spec)
        edit.touch()
        return JSONResponse(render(app, context, now))


async def delete_app(request: Request) -> Response:
    context, principal = writer(request)
    force = request.query_params.get("force", "false").lower() in ("true", "1", "yes")
    async with editing_app(request, context, principal) as edit:
        app, now, state = edit.app, edit.now, edit.state
        if state is AppState.DELETING:
            return Response(status_code=204)
        if not force and (state in lifecycle.ACTIVE or state is AppState.STOPPING):
            raise ApiError(409, f"app {app['id']} is {state.value}: stop it first or delete with force=true")
        app["schedule"] = lifecycle.apply(app["schedule"], now, lifecycle.delete_plan(now, context.timings))
        edit.touch()
        purge_deleted(context, now)
    return Response(status_code=204)


async def start_app(request: Request) -> Response:
    context, principal = writer(request)
    async with editing_app(request, context, principal) as edit:
        app, now, state = edit.app, edit.now, edit.state
        if state not in lifecycle.STARTABLE:
            raise ApiError(
                409, f"app {app['id']} is {state.value}: only STOPPED, FAILED or ERROR apps can start"
            )
        check_quota(context, app["spec"], now, exclude=app["id"])
        plan = lifecycle.start_plan(now, context.timings, app["spec"]["image"], startup_override(app["spec"]))
        app["schedule"] = lifecycle.apply(app["schedule"], now, plan)
        edit.touch()
    return Response(status_code=204)


async def stop_app(request: Request) -> Response:
    context, principal = writer(request)
    async with editing_app(request, context, principal) as edit:
        app, now, state = edit.app, edit.now, edit.state
        if state is AppState.DELETING:
            raise ApiError(409, f"app {app['id']} is DELETING")
        if state in lifecycle.ACTIVE:  # stopping a stopped or failed app changes nothing
            app["schedule"] = lifecycle.apply(app["schedule"], now, lifecycle.stop_plan(now, context.timings))
            edit.touch()
    return Response(status_code=204)


async def set_scaling(request: Request) -> Response:
    context, principal = writer(request)
    body = await json_body(request)
    strategy = validation.scaling_strategy(body, "scalingStrategy")
    async with editing_app(request, context, principal) as edit:
        app, now = edit.app, edit.now
        spec = {**app["spec"], "scalingStrategy": strategy}
        _replace_spec(context, app, now, spec)
        edit.touch()
    return Response(status_code=204)


async def set_image(request: Request) -> Response:
    context, principal = writer(request)
    body = validation.obj(await json_body(request), "body")
    image = validation.string(body.get("url"), "url", required=True)
    async with editing_app(request, context, principal) as edit:
        edit.app["spec"] = {**edit.app["spec"], "image": image}
        _change_running(context, edit.app, edit.now)
        edit.touch()
    return Response(status_code=204)


async def set_label(request: Request) -> Response:
    context, principal = writer(request)
    body = validation.obj(await json_body(request), "body")
    name = validation.string(body.get("name"), "name", required=True)
    if name.startswith(validation.PLATFORM_PREFIX):
        raise invalid("name", f"labels under {validation.PLATFORM_PREFIX} belong to the platform")
    value = body.get("value")
    change = {} if value is None else validation.labels({name: value}, "labels")
    if not change and value is None:
        validation.labels({name: ""}, "labels")  # still validate the name
    async with editing_app(request, context, principal) as edit:
        labels = {k: v for k, v in edit.app["spec"]["labels"].items() if k != name}
        labels.update(change)
        edit.app["spec"] = {**edit.app["spec"], "labels": labels}
        edit.touch()
    return Response(status_code=204)


async def get_log(request: Request) -> Response:
    """Plain text (`text/plain`), one log line per line, oldest first; `?tail=N` keeps the last N."""
    context = ctx(request)
    principal = context.principal(request)
    now = time.time()
    app = find(context, principal, request.path_params["app_id"], now)
    lines = log_lines(app, now)
    tail = request.query_params.get("tail")
    if tail is not None:
        count = _int_query(request, "tail", 0, 0, 1_000_000)
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
