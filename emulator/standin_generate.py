"""What the emulated model "generates": a deterministic reply, cut to `max_tokens`, as text,
as JSON that follows `response_format`, or as tool calls, with logprobs when asked.

vLLM's sampling extras that benchmarks send are honoured for text: `min_tokens` (no stop before
that many tokens) and `ignore_eos` (go on to `max_tokens`, finish_reason "length"), as
vllm/sampling_params.py defines them; the stand-in keeps "generating" by repeating its reply.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

from .standin_errors import StandinError
from .standin_release import Release
from .standin_schema import SchemaError, minimal_instance
from .standin_tokenizer import VOCAB

FOUNDER_ANSWER = "OVHcloud was founded in 1999 by Octave Klaba, who still chairs the company."
_ALTERNATIVES = (
    " the",
    " a",
    ",",
    ".",
    " and",
    " of",
    " to",
    " in",
    " is",
    " it",
    " that",
    " for",
    " on",
    " with",
    " as",
    " I",
    " be",
    " at",
    " by",
    " this",
    " we",
    " or",
    " an",
)


@dataclass
class Output:
    """One choice: its tokens (pieces), why it ended, and the tool calls it made."""

    pieces: list[str]
    finish_reason: str
    tool_calls: list[dict[str, Any]] = field(default_factory=list)

    @property
    def text(self) -> str:
        return "".join(self.pieces)


def reply_for(prompt: str, model: str) -> str:
    lowered = prompt.lower()
    if "ovh" in lowered and ("found" in lowered or "créé" in lowered or "fond" in lowered):
        return FOUNDER_ANSWER
    snippet = " ".join(prompt.split()[:12])
    return f"This is the local vLLM stand-in serving {model}. You asked: {snippet}"


def check_context(release: Release, max_len: int, prompt: int, max_tokens: int | None) -> None:
    """The over-the-context 400 (serving_engine.py `_validate_input`; renderers in 0.20+)."""
    head = f"This model's maximum context length is {max_len} tokens."
    if max_tokens is None or prompt >= max_len:
        if prompt < max_len:
            return
        if release.context_message == "requested":
            raise StandinError(
                f"{head} However, you requested {prompt} tokens in the messages, "
                "Please reduce the length of the messages."
            )
        raise StandinError(
            f"{head} However, your request has {prompt} input tokens. "
            "Please reduce the length of the input messages."
        )
    if prompt + max_tokens <= max_len:
        return
    style = release.context_message
    if style == "requested":
        raise StandinError(
            f"{head} However, you requested {prompt + max_tokens} tokens ({prompt} in the "
            f"messages, {max_tokens} in the completion). Please reduce the length of the "
            "messages or completion."
        )
    if style == "too_large":
        raise StandinError(
            f"'max_tokens' or 'max_completion_tokens' is too large: {max_tokens}. This model's "
            f"maximum context length is {max_len} tokens and your request has {prompt} input "
            f"tokens ({max_tokens} > {max_len} - {prompt})."
        )
    raise StandinError(
        f"{head} However, you requested {max_tokens} output tokens and your prompt contains at "
        f"least {prompt} input tokens, for a total of at least {prompt + max_tokens} tokens."
    )


def _cut(text: str, max_tokens: int | None, min_tokens: int = 0) -> Output:
    pieces = VOCAB.pieces(text)
    if min_tokens > len(pieces) and pieces:
        again = VOCAB.pieces(" " + text)
        repeats = -(-(min_tokens - len(pieces)) // len(again))
        pieces = (pieces + again * repeats)[:min_tokens]
    if max_tokens is not None and len(pieces) > max_tokens:
        return Output(pieces[:max_tokens], "length")
    return Output(pieces, "stop")


def _structured(fmt: dict[str, Any] | None, reply: str) -> str:
    if fmt is None or fmt.get("type") == "text":
        return reply
    if fmt["type"] == "json_object":
        return json.dumps({"answer": reply})
    schema = fmt["json_schema"].get("schema", True)
    try:
        return json.dumps(minimal_instance(schema, reply))
    except SchemaError as exc:
        raise StandinError(
            f"The provided JSON schema contains features not supported by xgrammar: {exc}"
        ) from None


def _call(tool: dict[str, Any]) -> dict[str, Any]:
    function = tool["function"]
    try:
        arguments = minimal_instance(function.get("parameters") or {"type": "object"}, "")
    except SchemaError as exc:
        raise StandinError(f"Invalid parameters schema for tool {function['name']}: {exc}") from None
    return {
        "id": f"chatcmpl-tool-{uuid.uuid4().hex}",
        "type": "function",
        "function": {"name": function["name"], "arguments": json.dumps(arguments)},
    }


def _auto_pick(tools: list[dict[str, Any]], last_user: str) -> dict[str, Any] | None:
    """The emulated model calls a tool when the user names it (`get_weather` or "get weather")."""
    lowered = last_user.lower()
    for tool in tools:
        name = str(tool["function"]["name"]).lower()
        if name in lowered or name.replace("_", " ") in lowered:
            return tool
    return None


def generate(
    reply: str,
    last_user: str,
    *,
    max_tokens: int | None,
    fmt: dict[str, Any] | None,
    tool_choice: Any,
    tools: list[dict[str, Any]],
    min_tokens: int = 0,
    ignore_eos: bool = False,
) -> Output:
    """One choice. Tool calls follow serving_chat.py: named and "required" are forced, "auto" is
    the model's choice; finish_reason is "tool_calls" except for a named tool ("stop")."""
    chosen: list[dict[str, Any]] = []
    reason = "tool_calls"
    if isinstance(tool_choice, dict):
        name = tool_choice["function"]["name"]
        chosen, reason = [t for t in tools if t["function"]["name"] == name][:1], "stop"
    elif tool_choice == "required":
        chosen = [_auto_pick(tools, last_user) or tools[0]]
    elif tool_choice == "auto":
        picked = _auto_pick(tools, last_user)
        chosen = [picked] if picked else []
    if chosen:
        calls = [_call(tool) for tool in chosen]
        spoken = json.dumps(
            [
                {"name": c["function"]["name"], "parameters": json.loads(c["function"]["arguments"])}
                for c in calls
            ]
        )
        return Output(VOCAB.pieces(spoken), reason, calls)
    if fmt is not None and fmt.get("type") != "text":  # a repeated JSON document is no JSON
        return _cut(_structured(fmt, reply), max_tokens)
    # ignore_eos: one token past the budget, so the cut at max_tokens reports "length".
    floor = (max_tokens or 0) + 1 if ignore_eos else min(min_tokens, max_tokens or min_tokens)
    return _cut(reply, max_tokens, floor)


