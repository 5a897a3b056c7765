"""Routes of `/v1/token`: list, create, get, delete, renew. The value is shown only on create/renew."""

from __future__ import annotations

import secrets
import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from . import validation
from .auth import ROLES, Principal, format_selector, parse_selector
from .context import Context, ctx, json_body, writer
from .errors import ApiError, invalid, not_found
from .lifecycle import iso
from .store import Record, hash_token, new_record, oldest_first


def render(token: Record, value: str | None = None) -> dict[str, Any]:
    status: dict[str, Any] = {"version": token["status"]["version"], "region": token["spec"]["region"]}
    if value is not None:
        status["value"] = value
    return {
        "id": token["id"],
        "createdAt": token["createdAt"],
        "updatedAt": token["updatedAt"],
        "spec": token["spec"],
        "status": status,
    }


def _find(context: Context, token_id: str) -> Record:
    token = context.store.tokens.get(token_id)
    if token is None:
        raise not_found("token", token_id)
    return token


def _parse_spec(body: Any, principal: Principal) -> dict[str, Any]:
    raw, prefix = validation.flat_or_spec(body)
    name = validation.string(raw.get("name"), f"{prefix}name", required=True)
    role = raw.get("role")
    if role not in ROLES:
        raise invalid(f"{prefix}role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    selector = parse_selector(raw.get("labelSelector"), f"{prefix}labelSelector")
    # A scoped token cannot mint a token that sees more than itself.
    if any(selector.get(k) != v for k, v in principal.selector.items()):
        raise ApiError(403, "a label-scoped token can only create tokens within its own label selector")
    spec: dict[str, Any] = {"name": name, "role": role, "region": str(raw.get("region") or "GRA")}
    if selector:
        spec["labelSelector"] = format_selector(selector)
    return spec


async def list_tokens(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    return JSONResponse([render(t) for t in oldest_first(context.store.tokens.values())])


async def create_token(request: Request) -> Response:
    context, principal = writer(request)
    spec = _parse_spec(await json_body(request), principal)
    value = secrets.token_urlsafe(32)
    async with context.store.lock:
        token = new_record(spec=spec, status={"version": 1}, valueHash=hash_token(value))
        context.store.tokens[token["id"]] = token
        context.store.save()
    return JSONResponse(render(token, value))


async def get_token(request: Request) -> Response:
    context = ctx(request)
    context.principal(request)
    return JSONResponse(render(_find(context, request.path_params["token_id"])))


async def delete_token(request: Request) -> Response:
    context, _ = writer(request)
    async with context.store.lock:
        _find(context, request.path_params["token_id"])
        del context.store.tokens[request.path_params["token_id"]]
        context.store.save()
    return Response(status_code=204)


async def renew_token(request: Request) -> Response:
    context, _ = writer(request)
    value = secrets.token_urlsafe(32)
    async with context.store.lock:
        token = _find(context, request.path_params["token_id"])
        token["valueHash"] = hash_token(value)
        token["status"]["version"] += 1
        token["updatedAt"] = iso(time.time())
        context.store.save()
    return JSONResponse(render(token, value))


routes = [
    Route("/v1/token", list_tokens, methods=["GET"]),
    Route("/v1/token", create_token, methods=["POST"]),
    Route("/v1/token/{token_id}", get_token, methods=["GET"]),
    Route("/v1/token/{token_id}", delete_token, methods=["DELETE"]),
    Route("/v1/token/{token_id}/renew", renew_token, methods=["POST"]),
]
