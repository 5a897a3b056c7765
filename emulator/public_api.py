"""The OVHcloud public API door: `/1.0/cloud/project/{serviceName}/ai/...` on the same backend.

Routes (see ../shared/ovhai/API.md and cloud-ai-schema.json):
- `GET /1.0/auth/time`: the server's time, an integer (unauthenticated);
- `GET /1.0/auth/currentCredential`: the signing consumer key, its access rules and status;
- `POST /auth/oauth2/token`: OAuth2 client credentials (the host's root, as
  https://www.ovh.com/auth/oauth2/token is for ovh-eu): `{access_token, token_type, expires_in}`;
- `/1.0/cloud/project/{serviceName}/ai/app[/...]`, `/ai/token[/...]`, `/ai/capabilities/quota`,
  `/ai/capabilities/region/{region}/flavor[/{id}]`: checked (signature or bearer, see
  `ovh_auth`), then handled by the regional handlers (`/v1/...`) as the project's operator, so an
  app created through one door is seen through the other. Lists become bare arrays (this door's
  shape), errors `{"class": "Client::...", "message"}`;
- `POST .../ai/app/{appId}/datasync` (`{direction: pull|push, volume?}`): the regional handler's
  datastore model (emulator/datastore.py), answered with its `DataSync` (200, as the schema says);
- `GET|POST .../ai/data/region/{region}/alias`, `GET|PUT|DELETE .../alias/{alias}`: datastore
  aliases, in the datastore model's one alias store (emulator/datastore.py: persisted with the
  state, checked by app volumes); credentials are checked (`DataStoreInput`, s3: accessKey,
  secretKey, region) and never kept or rendered back; the region's OVHcloud defaults (`GRA`,
  `S3GRA`) answer GET and cannot be re-created or deleted;
- another service name: 404 `Client::NotFound` "This service does not exist".

The regional handlers run behind the fault layer on their `/v1` path, so `/_emulator/faults`
(status, `Retry-After`, delays) and `/_emulator/requests` cover both doors; a scripted dropped
connection answers 500 on this door.

Every answer carries an `X-Ovh-QueryID` header, as OVHcloud's do.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import Message, Scope

from . import datastore
from .context import Context, ctx
from .faults import FaultMiddleware
from .ovh_auth import ALL_METHODS, OAUTH2_TOKEN_SECONDS, OvhDoorConfig, OvhRefusal

PREFIX = "/1.0"
# The public door's AI paths that the regional handlers serve: (pattern of the rest, /v1 path).
_MAPPED: list[tuple[re.Pattern[str], str]] = [
    (re.compile(r"^app(/[^/]+(/(start|stop|scalingstrategy|image|label|log|datasync))?)?$"), "/v1/{rest}"),
    (re.compile(r"^token(/[^/]+(/renew)?)?$"), "/v1/{rest}"),
    (re.compile(r"^capabilities/quota$"), "/v1/capabilities/quota"),
    (re.compile(r"^capabilities/region/[^/]+/flavor(?P<tail>/[^/]+)?$"), "/v1/capabilities/flavor{tail}"),
]
_LISTS = re.compile(r"^(app|token|capabilities/region/[^/]+/flavor)$")
_ALIAS = re.compile(r"^data/region/(?P<region>[^/]+)/alias(/(?P<alias>[^/]+))?$")
ALIAS_FIELDS = ("alias", "endpoint", "owner", "type", "prefix")
CLASS_OF = {400: "Client::BadRequest", 401: "Client::Unauthorized", 402: "Client::PaymentRequired",
            403: "Client::Forbidden", 404: "Client::NotFound", 409: "Client::Conflict",
            429: "Client::TooManyRequests"}  # fmt: skip


def _door(request: Request) -> OvhDoorConfig:
    return ctx(request).ovh


def _error(status: int, message: str, klass: str | None = None) -> Response:
    name = klass or CLASS_OF.get(status, "Server::InternalServerError" if status >= 500 else "Client::Error")
    return JSONResponse({"class": name, "message": message}, status_code=status, headers=_query_id())


def _query_id() -> dict[str, str]:
    return {"X-Ovh-QueryID": f"EU.emulator.{uuid.uuid4().hex[:16]}"}


async def auth_time(request: Request) -> Response:
    return JSONResponse(int(time.time()), headers=_query_id())


async def oauth2_token(request: Request) -> Response:
    form = dict(parse_qsl((await request.body()).decode("utf-8", "replace")))
    try:
        token = _door(request).issue_token(request.headers.get("authorization"), form)
    except ValueError as error:
        status = 401 if str(error) == "invalid_client" else 400
        return JSONResponse({"error": str(error)}, status_code=status)
    return JSONResponse(
        {"access_token": token, "token_type": "Bearer", "expires_in": OAUTH2_TOKEN_SECONDS, "scope": "all"}
    )


async def current_credential(request: Request) -> Response:
    """`GET /1.0/auth/currentCredential`: the signing consumer key with its rules (see ovh_auth)."""
    body = await request.body()
    try:
        answer = _door(request).current_credential(
            request.headers, request.method, _full_url(request), body.decode("utf-8", "replace")
        )
    except OvhRefusal as refusal:
        return JSONResponse(refusal.body(), status_code=refusal.status, headers=_query_id())
    return JSONResponse(answer, headers=_query_id())


def _check(request: Request, body: bytes) -> None:
    door = _door(request)
    header = request.headers.get("authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        door.verify_bearer(value.strip())
        return
    door.verify_signed(request.headers, request.method, _full_url(request), body.decode("utf-8", "replace"))


def _full_url(request: Request) -> str:
    """The URL as the client sent (and signed) it: the raw path and query, never re-encoded."""
    raw = request.scope.get("raw_path") or request.scope["path"].encode()
    query = request.scope.get("query_string", b"")
    host = request.headers.get("host") or request.url.netloc
    url = f"{request.url.scheme}://{host}{raw.decode('latin-1')}"
    return f"{url}?{query.decode('latin-1')}" if query else url


async def ai(request: Request) -> Response:
    """Every `/1.0/cloud/project/{serviceName}/ai/{rest}` call."""
    body = await request.body()
    try:
        _check(request, body)
    except OvhRefusal as refusal:
        return JSONResponse(refusal.body(), status_code=refusal.status, headers=_query_id())
    context = ctx(request)
    if request.path_params["service"] != context.ovh.service_name:
        return _error(404, "This service does not exist")
    rest = request.path_params["rest"].strip("/")
    found = _ALIAS.match(rest)
    if found:
        return await _aliases(request, context, found["region"].upper(), found["alias"], body)
    for pattern, target in _MAPPED:
        matched = pattern.match(rest)
        if matched:
            path = target.format(rest=rest, tail=matched.groupdict().get("tail") or "")
            status, answer = await _forward(request, context, path, body, request.method)
            if rest.endswith("/log") and status == 200:
                return _logs(answer)
            response = _translate(status, answer, bool(_LISTS.match(rest)) and request.method == "GET")
            retry_after = getattr(request.state, "retry_after", None)
            if retry_after is not None:
                response.headers["Retry-After"] = retry_after
            return response
    return _error(404, f"Got an invalid (or empty) URL: {request.url.path}")


async def _forward(
    request: Request, context: Context, path: str, body: bytes, method: str
) -> tuple[int, bytes]:
    """Run the regional handler of `path` as the project's operator; (status, body)."""
    headers = [(k, v) for k, v in request.scope["headers"]
               if k not in (b"authorization", b"content-length") and not k.startswith(b"x-ovh-")]  # fmt: skip
    headers += [(b"authorization", f"Bearer {context.admin_token}".encode()),
                (b"content-length", str(len(body)).encode())]  # fmt: skip
    scope: Scope = {**request.scope, "path": path, "raw_path": path.encode(), "root_path": "",
                    "headers": headers, "method": method}  # fmt: skip
    scope.pop("path_params", None)
    scope.pop("endpoint", None)
    scope.pop("route", None)
    sent = False

    async def receive() -> Message:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    status = 500
    chunks: list[bytes] = []

    async def send(message: Message) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = int(message["status"])
            for name, value in message.get("headers", []):
                if name.lower() == b"retry-after":
                    request.state.retry_after = value.decode("latin-1")
        elif message["type"] == "http.response.body":
            chunks.append(message.get("body", b""))

    # Through the fault layer, on the /v1 path: `/_emulator/faults` scripts and counts both doors.
    await FaultMiddleware(request.scope["app"], context.faults)(scope, receive, send)
    return status, b"".join(chunks)


