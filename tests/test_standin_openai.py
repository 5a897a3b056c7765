"""The vLLM stand-in as the OpenAI Python SDK reads it (sync, async, streaming), over loopback HTTP.

Each app's image names a vLLM release and its command configures the server, as for the real
thing. The reference is vLLM's own server code; each test names the file or change it mirrors:
- protocol.py: vllm/entrypoints/openai/protocol.py (ErrorInfo/ErrorResponse, ModelCard, UsageInfo,
  ChatCompletionRequest/CompletionRequest and their validators check_logprobs,
  validate_stream_options, check_tool_usage), read at the 0.10.x layout;
- serving_engine.py: vllm/entrypoints/openai/serving_engine.py `_check_model` (404 NotFoundError,
  "The model `X` does not exist.") and `_validate_input` (the context-length 400);
- serving_chat.py: the '"auto" tool choice requires --enable-auto-tool-choice and
  --tool-call-parser to be set' 400, and finish_reason "tool_calls" for auto/required calls;
- sampling_params.py: SamplingParams._verify_args sentences ("temperature must be non-negative, got
  -1.", "top_p must be in (0, 1], got 0.", "n must be at least 1, got 0.");
- api_server.py: RequestValidationError -> 400 BadRequestError with str(errors) as the message;
  /version, /tokenize, /detokenize, /metrics routes; served names default to --model.
Release boundaries: nested errors from 0.10.1 (vllm PR #22099; flat `{"object": "error"}` before, as
in vllm issue #12886); the "'max_tokens' or 'max_completion_tokens' is too large" wording after
0.10.1 (reports from late 2025) and the "for a total of at least" wording of vllm/renderers/params.py
(0.20, vllm issue #42474); vllm:kv_cache_usage_perc replacing vllm:gpu_cache_usage_perc (PR #18354,
removed by PR #29330); vllm:inter_token_latency_seconds replacing time_per_output_token_seconds
(deprecated 0.11, PR #24015; removed 0.13, PR #32661).
"""

from __future__ import annotations

import asyncio
import json
import re
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import jsonschema
import openai
import pytest

from emulator.runner import RunningEmulator
from emulator.standin_release import release_of
from tests.conftest import ADMIN_TOKEN

FAST = {"emulator/startup-seconds": "0.3"}
ENTRY = "python3 -m vllm.entrypoints.openai.api_server"
APPS = {
    # the project's pinned image, with tool calling on and a short context
    "new": (
        "vllm/vllm-openai:v0.10.1.1",
        f"{ENTRY} --model org/base-7b --served-model-name chat assistant "
        "--max-model-len 256 --enable-auto-tool-choice --tool-call-parser hermes",
    ),
    # before the error-shape change, `vllm serve` with the positional model and no tool parser
    "old": ("vllm/vllm-openai:v0.9.2", "vllm serve org/old-model --max-model-len 128"),
    "latest": ("vllm/vllm-openai:latest", f"{ENTRY} --model org/latest-model --max-model-len 512"),
}
WEATHER = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather of a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "minLength": 2}, "unit": {"enum": ["C", "F"]}},
            "required": ["city", "unit"],
        },
    },
}
CLOCK = {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object"}}}
HELLO = [{"role": "user", "content": "Who founded OVHcloud?"}]


@pytest.fixture(scope="module")
def urls(emulator: RunningEmulator) -> Iterator[dict[str, str]]:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10) as admin:
        ids: dict[str, str] = {}
        for key, (image, command) in APPS.items():
            spec = {
                "name": f"s-{key}-{uuid.uuid4().hex[:6]}",
                "image": image,
                "command": ["bash", "-c", command],
                "defaultHttpPort": 8000,
                "labels": {**FAST, "run": uuid.uuid4().hex[:10]},
                "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
            }
            created = admin.post("/v1/app", json=spec)
            assert created.status_code == 200, created.text
            ids[key] = created.json()["id"]
        deadline = time.monotonic() + 15
        for app_id in ids.values():
            while admin.get(f"/v1/app/{app_id}").json()["status"]["state"] != "RUNNING":
                assert time.monotonic() < deadline
                time.sleep(0.05)
        yield {key: f"{emulator.base_url}/app/{app_id}" for key, app_id in ids.items()} | {
            f"{key}-id": app_id for key, app_id in ids.items()
        }
        for app_id in ids.values():
            admin.delete(f"/v1/app/{app_id}", params={"force": "true"})


