"""Routes of user volumes (`/v1/volume`), capabilities (flavors, quota) and `/v1/me`.

A user volume is the official client's `UserVolume`: `{id, createdAt, updatedAt, cache?, <one
source>}` (dataStore, privateSwift, publicGit, publicSwift or standalone); create takes its
`CreateVolume` (no source: a standalone disk).
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import backend_objects as objects
from . import render, validation
from .backend import paginate
from .context import Context, ctx, int_query, json_body, writer
from .errors import not_found
from .flavors import FLAVORS
from .store import oldest_first

STORAGE_QUOTA_BITS = 10 * 1024**4 * 8  # 10 TiB; the schema counts storage in bits
CPU_QUOTA = 48


async def list_volumes(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    page = int_query(request, "page", 1, 1, 1_000_000)
    size = int_query(request, "size", 100, 1, 100)
    chunk = paginate(oldest_first(context.store.volumes.values()), page, size)
    return JSONResponse(render.listing(chunk, request.url.path, [render.volume(v) for v in chunk.items]))


async def create_volume(request: Request) -> Response:
    context, _ = writer(request)
    fields = validation.user_volume(await json_body(request))
    async with context.store.lock:
        volume = objects.create_volume(context.store, fields)
        context.store.save()
    return JSONResponse(render.volume(volume))


async def get_volume(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    return JSONResponse(render.volume(objects.find_volume(context.store, request.path_params["volume_id"])))


async def delete_volume(request: Request) -> Response:
    context, _ = writer(request)
    async with context.store.lock:
        objects.delete_volume(context.store, request.path_params["volume_id"])
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


def _quotas(context: Context) -> dict[str, object]:
    return render.quotas(context.gpu_quota, CPU_QUOTA, STORAGE_QUOTA_BITS)


async def get_quota(request: Request) -> Response:
    """One `ProjectQuotas` object, as the schema says (the official client expects a list of them;
    tests/test_official_client_contract.py records the disagreement)."""
    context = ctx(request)
    context.principal(request)
    return JSONResponse(_quotas(context))


async def me(request: Request) -> Response:
    context = ctx(request)
    principal = context.principal(request)
    return JSONResponse(render.me(principal, _quotas(context)))


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
