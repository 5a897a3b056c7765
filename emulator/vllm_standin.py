"""A stand-in of vLLM's OpenAI-compatible server at each app's URL (`/app/<id>/...`).

Like the platform's gateway, it first checks the Bearer token (valid, with a label selector that
matches the app) unless the app has `unsecureHttp`, then answers 503 until the app is serving
(always, for an `emulator-never-ready` image). Past the gateway it answers like the vLLM release
the app's image names, configured by the app's command (served names, `--max-model-len`, tool
calling): see standin_release.py and standin_command.py. Replies are deterministic; tokens come
from standin_tokenizer.py, so `usage`, `/tokenize` and the context-length check agree.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from . import backend, datastore, lifecycle
from .auth import bearer, resolve
from .context import ctx
from .standin_command import Serving, serving_of
from .standin_errors import StandinError, error_response, validation_error
from .standin_generate import Output, chat_logprobs, check_context, completion_logprobs, generate, reply_for
from .standin_metrics import AppMetrics, render
from .standin_queue import max_num_seqs_of
from .standin_tokenizer import VOCAB, render_chat
from .standin_validate import Parsed, check_sampling, parse_body, parse_request

FOUNDER_ANSWER = "OVHcloud was founded in 1999 by Octave Klaba, who still chairs the company."
TOKEN_SECONDS = 0.01  # pace of a streamed token: long enough for /metrics to see a running request


@dataclass
class App:
    id: str
    serving: Serving
    metrics: AppMetrics


def _metrics_of(request: Request, app_id: str) -> AppMetrics:
    # Kept on the Starlette app's state: in memory, per emulator process, like vLLM's registry.
    state = request.app.state
    table: dict[str, AppMetrics] | None = getattr(state, "standin_metrics", None)
    if table is None:
        table = {}
        state.standin_metrics = table
    return table.setdefault(app_id, AppMetrics())


async def _gate(request: Request) -> App | Response:
    """The platform's gateway: the app, the token, readiness. Then vLLM's own answers."""
    context = ctx(request)
    now = time.time()
    app_id = request.path_params["app_id"]
    app = context.store.apps.get(app_id)
    if app is None or lifecycle.current_state(app["schedule"], now) is lifecycle.AppState.DELETED:
        return JSONResponse({"message": "app not found"}, status_code=404)
    spec = app["spec"]
    if not spec.get("unsecureHttp"):
        principal = resolve(bearer(request), context.store, context.admin_token)
        if principal is None or not principal.sees(spec["labels"]):
            return JSONResponse({"message": "missing or invalid bearer token for this app"}, status_code=401)
    if lifecycle.NEVER_READY_MARKER in spec["image"] or not lifecycle.is_serving(app["schedule"], now):
        state = lifecycle.current_state(app["schedule"], now).value
        return JSONResponse({"message": f"app is not ready (state {state})"}, status_code=503)
    if datastore.downloading(app, now):  # vLLM listens once the weights are in /hub and loaded
        return JSONResponse({"message": "app is not ready (vLLM is downloading the model weights "
                             "from the Hugging Face Hub)"}, status_code=503)
    return App(app_id, serving_of(spec), _metrics_of(request, app_id))


Handler = Callable[[Request, App], Awaitable[Response]]


def _endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Gate, then the handler; a refused request gets vLLM's error body for the release."""

    async def endpoint(request: Request) -> Response:
        gate = await _gate(request)
        if isinstance(gate, Response):
            return gate
        try:
            return await handler(request, gate)
        except StandinError as error:
            return error_response(gate.serving.release, error)
        except Exception as exc:  # a stand-in bug must still answer like vLLM, not with a traceback
            failure = StandinError(f"{type(exc).__name__}: {exc}", 500, "InternalServerError")
            return error_response(gate.serving.release, failure)

    return endpoint


def _check_model(model: str | None, serving: Serving) -> str:
    if model is None or model == "":
        return serving.served
    if model not in serving.names:
        raise StandinError(f"The model `{model}` does not exist.", 404, "NotFoundError")
    return model


async def health(request: Request, app: App) -> Response:
    return Response(status_code=200)


async def version(request: Request, app: App) -> Response:
    return JSONResponse({"version": app.serving.release.text})