def sdk(url: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{url}/v1", api_key=ADMIN_TOKEN, max_retries=0)


def raw(url: str, path: str, body: Any = None, *, content: bytes | None = None) -> httpx.Response:
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    if body is None and content is None:
        return httpx.get(f"{url}{path}", headers=headers, timeout=10)
    if content is not None:
        headers["Content-Type"] = "application/json"
    return httpx.post(f"{url}{path}", headers=headers, json=body, content=content, timeout=10)


def prompt_tokens(url: str, messages: list[dict[str, Any]], **extra: Any) -> int:
    count: int = raw(url, "/tokenize", {"model": None, "messages": messages, **extra}).json()["count"]
    return count


def metrics(url: str) -> dict[str, float]:
    """Prometheus text -> {'name{labels}': value}."""
    out = {}
    for line in raw(url, "/metrics").text.splitlines():
        if line and not line.startswith("#"):
            key, _, value = line.rpartition(" ")
            out[key] = float(value)
    return out


def metric(samples: dict[str, float], name: str, **labels: str) -> float:
    found = [
        v
        for k, v in samples.items()
        if k.split("{")[0] == name and all(f'{a}="{b}"' in k for a, b in labels.items())
    ]
    assert found, f"no {name} in /metrics"
    return sum(found)


# --- errors ---------------------------------------------------------------------------------


def test_unknown_model_is_404_in_the_release_error_shape(urls: dict[str, str]) -> None:
    """serving_engine.py `_check_model`: 404 NotFoundError; body shape per release (PR #22099)."""
    with pytest.raises(openai.NotFoundError) as caught:
        sdk(urls["new"]).chat.completions.create(model="gpt-4", messages=HELLO)
    assert caught.value.response.json() == {
        "error": {
            "message": "The model `gpt-4` does not exist.",
            "type": "NotFoundError",
            "param": None,
            "code": 404,
        }
    }
    old = raw(urls["old"], "/v1/chat/completions", {"model": "gpt-4", "messages": HELLO})
    assert old.status_code == 404
    assert old.json() == {
        "object": "error",
        "message": "The model `gpt-4` does not exist.",
        "type": "NotFoundError",
        "param": None,
        "code": 404,
    }


def test_over_the_context_length_is_400_with_the_release_wording(urls: dict[str, str]) -> None:
    """serving_engine.py `_validate_input` (0.10.1): prompt + max_tokens > --max-model-len is a 400;
    exactly the limit passes. Newer releases word it as vllm/renderers/params.py does."""
    client = sdk(urls["new"])
    count = prompt_tokens(urls["new"], HELLO)
    fits = client.chat.completions.create(model="chat", messages=HELLO, max_tokens=256 - count)
    assert fits.usage is not None and fits.usage.prompt_tokens == count
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model="chat", messages=HELLO, max_tokens=257 - count)
    error = caught.value.response.json()["error"]
    assert error["type"] == "BadRequestError" and error["code"] == 400
    assert error["message"] == (
        f"This model's maximum context length is 256 tokens. However, you requested 257 tokens "
        f"({count} in the messages, {257 - count} in the completion). Please reduce the length of the "
        "messages or completion."
    )
    latest = prompt_tokens(urls["latest"], HELLO)
    with pytest.raises(openai.BadRequestError) as newer:
        sdk(urls["latest"]).chat.completions.create(model="org/latest-model", messages=HELLO, max_tokens=600)
    assert f"you requested 600 output tokens and your prompt contains at least {latest} input tokens" in str(
        newer.value.response.json()["error"]["message"]
    )


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("temperature", -1, "temperature must be non-negative, got -1."),
        ("top_p", 0, "top_p must be in (0, 1], got 0."),
        ("top_p", 1.5, "top_p must be in (0, 1], got 1.5."),
        ("n", 0, "n must be at least 1, got 0."),
        ("presence_penalty", 3, "presence_penalty must be in [-2, 2], got 3."),
        ("frequency_penalty", -2.5, "frequency_penalty must be in [-2, 2], got -2.5."),
        ("max_tokens", 0, "max_tokens must be at least 1, got 0."),
    ],
)
def test_bad_sampling_values_are_400_with_vllms_sentence(
    urls: dict[str, str], field: str, value: Any, message: str
) -> None:
    """sampling_params.py SamplingParams._verify_args: a ValueError -> 400 BadRequestError."""
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO, extra_body={field: value})
    assert caught.value.response.json()["error"] == {
        "message": message,
        "type": "BadRequestError",
        "param": None,
        "code": 400,
    }


