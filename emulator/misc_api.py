"""Routes of user volumes (`/v1/volume`), capabilities (flavors, quota) and `/v1/me`.

A user volume is `{id, createdAt, updatedAt, spec: {name, region, ...given fields}, status:
{state: "READY"}}`; create takes the spec flat or as `{"spec": {...}}`.
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import validation
from .auth import format_selector
from .context import ctx, json_body, writer
from .errors import not_found
from .flavors import FLAVORS
from .store import Record, new_record, oldest_first

STORAGE_QUOTA_BYTES = 10 * 1024**4


def _render_volume(volume: Record) -> dict[str, Any]:
    return {key: volume[key] for key in ("id", "createdAt", "updatedAt", "spec", "status")}


async def list_volumes(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    return JSONResponse([_render_volume(v) for v in oldest_first(context.store.volumes.values())])


async def create_volume(request: Request) -> Response:
    context, _ = writer(request)
    raw, prefix = validation.flat_or_spec(await json_body(request))
    name = validation.string(raw.get("name"), f"{prefix}name", required=True)
    async with context.store.lock:
        spec = {**raw, "name": name, "region": str(raw.get("region") or "GRA")}
        volume = new_record(spec=spec, status={"state": "READY"})
        context.store.volumes[volume["id"]] = volume
        context.store.save()
    return JSONResponse(_render_volume(volume))


async def get_volume(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    volume = context.store.volumes.get(request.path_params["volume_id"])
    if volume is None:
        raise not_found("volume", request.path_params["volume_id"])
    return JSONResponse(_render_volume(volume))


async def delete_volume(request: Request) -> Response:
    context, _ = writer(request)
    async with context.store.lock:
        if context.store.volumes.pop(request.path_params["volume_id"], None) is None:
            raise not_found("volume", request.path_params["volume_id"])
        context.store.save()
    return Response(status_code=204)


async def list_flavors(request: Request) -> Response:
    ctx(request).principal(request)
    return JSONResponse([f.to_wire() for f in FLAVORS.values()])


async def get_flavor(request: Request) -> Response:
    ctx(request).principal(request)
    flavor = FLAVORS.get(request.path_params["flavor_id"])
    if flavor is None:
        raise not_found("flavor", request.path_params["flavor_id"])
    return JSONResponse(flavor.to_wire())


async def get_quota(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    return JSONResponse({"resources": {"gpu": context.gpu_quota, "cpu": 48}, "storage": STORAGE_QUOTA_BYTES})


async def me(request: Request) -> Response:
    context = ctx(request)
    principal = context.principal(request)
    body: dict[str, Any] = {
        "user": principal.name,
        "name": principal.name,
        "tenant": "emulator-project",
        "region": "GRA",
        "role": principal.role,
        "roles": [principal.role],
    }
    if principal.selector:
        body["labelSelector"] = format_selector(principal.selector)
    return JSONResponse(body)


routes = [
    Route("/v1/volume", list_volumes, methods=["GET"]),
    Route("/v1/volume", create_volume, methods=["POST"]),
    Route("/v1/volume/{volume_id}", get_volume, methods=["GET"]),
    Route("/v1/volume/{volume_id}", delete_volume, methods=["DELETE"]),
    Route("/v1/capabilities/flavor", list_flavors, methods=["GET"]),
    Route("/v1/capabilities/flavor/{flavor_id}", get_flavor, methods=["GET"]),
    Route("/v1/capabilities/quota", get_quota, methods=["GET"]),
    Route("/v1/me", me, methods=["GET"]),
]