async def models(request: Request, app: App) -> Response:
    """ModelList as vllm/entrypoints/openai/serving_models.py builds it: root is the model path."""
    created = int(time.time())
    data = [
        {
            "id": name,
            "object": "model",
            "created": created,
            "owned_by": "vllm",
            "root": app.serving.model,
            "parent": None,
            "max_model_len": app.serving.max_model_len,
            "permission": [
                {
                    "id": f"modelperm-{uuid.uuid4().hex}",
                    "object": "model_permission",
                    "created": created,
                    "allow_create_engine": False,
                    "allow_sampling": True,
                    "allow_logprobs": True,
                    "allow_search_indices": False,
                    "allow_view": True,
                    "allow_fine_tuning": False,
                    "organization": "*",
                    "group": None,
                    "is_blocking": False,
                }
            ],
        }
        for name in app.serving.names
    ]
    return JSONResponse({"object": "list", "data": data})


def metrics_text(request: Request, record: dict[str, Any]) -> str:
    """What `/metrics` of an app answers now (the autoscaler reads it as the platform would)."""
    serving = serving_of(record["spec"])
    return render(_metrics_of(request, record["id"]), serving.release, serving.served, serving.kv_tokens)


async def metrics(request: Request, app: App) -> Response:
    text = render(app.metrics, app.serving.release, app.serving.served, app.serving.kv_tokens)
    return PlainTextResponse(text, media_type="text/plain; version=0.0.4; charset=utf-8")


async def tokenize(request: Request, app: App) -> Response:
    """TokenizeCompletionRequest / TokenizeChatRequest -> {count, max_model_len, tokens, token_strs}."""
    body = parse_body(await request.body())
    _check_model(body.get("model"), app.serving)
    if "messages" in body:
        parse_request({"messages": body["messages"]}, chat=True)  # same message checks as chat
        tools = body.get("tools")
        if tools is not None and not isinstance(tools, list):
            raise validation_error("Input should be a valid list", ("body", "tools"), "list_type")
        ids = VOCAB.encode(render_chat(body["messages"], tools))
    elif isinstance(body.get("prompt"), str):
        ids = VOCAB.encode(body["prompt"], add_bos=body.get("add_special_tokens", True) is not False)
    else:
        raise validation_error("Field required", ("body", "prompt"), "missing")
    strs = [VOCAB.piece(i) for i in ids] if body.get("return_token_strs") else None
    return JSONResponse(
        {"count": len(ids), "max_model_len": app.serving.max_model_len, "tokens": ids, "token_strs": strs}
    )


async def detokenize(request: Request, app: App) -> Response:
    body = parse_body(await request.body())
    _check_model(body.get("model"), app.serving)
    tokens = body.get("tokens")
    if not isinstance(tokens, list) or not all(
        isinstance(t, int) and not isinstance(t, bool) for t in tokens
    ):
        raise validation_error("Input should be a valid list of integers", ("body", "tokens"), "list_type")
    for token in tokens:
        if VOCAB.piece(token) is None:
            raise StandinError(f"Token id {token} is out of vocabulary")
    return JSONResponse({"prompt": VOCAB.decode(tokens)})


def _prompts(parsed: Parsed) -> list[tuple[list[int], str]]:
    """(token ids, the text the reply answers) per prompt; a completion may batch prompts."""
    body = parsed.body
    if parsed.chat:
        messages = body["messages"]
        users = [m for m in messages if m.get("role") == "user"]
        last = str(users[-1].get("content") or "") if users else ""
        return [(VOCAB.encode(render_chat(messages, parsed.tools or None)), last)]
    prompt = body["prompt"]
    if isinstance(prompt, str):
        return [(VOCAB.encode(prompt, add_bos=True), prompt)]
    if prompt and all(isinstance(p, int) and not isinstance(p, bool) for p in prompt):
        return [(list(prompt), VOCAB.decode(prompt))]
    if prompt and all(isinstance(p, str) for p in prompt):
        return [(VOCAB.encode(p, add_bos=True), p) for p in prompt]
    raise validation_error("Input should be a valid string", ("body", "prompt"), "string_type")


async def chat_completions(request: Request, app: App) -> Response:
    return await _complete(request, app, chat=True)


async def completions(request: Request, app: App) -> Response:
    return await _complete(request, app, chat=False)