MALFORMED: list[tuple[str, bytes, str]] = [
    ("not json", b'{"model": "chat", "messages": [', "JSON decode error"),
    ("a list", b"[1, 2]", "Input should be a valid dictionary"),
    ("no messages", b'{"model": "chat"}', "'loc': ('body', 'messages'), 'msg': 'Field required'"),
    ("messages not a list", b'{"messages": "hi"}', "Input should be a valid list"),
    ("message without role", b'{"messages": [{"content": "hi"}]}', "'msg': 'Field required'"),
    ("temperature a word", b'{"messages": [], "temperature": "hot"}', "Input should be a valid number"),
    ("n a float", b'{"messages": [], "n": 1.5}', "Input should be a valid integer"),
    ("logprobs a string", b'{"messages": [], "logprobs": "yes"}', "Input should be a valid boolean"),
    ("model a number", b'{"messages": [], "model": 7}', "Input should be a valid string"),
    ("stop a number", b'{"messages": [], "stop": 3}', "Input should be a valid list"),
    (
        "stream options without stream",
        b'{"messages": [], "stream_options": {"include_usage": true}}',
        "Stream options can only be defined when `stream=True`.",
    ),
    (
        "top_logprobs without logprobs",
        b'{"messages": [], "top_logprobs": 2}',
        "when using `top_logprobs`, `logprobs` must be set to true.",
    ),
    (
        "negative top_logprobs",
        b'{"messages": [], "logprobs": true, "top_logprobs": -1}',
        "`top_logprobs` must be a positive value.",
    ),
    (
        "tool_choice without tools",
        b'{"messages": [], "tool_choice": "required"}',
        "When using `tool_choice`, `tools` must be set.",
    ),
    (
        "bad response_format",
        b'{"messages": [], "response_format": {"type": "yaml"}}',
        "Input should be 'text', 'json_object' or 'json_schema'",
    ),
    (
        "json_schema without schema",
        b'{"messages": [], "response_format": {"type": "json_schema"}}',
        "'msg': 'Field required'",
    ),
]


@pytest.mark.parametrize(("case", "body", "needle"), MALFORMED, ids=[m[0] for m in MALFORMED])
def test_malformed_requests_are_400_validation_errors(
    urls: dict[str, str], case: str, body: bytes, needle: str
) -> None:
    """api_server.py's RequestValidationError handler: 400 BadRequestError, str(errors) as message;
    the model validators' messages come from protocol.py. Never a 500; the server keeps serving."""
    answer = raw(urls["new"], "/v1/chat/completions", content=body)
    assert answer.status_code == 400, answer.text
    error = answer.json()["error"]
    assert error["type"] == "BadRequestError" and error["code"] == 400
    assert needle in error["message"]
    assert sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO).choices


def test_unknown_route_and_wrong_method_answer_like_fastapi(urls: dict[str, str]) -> None:
    """FastAPI (vLLM's framework) answers {"detail": "Not Found"} / 405 for routes vLLM lacks."""
    assert raw(urls["new"], "/v1/nothing").json() == {"detail": "Not Found"}
    wrong = raw(urls["new"], "/v1/chat/completions")
    assert wrong.status_code == 405 and wrong.json() == {"detail": "Method Not Allowed"}


# --- tools ----------------------------------------------------------------------------------


