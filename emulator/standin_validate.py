"""Request checks in vLLM's order: the pydantic model of the request, then the sampling values.

Field types and the request model's validators (vllm/entrypoints/openai/protocol.py:
ChatCompletionRequest / CompletionRequest) fail as FastAPI validation errors, which vLLM turns into
a 400 with the error list as the message; sampling values fail in SamplingParams._verify_args
(vllm/sampling_params.py) with their own sentence, also a 400.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .standin_errors import StandinError, validation_error

_FLOATS = ("temperature", "top_p", "frequency_penalty", "presence_penalty", "min_p", "repetition_penalty")
_INTS = ("n", "max_tokens", "max_completion_tokens", "seed", "top_k", "min_tokens")
_BOOLS = ("stream", "echo", "ignore_eos")
_LONG = 2**63 - 1  # `seed` is bounded to torch.long in protocol.py
MAX_N = 128


@dataclass(frozen=True)
class Parsed:
    body: dict[str, Any]
    chat: bool
    model: str | None
    n: int
    max_tokens: int | None
    stream: bool
    include_usage: bool
    logprobs: int | None  # top-k alternatives per token, None when logprobs are off
    tool_choice: Any
    tools: list[dict[str, Any]]
    response_format: dict[str, Any] | None


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        position = exc.pos if isinstance(exc, json.JSONDecodeError) else 0
        raise validation_error("JSON decode error", ("body", position), "json_invalid") from None
    if not isinstance(body, dict):
        raise validation_error(
            "Input should be a valid dictionary or object to extract fields from",
            ("body",),
            "model_attributes_type",
        )
    return body


def _check_types(body: dict[str, Any], chat: bool) -> None:
    def bad(name: str, kind: str, msg: str) -> StandinError:
        return validation_error(msg, ("body", name), kind)

    for name in _FLOATS:
        value = body.get(name)
        if value is not None and (isinstance(value, bool) or not isinstance(value, int | float)):
            raise bad(name, "float_type", "Input should be a valid number")
    ints = _INTS + (("top_logprobs",) if chat else ("logprobs",))
    for name in ints:
        value = body.get(name)
        integral = isinstance(value, int) or (isinstance(value, float) and value.is_integer())
        if value is not None and (isinstance(value, bool) or not integral):
            raise bad(name, "int_type", "Input should be a valid integer")
    for name in _BOOLS + (("logprobs",) if chat else ()):
        value = body.get(name)
        if value is not None and not isinstance(value, bool):
            raise bad(name, "bool_type", "Input should be a valid boolean")
    seed = body.get("seed")
    if isinstance(seed, int | float) and not -_LONG - 1 <= seed <= _LONG:
        kind, bound = ("less_than_equal", _LONG) if seed > 0 else ("greater_than_equal", -_LONG - 1)
        words = "less than or equal to" if seed > 0 else "greater than or equal to"
        raise bad("seed", kind, f"Input should be {words} {bound}")
    if body.get("model") is not None and not isinstance(body["model"], str):
        raise bad("model", "string_type", "Input should be a valid string")
    stop = body.get("stop")
    if (
        stop is not None
        and not isinstance(stop, str)
        and not (isinstance(stop, list) and all(isinstance(s, str) for s in stop))
    ):
        raise bad("stop", "list_type", "Input should be a valid list")
    if chat:
        messages = body.get("messages")
        if messages is None:
            raise validation_error("Field required", ("body", "messages"), "missing")
        if not isinstance(messages, list):
            raise bad("messages", "list_type", "Input should be a valid list")
        for index, message in enumerate(messages):
            if not isinstance(message, dict) or "role" not in message:
                raise validation_error("Field required", ("body", "messages", index, "role"), "missing")
    else:
        prompt = body.get("prompt")
        if prompt is None:
            raise validation_error("Either prompt or prompt_embeds must be provided and non-empty.")
        if not isinstance(prompt, str | list):
            raise bad("prompt", "string_type", "Input should be a valid string")


def _check_response_format(body: dict[str, Any]) -> dict[str, Any] | None:
    fmt = body.get("response_format")
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") not in ("text", "json_object", "json_schema"):
        raise validation_error(
            "Input should be 'text', 'json_object' or 'json_schema'",
            ("body", "response_format", "type"),
            "literal_error",
        )
    if fmt["type"] == "json_schema":
        spec = fmt.get("json_schema")
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str):
            raise validation_error(
                "Field required", ("body", "response_format", "json_schema", "name"), "missing"
            )
    return fmt


def _check_tools(body: dict[str, Any]) -> tuple[Any, list[dict[str, Any]]]:
    """ChatCompletionRequest.check_tool_usage: tools default tool_choice to "auto"."""
    tools = body.get("tools")
    if tools is not None and not (
        isinstance(tools, list)
        and all(
            isinstance(t, dict)
            and isinstance(t.get("function"), dict)
            and isinstance(t["function"].get("name"), str)
            for t in tools
        )
    ):
        raise validation_error("Field required", ("body", "tools", 0, "function", "name"), "missing")
    choice = body.get("tool_choice", "auto" if tools else "none")
    if choice is None or choice == "none":
        return "none", tools or []
    if tools is None:
        raise validation_error("When using `tool_choice`, `tools` must be set.")
    if choice not in ("auto", "required") and not isinstance(choice, dict):
        raise validation_error(
            f'Invalid value for `tool_choice`: {choice}! Only named tools, "none", '
            '"auto" or "required" are supported.'
        )
    if choice == "required" and not tools:
        return "none", []
    if isinstance(choice, dict):
        usage = 'Correct usage: `{"type": "function", "function": {"name": "my_function"}}`'
        function = choice.get("function")
        if not isinstance(function, dict):
            raise validation_error(f"Invalid value for `function`: `{function}` in `tool_choice`! {usage}")
        name = function.get("name")
        if not isinstance(name, str) or not name:
            raise validation_error(f"Invalid `name` in `function`: `{name}` in `tool_choice`! {usage}")
        if name not in [t["function"]["name"] for t in tools]:
            raise validation_error(
                "The tool specified in `tool_choice` does not match any of the specified `tools`"
            )
    return choice, tools


def parse_request(body: dict[str, Any], chat: bool) -> Parsed:
    """The request model's own checks (a 400 validation error each)."""
    _check_types(body, chat)
    if body.get("stream_options") and not body.get("stream"):
        raise validation_error("Stream options can only be defined when `stream=True`.")
    options = body.get("stream_options") or {}
    if not isinstance(options, dict):
        raise validation_error("Input should be a valid dictionary", ("body", "stream_options"), "dict_type")
    if chat:
        top = body.get("top_logprobs")
        if top is not None and top < 0:
            raise validation_error("`top_logprobs` must be a positive value.")
        if top is not None and top > 0 and not body.get("logprobs"):
            raise validation_error("when using `top_logprobs`, `logprobs` must be set to true.")
        logprobs = int(top or 0) if body.get("logprobs") else None
        choice, tools = _check_tools(body)
        max_tokens = body.get("max_completion_tokens") or body.get("max_tokens")
    else:
        logprobs = None if body.get("logprobs") is None else int(body["logprobs"])
        choice, tools = "none", []
        max_tokens = body.get("max_tokens", 16)  # CompletionRequest's default
    return Parsed(
        body=body,
        chat=chat,
        model=body.get("model"),
        n=int(body["n"]) if body.get("n") is not None else 1,
        max_tokens=None if max_tokens is None else int(max_tokens),
        stream=bool(body.get("stream")),
        include_usage=bool(options.get("include_usage", True)) if body.get("stream_options") else False,
        logprobs=logprobs,
        tool_choice=choice,
        tools=tools,
        response_format=_check_response_format(body),
    )