def _logprob(piece: str, rank: int) -> float:
    return round(-0.01 - (sum(map(ord, piece)) % 89) / 100 - rank * 1.5, 4)


def top_alternatives(piece: str, k: int) -> list[tuple[str, float]]:
    """The sampled token first (greedy: it is the most likely), then k-1 others, least likely last."""
    others = [alt for alt in _ALTERNATIVES if alt != piece][: max(0, k - 1)]
    return [(piece, _logprob(piece, 0))] + [(alt, _logprob(piece, i + 1)) for i, alt in enumerate(others)]


def chat_logprobs(pieces: list[str], k: int) -> dict[str, Any]:
    """ChatCompletionLogProbs: per token, its logprob, bytes and exactly `top_logprobs` entries."""

    def entry(token: str, value: float) -> dict[str, Any]:
        return {"token": token, "logprob": value, "bytes": list(token.encode())}

    content = []
    for piece in pieces:
        top = top_alternatives(piece, k) if k else []
        content.append({**entry(piece, _logprob(piece, 0)), "top_logprobs": [entry(t, v) for t, v in top]})
    return {"content": content}


def completion_logprobs(pieces: list[str], k: int, offset: int = 0) -> dict[str, Any]:
    """CompletionLogProbs: parallel lists, top_logprobs a dict per token (sampled token included)."""
    offsets, position = [], offset
    for piece in pieces:
        offsets.append(position)
        position += len(piece)
    return {
        "text_offset": offsets,
        "token_logprobs": [_logprob(p, 0) for p in pieces],
        "tokens": pieces,
        "top_logprobs": [dict(top_alternatives(p, max(k, 1))) for p in pieces],
    }