def test_auto_tool_choice_needs_the_servers_flags(urls: dict[str, str]) -> None:
    """serving_chat.py: "auto" (also the default when tools are sent, protocol.py check_tool_usage)
    without --enable-auto-tool-choice/--tool-call-parser is a 400."""
    message = '"auto" tool choice requires --enable-auto-tool-choice and --tool-call-parser to be set'
    client = sdk(urls["old"])
    for extra in ({"tool_choice": "auto"}, {}):
        with pytest.raises(openai.BadRequestError) as caught:
            client.chat.completions.create(model="org/old-model", messages=HELLO, tools=[WEATHER], **extra)
        assert caught.value.response.json() == {
            "object": "error",
            "message": message,
            "type": "BadRequestError",
            "param": None,
            "code": 400,
        }


def test_tool_choice_auto_required_and_named_with_the_parser_on(urls: dict[str, str]) -> None:
    """serving_chat.py: auto calls when the model chooses to (finish_reason "tool_calls"),
    "required" must call one, a named tool is forced (finish "stop"); arguments follow the tool's
    parameters schema (protocol.py `_get_guided_json_from_tool`)."""
    client = sdk(urls["new"])
    weather = [{"role": "user", "content": "Use get_weather for Paris"}]
    auto = client.chat.completions.create(model="chat", messages=weather, tools=[CLOCK, WEATHER])
    call = auto.choices[0].message.tool_calls
    assert auto.choices[0].finish_reason == "tool_calls" and call and call[0].function.name == "get_weather"
    jsonschema.validate(json.loads(call[0].function.arguments), WEATHER["function"]["parameters"])
    assert call[0].id.startswith("chatcmpl-tool-")
    chatty = client.chat.completions.create(model="chat", messages=HELLO, tools=[WEATHER], tool_choice="auto")
    assert not chatty.choices[0].message.tool_calls and "Octave Klaba" in str(
        chatty.choices[0].message.content
    )

    required = client.chat.completions.create(
        model="chat", messages=HELLO, tools=[WEATHER], tool_choice="required"
    )
    assert required.choices[0].finish_reason == "tool_calls" and required.choices[0].message.tool_calls
    named = client.chat.completions.create(
        model="chat",
        messages=weather,
        tools=[WEATHER, CLOCK],
        tool_choice={"type": "function", "function": {"name": "get_time"}},
    )
    calls = named.choices[0].message.tool_calls
    assert named.choices[0].finish_reason == "stop" and calls and calls[0].function.name == "get_time"
    assert json.loads(calls[0].function.arguments) == {}
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(
            model="chat",
            messages=HELLO,
            tools=[WEATHER],
            tool_choice={"type": "function", "function": {"name": "nope"}},
        )
    assert "does not match any of the specified `tools`" in caught.value.response.json()["error"]["message"]


# --- sampling outputs -----------------------------------------------------------------------


def test_n_choices_and_usage_counts_what_was_sent(urls: dict[str, str]) -> None:
    """UsageInfo: prompt_tokens is the rendered prompt (as /tokenize counts it), completion_tokens
    the sum over the n outputs (serving_chat.py sums every choice's token_ids)."""
    answer = sdk(urls["new"]).chat.completions.create(model="assistant", messages=HELLO, n=3, max_tokens=5)
    assert [c.index for c in answer.choices] == [0, 1, 2] and answer.model == "assistant"
    assert all(c.finish_reason == "length" for c in answer.choices)
    usage = answer.usage
    assert usage is not None and usage.prompt_tokens == prompt_tokens(urls["new"], HELLO)
    assert usage.completion_tokens == 15 and usage.total_tokens == usage.prompt_tokens + 15
    longer = [*HELLO, {"role": "assistant", "content": "Octave Klaba."}, {"role": "user", "content": "When?"}]
    more = sdk(urls["new"]).chat.completions.create(model="chat", messages=longer)
    assert (
        more.usage is not None
        and more.usage.prompt_tokens == prompt_tokens(urls["new"], longer) > usage.prompt_tokens
    )
    text = sdk(urls["new"]).completions.create(
        model="chat", prompt="Tell me about OVH founders", max_tokens=4
    )
    assert (
        text.usage is not None
        and text.usage.completion_tokens == 4
        and text.choices[0].finish_reason == "length"
    )
    tokens = raw(urls["new"], "/tokenize", {"prompt": "Tell me about OVH founders"}).json()
    assert text.usage.prompt_tokens == tokens["count"]