def check_sampling(parsed: Parsed, max_logprobs: int) -> None:
    """SamplingParams._verify_args, in its order; the message is vLLM's sentence."""
    body = parsed.body
    if parsed.n < 1:
        raise StandinError(f"n must be at least 1, got {parsed.n}.")
    if parsed.n > MAX_N:  # the stand-in's own bound: a real engine would queue them, or run out of memory
        raise StandinError(f"n must be at most {MAX_N} on the emulator, got {parsed.n}.")
    for name in ("presence_penalty", "frequency_penalty"):
        value = body.get(name)
        if value is not None and not -2.0 <= value <= 2.0:
            raise StandinError(f"{name} must be in [-2, 2], got {value}.")
    temperature = body.get("temperature")
    if temperature is not None and temperature < 0:
        raise StandinError(f"temperature must be non-negative, got {temperature}.")
    top_p = body.get("top_p")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise StandinError(f"top_p must be in (0, 1], got {top_p}.")
    if parsed.max_tokens is not None and parsed.max_tokens < 1:
        raise StandinError(f"max_tokens must be at least 1, got {parsed.max_tokens}.")
    if parsed.logprobs is not None and parsed.logprobs < 0:
        raise StandinError(f"logprobs must be non-negative, got {parsed.logprobs}.")
    if parsed.logprobs is not None and parsed.logprobs > max_logprobs:
        raise StandinError(
            f"Requested sample logprobs of {parsed.logprobs}, which is greater than max allowed: "
            f"{max_logprobs}"
        )