async def _complete(request: Request, app: App, *, chat: bool) -> Response:
    started = time.monotonic()
    serving = app.serving
    parsed = parse_request(parse_body(await request.body()), chat)
    model = _check_model(parsed.model, serving)
    if chat and parsed.tool_choice == "auto" and not (serving.auto_tool_choice and serving.tool_parser):
        raise StandinError(
            '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
        )
    prompts = _prompts(parsed)
    for ids, _ in prompts:
        check_context(serving.release, serving.max_model_len, len(ids), parsed.max_tokens)
    check_sampling(parsed, serving.max_logprobs)
    outputs: list[Output] = []
    for ids, asked in prompts:
        reply = reply_for(asked, model)
        budget = parsed.max_tokens if parsed.max_tokens is not None else serving.max_model_len - len(ids)
        for _ in range(parsed.n):
            outputs.append(
                generate(
                    reply,
                    asked,
                    max_tokens=budget,
                    fmt=parsed.response_format,
                    tool_choice=parsed.tool_choice,
                    tools=parsed.tools,
                    min_tokens=int(parsed.body.get("min_tokens") or 0),
                    ignore_eos=parsed.body.get("ignore_eos") is True,
                )
            )
    prompt_tokens = sum(len(ids) for ids, _ in prompts)
    usage = {
        "prompt_tokens": prompt_tokens,
        "total_tokens": prompt_tokens + sum(len(o.pieces) for o in outputs),
        "completion_tokens": sum(len(o.pieces) for o in outputs),
        "prompt_tokens_details": None,
    }
    ident = ("chatcmpl-" if chat else "cmpl-") + uuid.uuid4().hex
    created = int(time.time())
    head = {"id": ident, "created": created, "model": model}
    capacity = _capacity(request, app.id)
    if parsed.stream:
        stream = _stream(app, parsed, head, outputs, usage, started, capacity)
        return StreamingResponse(stream, media_type="text/event-stream")
    async with app.metrics.queue.slot(capacity):  # a full server holds the request in line
        _record(app.metrics, outputs, usage, started, started)
    choices = [_choice(parsed, index, output) for index, output in enumerate(outputs)]
    kind = "chat.completion" if chat else "text_completion"
    return JSONResponse({**head, "object": kind, "choices": choices, "usage": usage})


def _capacity(request: Request, app_id: str) -> Callable[[], int]:
    """Requests the app runs at once now: --max-num-seqs per replica (standin_queue.py)."""
    store = ctx(request).store
    record = store.apps.get(app_id)
    per_replica = max_num_seqs_of(record["spec"]) if record else 1  # the command, read once

    def capacity() -> int:  # re-read while waiting: the autoscaler may add replicas meanwhile
        current = store.apps.get(app_id)
        if current is None:  # deleted while waiting: let the request end
            return 1 << 30
        return per_replica * max(1, backend.current_replicas(current))

    return capacity


def _choice(parsed: Parsed, index: int, output: Output) -> dict[str, Any]:
    if not parsed.chat:
        logprobs = None if parsed.logprobs is None else completion_logprobs(output.pieces, parsed.logprobs)
        return {
            "index": index,
            "text": output.text,
            "logprobs": logprobs,
            "finish_reason": output.finish_reason,
            "stop_reason": None,
            "prompt_logprobs": None,
        }
    message: dict[str, Any] = {"role": "assistant", "content": output.text, "tool_calls": output.tool_calls}
    if output.tool_calls:
        message["content"] = None if parsed.tool_choice == "auto" else ""
    logprobs = None if parsed.logprobs is None else chat_logprobs(output.pieces, parsed.logprobs)
    return {
        "index": index,
        "message": message,
        "logprobs": logprobs,
        "finish_reason": output.finish_reason,
        "stop_reason": None,
    }


def _record(
    metrics: AppMetrics, outputs: list[Output], usage: dict[str, Any], started: float, first: float
) -> None:
    now = time.monotonic()
    metrics.ttft.observe(max(first, started) - started if first > started else now - started)
    for output in outputs:
        gaps = max(0, len(output.pieces) - 1)
        for _ in range(gaps):
            metrics.itl.observe((now - started) / max(1, len(output.pieces)))
    metrics.start(usage["total_tokens"])
    reason = outputs[0].finish_reason if outputs else "stop"
    metrics.finish(
        usage["total_tokens"], usage["prompt_tokens"], usage["completion_tokens"], reason, now - started
    )