def test_chat_and_completion_logprobs(urls: dict[str, str]) -> None:
    """protocol.py ChatCompletionLogProbs (token, logprob, bytes, top_logprobs: exactly k) and
    CompletionLogProbs (parallel lists); over --max-logprobs (20) is a 400."""
    answer = sdk(urls["new"]).chat.completions.create(
        model="chat", messages=HELLO, logprobs=True, top_logprobs=3
    )
    content = answer.choices[0].logprobs.content
    assert content and "".join(t.token for t in content) == answer.choices[0].message.content
    for token in content:
        assert len(token.top_logprobs) == 3 and token.top_logprobs[0].token == token.token
        assert token.logprob <= 0 and bytes(token.bytes or []) == token.token.encode()
        assert sorted((t.logprob for t in token.top_logprobs), reverse=True) == [
            t.logprob for t in token.top_logprobs
        ]
    plain = sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO)
    assert plain.choices[0].logprobs is None
    with pytest.raises(openai.BadRequestError) as caught:
        sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO, logprobs=True, top_logprobs=21)
    assert "greater than max allowed: 20" in caught.value.response.json()["error"]["message"]
    text = sdk(urls["new"]).completions.create(model="chat", prompt="Hello there", logprobs=2, max_tokens=3)
    logprobs = text.choices[0].logprobs
    assert logprobs and logprobs.tokens and "".join(logprobs.tokens) == text.choices[0].text
    assert len(logprobs.token_logprobs or []) == 3 and all(
        len(top) == 2 for top in logprobs.top_logprobs or []
    )


SCHEMA = {
    "type": "object",
    "properties": {
        "founder": {"type": "string", "minLength": 3},
        "year": {"type": "integer", "minimum": 1990, "maximum": 2030},
        "kind": {"enum": ["company", "person"]},
        "tags": {"type": "array", "items": {"$ref": "#/$defs/tag"}, "minItems": 2},
        "hq": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "unused": {"type": "number"},
    },
    "required": ["founder", "year", "kind", "tags", "hq"],
    "$defs": {"tag": {"type": "object", "properties": {"name": {"type": "string"}}, "required": ["name"]}},
}


def test_response_format_json_object_and_json_schema(urls: dict[str, str]) -> None:
    """protocol.py ResponseFormat: json_object -> any JSON object; json_schema -> guided decoding
    to the schema (the stand-in answers its minimal instance)."""
    client = sdk(urls["new"])
    obj = client.chat.completions.create(
        model="chat", messages=HELLO, response_format={"type": "json_object"}
    )
    assert isinstance(json.loads(str(obj.choices[0].message.content)), dict)
    fmt = {"type": "json_schema", "json_schema": {"name": "company", "schema": SCHEMA}}
    answer = client.chat.completions.create(model="chat", messages=HELLO, response_format=fmt)
    value = json.loads(str(answer.choices[0].message.content))
    jsonschema.validate(value, SCHEMA)
    assert "unused" not in value and value["year"] == 1990 and len(value["tags"]) == 2


# --- streaming ------------------------------------------------------------------------------


