"""Routes of `/v1/token`: list, create, get, delete, renew. The value is shown only on create/renew.

Handlers parse, call `backend_objects` under the store lock, and render.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import backend_objects as objects
from . import render
from .backend import paginate
from .context import ctx, int_query, json_body, writer
from .store import oldest_first


async def list_tokens(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    page = int_query(request, "page", 1, 1, 1_000_000)
    size = int_query(request, "size", 100, 1, 100)
    chunk = paginate(oldest_first(context.store.tokens.values()), page, size)
    return JSONResponse(render.listing(chunk, request.url.path, [render.token(t) for t in chunk.items]))


async def create_token(request: Request) -> Response:
    context, principal = writer(request)
    spec = objects.token_spec(await json_body(request), principal)
    async with context.store.lock:
        token, value = objects.create_token(context.store, spec)
        context.store.save()
    return JSONResponse(render.token(token, value))


async def get_token(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    return JSONResponse(render.token(objects.find_token(context.store, request.path_params["token_id"])))


async def delete_token(request: Request) -> Response:
    context, _ = writer(request)
    async with context.store.lock:
        objects.delete_token(context.store, request.path_params["token_id"])
        context.store.save()
    return Response(status_code=204)


async def renew_token(request: Request) -> Response:
    context, _ = writer(request)
    async with context.store.lock:
        token, value = objects.renew_token(context.store, request.path_params["token_id"])
        context.store.save()
    return JSONResponse(render.token(token, value))


routes = [
    Route("/v1/token", list_tokens, methods=["GET"]),
    Route("/v1/token", create_token, methods=["POST"]),
    Route("/v1/token/{token_id}", get_token, methods=["GET"]),
    Route("/v1/token/{token_id}", delete_token, methods=["DELETE"]),
    Route("/v1/token/{token_id}/renew", renew_token, methods=["POST"]),
]