def _logs(raw: bytes) -> Response:
    """The regional door's plain-text log as this door's `cloud.project.ai.Logs`."""
    now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    lines = [{"content": line, "timestamp": now} for line in raw.decode("utf-8", "replace").splitlines()]
    return JSONResponse({"logs": lines, "lastActivity": now}, headers=_query_id())


def _translate(status: int, raw: bytes, is_list: bool) -> Response:
    try:
        body: Any = json.loads(raw) if raw.strip() else None
    except ValueError:
        body = raw.decode("utf-8", "replace")
    if status >= 400:
        message = body.get("message") if isinstance(body, dict) else None
        return _error(status, str(message or body or "error"))
    if body is None:
        return Response(status_code=status, headers=_query_id())
    if is_list and isinstance(body, dict) and isinstance(body.get("items"), list):
        body = body["items"]
    if isinstance(body, str):
        return Response(body, status_code=status, media_type="text/plain", headers=_query_id())
    return JSONResponse(body, status_code=status, headers=_query_id())


async def _aliases(
    request: Request, context: Context, region: str, alias: str | None, body: bytes
) -> Response:
    """The region's datastore aliases, in the one alias store of emulator/datastore.py (persisted
    with the state; the app volumes are checked against it). Credentials are never kept."""
    store = context.store
    method = request.method
    defaults = {r["alias"]: r for r in datastore.default_alias_records(region)}
    if alias is None and method == "GET":
        return JSONResponse(list(datastore.aliases(store, region).values()), headers=_query_id())
    if method in ("POST", "PUT") and (alias is None) == (method == "POST"):
        spec = _alias_input(body)
        if isinstance(spec, Response):
            return spec
        if method == "PUT" and spec["alias"] != alias:
            return _error(400, f"alias {spec['alias']!r} of the body is not the alias of the path ({alias})")
        async with store.lock:
            mine = datastore.aliases(store, region)
            name = spec["alias"]
            if method == "POST" and (name in mine or name in defaults):
                return _error(409, f"Data store alias {name} already exists in {region}")
            if method == "PUT" and name not in mine:
                return _error(404 if name not in defaults else 403, f"Data store alias {name} "
                              + ("is owned by OVHcloud" if name in defaults else f"not found in {region}"))
            now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
            created = mine.get(name, {}).get("createdAt", now)
            mine[name] = {**{k: spec[k] for k in ALIAS_FIELDS if k in spec}, "region": region,
                          "createdAt": created, "updatedAt": now}  # fmt: skip
            store.save()
            if method == "PUT":
                return Response(status_code=200, headers=_query_id())
            return JSONResponse(mine[name], headers=_query_id())
    if alias is not None and method in ("GET", "DELETE"):
        async with store.lock:
            mine = datastore.aliases(store, region)
            if alias in mine and method == "GET":
                return JSONResponse(mine[alias], headers=_query_id())
            if alias in mine:
                del mine[alias]
                store.save()
                return Response(status_code=204, headers=_query_id())
        if alias in defaults:
            if method == "GET":
                return JSONResponse({**defaults[alias], "region": region}, headers=_query_id())
            return _error(403, f"Data store alias {alias} is owned by OVHcloud and cannot be deleted")
        return _error(404, f"Data store alias {alias} not found in {region}")
    return _error(405, f"{method} is not allowed here")


