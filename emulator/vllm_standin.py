"""A stand-in of vLLM's OpenAI-compatible server at each app's URL (`/app/<id>/...`).

Like the platform's gateway, it first checks the Bearer token (valid, with a label selector that
matches the app) unless the app has `unsecureHttp`, then answers 503 until the app is serving
(always, for an `emulator-never-ready` image). Replies are deterministic; token counts are word
counts, which is close enough for tests of `usage` plumbing.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import lifecycle
from .auth import bearer, resolve
from .context import ctx
from .model_name import served_model_names

FOUNDER_ANSWER = "OVHcloud was founded in 1999 by Octave Klaba, who still chairs the company."


def _error(status: int, message: str, kind: str) -> JSONResponse:
    body = {"object": "error", "message": message, "type": kind, "param": None, "code": status}
    return JSONResponse(body, status_code=status)


def _reply_for(prompt: str, model: str) -> str:
    lowered = prompt.lower()
    if "ovh" in lowered and ("found" in lowered or "créé" in lowered or "fond" in lowered):
        return FOUNDER_ANSWER
    snippet = " ".join(prompt.split()[:12])
    return f"This is the local vLLM stand-in serving {model}. You asked: {snippet}"


def _words(text: str) -> list[str]:
    return text.split()


def _limit(reply: str, max_tokens: Any) -> tuple[list[str], str]:
    words = _words(reply)
    if isinstance(max_tokens, int) and not isinstance(max_tokens, bool) and 0 < max_tokens < len(words):
        return words[:max_tokens], "length"
    return words, "stop"


def _prompt_text(body: dict[str, Any], chat: bool) -> str:
    if not chat:
        prompt = body.get("prompt", "")
        return " ".join(prompt) if isinstance(prompt, list) else str(prompt)
    parts = []
    for message in body.get("messages") or []:
        content = message.get("content") if isinstance(message, dict) else ""
        if isinstance(content, list):  # [{"type": "text", "text": ...}]
            content = " ".join(str(c.get("text", "")) for c in content if isinstance(c, dict))
        parts.append(str(content or ""))
    return " ".join(parts)


def _last_user(body: dict[str, Any]) -> str:
    users = [m for m in body.get("messages") or [] if isinstance(m, dict) and m.get("role") == "user"]
    return _prompt_text({"messages": users[-1:]}, True) if users else _prompt_text(body, True)


async def _gate(request: Request) -> tuple[dict[str, Any], list[str]] | Response:
    """Auth, then readiness; returns the app record and its served model names."""
    context = ctx(request)
    now = time.time()
    app = context.store.apps.get(request.path_params["app_id"])
    if app is None or lifecycle.current_state(app["schedule"], now) is lifecycle.AppState.DELETED:
        return _error(404, "app not found", "NotFoundError")
    spec = app["spec"]
    if not spec.get("unsecureHttp"):
        principal = resolve(bearer(request), context.store, context.admin_token)
        if principal is None or not principal.sees(spec["labels"]):
            return JSONResponse({"message": "missing or invalid bearer token for this app"}, status_code=401)
    if lifecycle.NEVER_READY_MARKER in spec["image"] or not lifecycle.is_serving(app["schedule"], now):
        state = lifecycle.current_state(app["schedule"], now).value
        return JSONResponse({"message": f"app is not ready (state {state})"}, status_code=503)
    return app, served_model_names(spec.get("command") or [], spec.get("name") or "model")


async def health(request: Request) -> Response:
    gate = await _gate(request)
    return gate if isinstance(gate, Response) else Response(status_code=200)


async def models(request: Request) -> Response:
    gate = await _gate(request)
    if isinstance(gate, Response):
        return gate
    _app, names = gate
    created = int(time.time())
    data = [
        {"id": name, "object": "model", "created": created, "owned_by": "vllm", "root": names[0],
         "parent": None, "max_model_len": 32768}
        for name in names
    ]  # fmt: skip
    return JSONResponse({"object": "list", "data": data})


async def chat_completions(request: Request) -> Response:
    return await _complete(request, chat=True)


async def completions(request: Request) -> Response:
    return await _complete(request, chat=False)


async def _complete(request: Request, *, chat: bool) -> Response:
    gate = await _gate(request)
    if isinstance(gate, Response):
        return gate
    _app, names = gate
    try:
        body = json.loads(await request.body() or b"{}")
    except json.JSONDecodeError:
        return _error(400, "invalid JSON body", "BadRequestError")
    if not isinstance(body, dict):
        return _error(400, "the body must be a JSON object", "BadRequestError")
    model = body.get("model") or names[0]
    if model not in names:
        return _error(404, f"The model `{model}` does not exist.", "NotFoundError")
    if chat and not body.get("messages"):
        return _error(400, "messages: field required", "BadRequestError")
    prompt = _prompt_text(body, chat)
    reply = _reply_for(_last_user(body) if chat else prompt, model)
    words, finish = _limit(reply, body.get("max_tokens", body.get("max_completion_tokens")))
    usage = {
        "prompt_tokens": len(_words(prompt)) + (4 * len(body.get("messages") or []) if chat else 0),
        "completion_tokens": len(words),
    }
    usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    ident = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
    created = int(time.time())
    if body.get("stream"):
        options = body.get("stream_options") or {}
        include_usage = isinstance(options, dict) and bool(options.get("include_usage"))
        stream = _stream(ident, created, model, words, finish, usage if include_usage else None, chat)
        return StreamingResponse(stream, media_type="text/event-stream")
    text = " ".join(words)
    if chat:
        choice: dict[str, Any] = {
            "index": 0,
            "message": {"role": "assistant", "content": text, "tool_calls": []},
            "logprobs": None,
            "finish_reason": finish,
        }
    else:
        choice = {"index": 0, "text": text, "logprobs": None, "finish_reason": finish}
    return JSONResponse({
        "id": ident,
        "object": "chat.completion" if chat else "text_completion",
        "created": created,
        "model": model,
        "choices": [choice],
        "usage": usage,
    })  # fmt: skip


async def _stream(
    ident: str,
    created: int,
    model: str,
    words: list[str],
    finish: str,
    usage: dict[str, int] | None,
    chat: bool,
) -> AsyncIterator[str]:
    kind = "chat.completion.chunk" if chat else "text_completion"

    def chunk(delta_text: str | None, finish_reason: str | None, first: bool = False) -> str:
        if chat:
            delta: dict[str, Any] = {"role": "assistant", "content": ""} if first else {}
            if delta_text is not None:
                delta["content"] = delta_text
            choice: dict[str, Any] = {
                "index": 0,
                "delta": delta,
                "logprobs": None,
                "finish_reason": finish_reason,
            }
        else:
            choice = {"index": 0, "text": delta_text or "", "logprobs": None, "finish_reason": finish_reason}
        payload = {"id": ident, "object": kind, "created": created, "model": model, "choices": [choice]}
        return f"data: {json.dumps(payload)}\n\n"

    if chat:
        yield chunk(None, None, first=True)
    for index, word in enumerate(words):
        yield chunk(word if index == 0 else " " + word, None)
    yield chunk("", finish)
    if usage is not None:
        payload = {
            "id": ident,
            "object": kind,
            "created": created,
            "model": model,
            "choices": [],
            "usage": usage,
        }
        yield f"data: {json.dumps(payload)}\n\n"
    yield "data: [DONE]\n\n"


routes = [
    Route("/app/{app_id}/health", health, methods=["GET"]),
    Route("/app/{app_id}/v1/models", models, methods=["GET"]),
    Route("/app/{app_id}/v1/chat/completions", chat_completions, methods=["POST"]),
    Route("/app/{app_id}/v1/completions", completions, methods=["POST"]),
]
