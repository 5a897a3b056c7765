"""Before any load: is the endpoint there, does it take the token, does it serve the model?

Two requests, as an OpenAI client makes them: `GET /v1/models` (reachability, the token, the
served names) and a one-token chat completion of the model (what the load will send). Each
failure becomes one line naming the cause; the token never appears in it.
"""

from __future__ import annotations

from typing import Any

import httpx

from .errors import BenchError
from .target import Target

TIMEOUT_SECONDS = 20.0


def _server_message(response: httpx.Response) -> str:
    """vLLM's `{"error": {"message"}}`, its older flat `{"message"}`, or the platform's body."""
    try:
        body: Any = response.json()
    except ValueError:
        return response.text.strip()[:200]
    if isinstance(body, dict):
        error = body.get("error")
        if isinstance(error, dict) and error.get("message"):
            return str(error["message"])
        for key in ("message", "detail"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]


def _refusal(response: httpx.Response, target: Target, what: str) -> BenchError:
    status, message = response.status_code, _server_message(response)
    if status in (401, 403):
        return BenchError(
            f"{target.base_url} refused the token (HTTP {status}: {message}): check the token "
            "(--token-env VAR, or the stack output token)",
            2,
        )
    if status == 404 and what == "model":
        return BenchError(f"{target.base_url} does not serve model {target.model!r} (HTTP 404: {message})", 2)
    if status == 404:
        return BenchError(f"no OpenAI API at {target.base_url} (HTTP 404 on /models: {message})", 2)
    if status == 503:
        return BenchError(f"{target.base_url} is not serving yet (HTTP 503: {message}): wait and retry", 1)
    return BenchError(f"{target.base_url} answered HTTP {status} to the {what} check: {message}", 1)


def check(target: Target, *, client: httpx.Client | None = None) -> list[str]:
    """Raise BenchError with the cause, or return the served model names."""
    headers = {"Authorization": f"Bearer {target.token}"} if target.token else {}
    own = client is None
    http = client or httpx.Client(timeout=TIMEOUT_SECONDS)
    try:
        try:
            listing = http.get(f"{target.base_url}/models", headers=headers)
        except httpx.TimeoutException:
            raise BenchError(f"{target.base_url} did not answer within {TIMEOUT_SECONDS:.0f} s", 1) from None
        except httpx.HTTPError as exc:
            raise BenchError(f"cannot reach {target.base_url}: {type(exc).__name__}: {exc}", 1) from None
        if listing.status_code != 200:
            raise _refusal(listing, target, "models")
        try:
            names = [str(m["id"]) for m in listing.json()["data"]]
        except (ValueError, KeyError, TypeError):
            raise BenchError(f"{target.base_url}/models is not an OpenAI model list", 1) from None
        if target.model not in names:
            raise BenchError(
                f"{target.base_url} does not serve model {target.model!r} (it serves: {', '.join(names)})", 2
            )
        body = {"model": target.model, "messages": [{"role": "user", "content": "ping"}], "max_tokens": 1}
        try:
            reply = http.post(f"{target.base_url}/chat/completions", headers=headers, json=body)
        except httpx.HTTPError as exc:
            raise BenchError(f"cannot reach {target.base_url}: {type(exc).__name__}: {exc}", 1) from None
        if reply.status_code != 200:
            raise _refusal(reply, target, "model")
        return names
    finally:
        if own:
            http.close()