async def _stream(
    app: App,
    parsed: Parsed,
    head: dict[str, Any],
    outputs: list[Output],
    usage: dict[str, Any],
    started: float,
    capacity: Callable[[], int],
) -> AsyncIterator[str]:
    """SSE chunks as serving_chat.py / serving_completion.py stream them, one token a chunk,
    once the scheduler runs the request (the first chunk comes with the first token, as in vLLM,
    so a request that waits in line has a longer time to first token)."""
    async with app.metrics.queue.slot(capacity):
        async for chunk in _run(app, parsed, head, outputs, usage, started):
            yield chunk


async def _run(
    app: App,
    parsed: Parsed,
    head: dict[str, Any],
    outputs: list[Output],
    usage: dict[str, Any],
    started: float,
) -> AsyncIterator[str]:
    kind = "chat.completion.chunk" if parsed.chat else "text_completion"
    metrics = app.metrics
    metrics.start(usage["total_tokens"])
    finished = "abort"

    def event(choices: list[dict[str, Any]], **extra: Any) -> str:
        return f"data: {json.dumps({**head, 'object': kind, 'choices': choices, **extra})}\n\n"

    def delta_choice(
        index: int, delta: dict[str, Any], piece: str | None, finish: str | None
    ) -> dict[str, Any]:
        logprobs = None
        if parsed.logprobs is not None and piece is not None:
            logprobs = (
                chat_logprobs([piece], parsed.logprobs)
                if parsed.chat
                else completion_logprobs([piece], parsed.logprobs)
            )
        if parsed.chat:
            return {"index": index, "delta": delta, "logprobs": logprobs, "finish_reason": finish}
        return {
            "index": index,
            "text": delta.get("content", ""),
            "logprobs": logprobs,
            "finish_reason": finish,
        }

    try:
        last = time.monotonic()
        first_seen = False
        longest = max((len(o.pieces) for o in outputs), default=0)
        for step in range(longest):
            await asyncio.sleep(TOKEN_SECONDS)
            now = time.monotonic()
            if not first_seen:
                metrics.ttft.observe(now - started)
                first_seen = True
                if parsed.chat:  # serving_chat.py sends the role with the first engine output
                    yield event(
                        [
                            delta_choice(i, {"role": "assistant", "content": ""}, None, None)
                            for i in range(len(outputs))
                        ]
                    )
            else:
                metrics.itl.observe(now - last)
            last = now
            chunks = []
            for index, output in enumerate(outputs):
                if step >= len(output.pieces):
                    continue
                done = output.finish_reason if step == len(output.pieces) - 1 else None
                if output.tool_calls:  # the parsed call arrives whole, with the last token
                    if done is None:
                        continue
                    calls = [{"index": i, **c} for i, c in enumerate(output.tool_calls)]
                    chunks.append(delta_choice(index, {"tool_calls": calls}, None, done))
                else:
                    piece = output.pieces[step]
                    chunks.append(delta_choice(index, {"content": piece}, piece, done))
            if chunks:
                yield event(chunks)
        if parsed.include_usage:
            yield event([], usage=usage)
        finished = outputs[0].finish_reason if outputs else "stop"
        yield "data: [DONE]\n\n"
    finally:
        metrics.finish(
            usage["total_tokens"],
            usage["prompt_tokens"],
            usage["completion_tokens"] if finished != "abort" else 0,
            finished,
            time.monotonic() - started,
        )


_ROUTES: list[tuple[str, Handler, str]] = [
    ("/health", health, "GET"),
    ("/version", version, "GET"),
    ("/metrics", metrics, "GET"),
    ("/v1/models", models, "GET"),
    ("/tokenize", tokenize, "POST"),
    ("/detokenize", detokenize, "POST"),
    ("/v1/chat/completions", chat_completions, "POST"),
    ("/v1/completions", completions, "POST"),
]
_KNOWN = {path: method for path, _, method in _ROUTES}


async def _unrouted(request: Request, app: App) -> Response:
    """FastAPI's own answers for a path vLLM does not serve, or a method it does not take."""
    path = "/" + request.path_params["rest"]
    if path in _KNOWN:
        return JSONResponse(
            {"detail": "Method Not Allowed"}, status_code=405, headers={"allow": _KNOWN[path]}
        )
    return JSONResponse({"detail": "Not Found"}, status_code=404)


_ANY = ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"]
routes = [
    Route(f"/app/{{app_id}}{path}", _endpoint(handler), methods=[method]) for path, handler, method in _ROUTES
]
routes.append(Route("/app/{app_id}/{rest:path}", _endpoint(_unrouted), methods=_ANY))