def test_streaming_with_and_without_include_usage(urls: dict[str, str]) -> None:
    """serving_chat.py streaming: a role chunk, a chunk per token, finish_reason on the last one;
    stream_options.include_usage adds a final chunk with empty choices and the usage."""
    client = sdk(urls["new"])
    chunks = list(
        client.chat.completions.create(
            model="chat", messages=HELLO, stream=True, stream_options={"include_usage": True}
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    last = chunks[-1]
    assert last.choices == [] and last.usage is not None
    content = [c for c in chunks[:-1] if c.choices and c.choices[0].delta.content]
    assert "Octave Klaba" in "".join(str(c.choices[0].delta.content) for c in content)
    assert last.usage.completion_tokens == len(content) and last.usage.prompt_tokens == prompt_tokens(
        urls["new"], HELLO
    )
    assert content[-1].choices[0].finish_reason == "stop"
    bare = list(client.chat.completions.create(model="chat", messages=HELLO, stream=True))
    assert all(c.usage is None and c.choices for c in bare)


def test_async_client_streams_completions_and_chat(urls: dict[str, str]) -> None:
    """The async SDK over the same routes: n streamed choices keep their indices."""

    async def run() -> tuple[dict[int, str], str]:
        client = openai.AsyncOpenAI(base_url=f"{urls['new']}/v1", api_key=ADMIN_TOKEN, max_retries=0)
        texts: dict[int, str] = {}
        stream = await client.completions.create(
            model="chat", prompt="Who founded OVH?", n=2, stream=True, max_tokens=50
        )
        async for chunk in stream:
            for choice in chunk.choices:
                texts[choice.index] = texts.get(choice.index, "") + choice.text
        answer = await client.chat.completions.create(model="chat", messages=HELLO)
        await client.close()
        return texts, str(answer.choices[0].message.content)

    texts, answer = asyncio.run(run())
    assert set(texts) == {0, 1} and texts[0] == texts[1] and "Octave Klaba" in texts[0]
    assert "Octave Klaba" in answer


# --- models, version, tokenizer, metrics, logs ----------------------------------------------


def test_models_reports_served_names_root_and_max_model_len(urls: dict[str, str]) -> None:
    """serving_models.py ModelCard: one card per served name, root = --model, max_model_len."""
    cards = sdk(urls["new"]).models.list().data
    assert [c.id for c in cards] == ["chat", "assistant"]
    assert all(
        c.owned_by == "vllm" and c.model_extra and c.model_extra["root"] == "org/base-7b" for c in cards
    )
    assert cards[0].model_extra and cards[0].model_extra["max_model_len"] == 256
    old = sdk(urls["old"]).models.list().data
    assert (
        [c.id for c in old] == ["org/old-model"]
        and old[0].model_extra
        and old[0].model_extra["max_model_len"] == 128
    )


def test_version_is_the_images_release(urls: dict[str, str]) -> None:
    """api_server.py /version -> {"version": vllm.__version__}; `latest` is the newest release."""
    assert raw(urls["new"], "/version").json() == {"version": "0.10.1.1"}
    assert raw(urls["old"], "/version").json() == {"version": "0.9.2"}
    assert raw(urls["latest"], "/version").json() == {"version": release_of("vllm/vllm-openai:latest").text}
    assert release_of("vllm/vllm-openai:v0.11.0-cu129").version == (0, 11, 0)
    assert release_of("registry.example:5000/vllm/vllm-openai:nightly").version == release_of("x").version


def test_tokenize_and_detokenize_round_trip(urls: dict[str, str]) -> None:
    """serving_tokenization.py: {count, max_model_len, tokens, token_strs}; /detokenize -> prompt."""
    text = "Bonjour, OVHcloud! Un modèle très long-mot-composé"
    answer = raw(
        urls["new"], "/tokenize", {"model": "chat", "prompt": text, "return_token_strs": True}
    ).json()
    assert answer["count"] == len(answer["tokens"]) and answer["max_model_len"] == 256
    assert "".join(answer["token_strs"][1:]) == text  # the first is BOS (add_special_tokens)
    back = raw(urls["new"], "/detokenize", {"model": "chat", "tokens": answer["tokens"][1:]}).json()
    assert back == {"prompt": text}
    bare = raw(urls["new"], "/tokenize", {"prompt": text, "add_special_tokens": False}).json()
    assert bare["tokens"] == answer["tokens"][1:] and bare["token_strs"] is None
    assert raw(urls["new"], "/tokenize", {"model": "gpt-4", "prompt": "x"}).status_code == 404
    out_of_vocab = raw(urls["new"], "/detokenize", {"tokens": [10**9]})
    assert out_of_vocab.status_code == 400 and "out of vocabulary" in out_of_vocab.json()["error"]["message"]
    assert raw(urls["new"], "/detokenize", {"tokens": "abc"}).status_code == 400


def test_metrics_count_what_was_served_with_the_release_names(urls: dict[str, str]) -> None:
    """vllm/v1/metrics/loggers.py names: counters move by exactly the usage of a request;
    a streaming request is seen running and holding KV cache; names differ by release."""
    before = metrics(urls["new"])
    answer = sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO)
    after = metrics(urls["new"])
    assert answer.usage is not None
    for name, grew in (
        ("vllm:prompt_tokens_total", answer.usage.prompt_tokens),
        ("vllm:generation_tokens_total", answer.usage.completion_tokens),
        ("vllm:request_success_total", 1),
        ("vllm:time_to_first_token_seconds_count", 1),
        ("vllm:e2e_request_latency_seconds_count", 1),
    ):
        assert metric(after, name) - metric(before, name) == grew, name
    assert metric(after, "vllm:prompt_tokens_total", model_name="chat") >= answer.usage.prompt_tokens
    assert (
        metric(after, "vllm:inter_token_latency_seconds_count")
        - metric(before, "vllm:inter_token_latency_seconds_count")
        == answer.usage.completion_tokens - 1
    )

    with sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO, stream=True) as stream:
        next(iter(stream))
        during = metrics(urls["new"])
        assert metric(during, "vllm:num_requests_running") == 1
        assert metric(during, "vllm:kv_cache_usage_perc") > 0
        list(stream)
    done = metrics(urls["new"])
    assert metric(done, "vllm:num_requests_running") == 0 and metric(done, "vllm:num_requests_waiting") == 0
    assert metric(done, "vllm:kv_cache_usage_perc") == 0

    names = {key: {k.split("{")[0] for k in metrics(urls[key])} for key in ("old", "new", "latest")}
    assert "vllm:gpu_cache_usage_perc" in names["old"] and "vllm:kv_cache_usage_perc" not in names["old"]
    assert "vllm:time_per_output_token_seconds_count" in names["old"]
    assert "vllm:inter_token_latency_seconds_count" not in names["old"]
    assert {"vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc"} <= names["new"]
    assert (
        "vllm:kv_cache_usage_perc" in names["latest"] and "vllm:gpu_cache_usage_perc" not in names["latest"]
    )
    assert "vllm:inter_token_latency_seconds_count" in names["latest"]
    assert "vllm:time_per_output_token_seconds_count" not in names["latest"]
    assert raw(urls["new"], "/metrics").headers["content-type"].startswith("text/plain; version=0.0.4")