def _alias_input(body: bytes) -> dict[str, Any] | Response:
    """A `cloud.project.ai.DataStoreInput`, checked as far as the schema says."""
    try:
        spec = json.loads(body or b"{}")
    except ValueError:
        return _error(400, "Invalid JSON body")
    if not isinstance(spec, dict):
        return _error(400, "Invalid JSON body")
    missing = [k for k in ("alias", "credentials", "endpoint", "owner", "type") if not spec.get(k)]
    if missing:
        return _error(400, f"Missing parameter(s): {', '.join(missing)}")
    if spec["owner"] not in ("customer", "ovhcloud") or spec["type"] not in ("git", "s3", "swift"):
        return _error(400, "Invalid parameter(s): owner (customer|ovhcloud), type (git|s3|swift)")
    credentials = spec["credentials"]
    if spec["type"] == "s3":
        # The schema's DataStoreCredentialsInput: {"s3": {accessKey, secretKey, region}}. The flat
        # {accessKey, secretKey, region} (what the first tests of this door sent) is still taken.
        s3 = credentials.get("s3", credentials) if isinstance(credentials, dict) else None
        absent = [k for k in ("accessKey", "secretKey", "region")
                  if not isinstance(s3, dict) or not s3.get(k)]  # fmt: skip
        if absent:
            return _error(400, f"Missing parameter(s): credentials.s3.{', credentials.s3.'.join(absent)}")
    return dict(spec)


routes = [
    Route(f"{PREFIX}/auth/time", auth_time, methods=["GET"]),
    Route(f"{PREFIX}/auth/currentCredential", current_credential, methods=["GET"]),
    Route("/auth/oauth2/token", oauth2_token, methods=["POST"]),
    Route(f"{PREFIX}/cloud/project/{{service}}/ai/{{rest:path}}", ai, methods=list(ALL_METHODS)),
]