def test_start_up_log_follows_the_command_and_the_image(
    emulator: RunningEmulator, urls: dict[str, str]
) -> None:
    """vLLM logs its version, its non-default args and the KV cache it got (api_server.py,
    kv_cache_utils.py); the stand-in's lines follow the app's command and image."""
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    log = httpx.get(f"{emulator.base_url}/v1/app/{urls['new-id']}/log", headers=headers).text
    assert "vLLM API server version 0.10.1.1" in log
    assert "model='org/base-7b', served_model_name=['chat', 'assistant']" in log
    assert "max_model_len=256" in log and "enable_auto_tool_choice=True, tool_call_parser='hermes'" in log
    kv = int(re.search(r"GPU KV cache size: (\d+) tokens", log).group(1))
    assert f"Maximum concurrency for 256 tokens per request: {kv / 256:.2f}x" in log
    old = httpx.get(f"{emulator.base_url}/v1/app/{urls['old-id']}/log", headers=headers).text
    assert "vLLM API server version 0.9.2" in old and "model='org/old-model'" in old


JUNK: list[Any] = [None, True, -1, 0, 2**70, 1.5, float("-inf"), "", "x", [], [1], ["a", 2], {}, {"a": None}]
FIELDS = [
    "messages",
    "model",
    "n",
    "max_tokens",
    "temperature",
    "top_p",
    "logprobs",
    "top_logprobs",
    "stop",
    "stream",
    "stream_options",
    "tools",
    "tool_choice",
    "response_format",
    "prompt",
    "seed",
]


def test_junk_in_any_field_never_gets_a_500(urls: dict[str, str]) -> None:
    """Bad input: every field given every junk value, on both routes, answers vLLM's 4xx (or 200),
    never a 500 or a traceback; the server keeps serving."""
    for path in ("/v1/chat/completions", "/v1/completions", "/tokenize"):
        for name in FIELDS:
            for value in JUNK:
                body = {"model": "chat", "messages": HELLO, "prompt": "hi", name: value}
                text = json.dumps(body, allow_nan=True).encode()
                answer = raw(urls["new"], path, content=text)
                assert answer.status_code in (200, 400, 404), (path, name, value, answer.text)
                assert "Traceback" not in answer.text
    assert sdk(urls["new"]).chat.completions.create(model="chat", messages=HELLO).choices
