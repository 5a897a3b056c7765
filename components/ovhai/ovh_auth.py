"""OVHcloud public API authentication as `httpx.Auth`: signed requests and OAuth2 client credentials.

Why an `httpx.Auth` and not a library: OVHcloud's own `ovh` package (the reference for both flows)
is built on `requests` and `requests-oauthlib`; using it would mean a second HTTP stack beside
`OvhAiClient`'s httpx + tenacity retries (429/5xx, `Retry-After`, POST never replayed when it may
have been applied). An `httpx.Auth` plugs into that one stack: every attempt of the retry policy is
signed afresh (a retried request gets a fresh timestamp), and the `/auth/time` and token calls go
through the same transport, timeouts and proxies. Both flows are small and fully specified:

- Signature (python-ovh `ovh/client.py`, `Client.raw_call`, version 1.2.0): headers
  `X-Ovh-Application: AK`, `X-Ovh-Consumer: CK`, `X-Ovh-Timestamp: T` and
  `X-Ovh-Signature: "$1$" + sha1_hex("+".join([AS, CK, METHOD, full URL, body, T]))`, where T is
  the server's time: `GET <endpoint>/auth/time` (unauthenticated, an integer) read once, and the
  delta to the local clock kept (`Client.time_delta`). The body is the exact bytes sent ("" when
  none), the URL the full one with its query string.
- OAuth2 (python-ovh `ovh/oauth2.py`): a client-credentials grant with scope `all` at the
  endpoint's token URL (`OAUTH2_TOKEN_URLS`: ovh-eu -> https://www.ovh.com/auth/oauth2/token,
  ovh-ca, ovh-us), client id and secret sent with HTTP Basic (requests-oauthlib's default), then
  `Authorization: Bearer <access_token>`. The token is fetched again shortly before `expires_in`
  runs out, and once more when the API answers 401 (revoked or expired early).

Secrets live only on these objects (never in a repr).
"""

from __future__ import annotations

import base64
import hashlib
import threading
import time
from collections.abc import Callable, Generator
from urllib.parse import urlsplit

import httpx

from components.pricing import API_BASES

# python-ovh `ENDPOINTS` (one table, the catalog's too: components.pricing.API_BASES) and
# `OAUTH2_TOKEN_URLS` (ovh/client.py). An endpoint may also be given as a URL (go-ovh accepts one
# too): the emulator, or a proxy.
ENDPOINTS = API_BASES
OAUTH2_TOKEN_URLS = {
    "ovh-eu": "https://www.ovh.com/auth/oauth2/token",
    "ovh-ca": "https://ca.ovh.com/auth/oauth2/token",
    "ovh-us": "https://us.ovhcloud.com/auth/oauth2/token",
}
OAUTH2_SCOPE = "all"
REFRESH_MARGIN_SECONDS = 60.0


# Process-wide, as one python-ovh Client keeps them for its life: the provider opens a client per
# operation, and neither the server's clock nor a valid token changes between operations.
_DELTAS: dict[str, int] = {}  # /auth/time URL -> server time - local time
_TOKENS: dict[tuple[str, str, str], tuple[str, float]] = {}  # (URL, id, sha256(secret)) -> token
_CACHE_LOCK = threading.Lock()


class OvhAuthError(RuntimeError):
    """The time or the OAuth2 token could not be obtained; the message says from where and why.
    `status` is the HTTP status of the refusal (None: an unreadable answer)."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


def api_base_url(endpoint: str) -> str:
    """`ovh-eu` -> https://eu.api.ovh.com/1.0; a URL is kept (without a trailing slash)."""
    name = endpoint.strip()
    if name in ENDPOINTS:
        return ENDPOINTS[name]
    if name.startswith(("https://", "http://")):
        return name.rstrip("/")
    raise ValueError(f"unknown OVHcloud endpoint {endpoint!r}: use one of {', '.join(ENDPOINTS)} or a URL")


def oauth2_token_url(endpoint: str) -> str:
    """The token URL of an endpoint name; for a URL endpoint, `/auth/oauth2/token` on its host."""
    name = endpoint.strip()
    if name in OAUTH2_TOKEN_URLS:
        return OAUTH2_TOKEN_URLS[name]
    if name.startswith(("https://", "http://")):
        parts = urlsplit(name)
        return f"{parts.scheme}://{parts.netloc}/auth/oauth2/token"
    raise ValueError(
        f"OAuth2 is not available on endpoint {endpoint!r}: "
        f"use one of {', '.join(OAUTH2_TOKEN_URLS)} or a URL"
    )


def signature(secret: str, consumer_key: str, method: str, url: str, body: str, timestamp: str) -> str:
    """The `X-Ovh-Signature` value of one request."""
    digest = hashlib.sha1("+".join([secret, consumer_key, method.upper(), url, body, timestamp]).encode())
    return "$1$" + digest.hexdigest()


def _describe(response: httpx.Response) -> str:
    text = response.text.strip()[:300]
    return f"HTTP {response.status_code}" + (f": {text}" if text else "")


class OvhSignatureAuth(httpx.Auth):
    """Signs each request with the application key/secret and consumer key."""

    requires_response_body = True

    def __init__(
        self,
        application_key: str,
        application_secret: str,
        consumer_key: str,
        base_url: str,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._ak, self._as, self._ck = application_key, application_secret, consumer_key
        self._time_url = base_url.rstrip("/") + "/auth/time"
        self._clock = clock
        self._delta: int | None = _DELTAS.get(self._time_url) if clock is time.time else None
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OvhSignatureAuth(application_key={self._ak!r})"

    def secrets(self) -> list[str]:
        return [self._as, self._ck]

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        if self._delta is None:
            answer = yield httpx.Request("GET", self._time_url, headers={"X-Ovh-Application": self._ak})
            if not answer.is_success:
                raise OvhAuthError(f"GET {self._time_url}: {_describe(answer)}", answer.status_code)
            try:
                server_time = int(answer.json())
            except (ValueError, TypeError):
                raise OvhAuthError(f"GET {self._time_url}: not a time: {answer.text[:100]!r}") from None
            with self._lock:
                self._delta = server_time - int(self._clock())
            if self._clock is time.time:
                with _CACHE_LOCK:
                    _DELTAS[self._time_url] = self._delta
        timestamp = str(int(self._clock()) + self._delta)
        body = request.content.decode("utf-8") if request.content else ""
        request.headers["X-Ovh-Application"] = self._ak
        request.headers["X-Ovh-Consumer"] = self._ck
        request.headers["X-Ovh-Timestamp"] = timestamp
        request.headers["X-Ovh-Signature"] = signature(
            self._as, self._ck, request.method, str(request.url), body, timestamp
        )
        yield request


class OvhOAuth2Auth(httpx.Auth):
    """A client-credentials bearer, fetched on first use and again before it expires (or on 401)."""

    requires_response_body = True

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin: float = REFRESH_MARGIN_SECONDS,
    ) -> None:
        self._id, self._secret, self._url = client_id, client_secret, token_url
        self._clock = clock
        self._margin = refresh_margin
        self._key = (token_url, client_id, hashlib.sha256(client_secret.encode()).hexdigest())
        self._shared = clock is time.monotonic
        cached = _TOKENS.get(self._key) if self._shared else None
        self._token: str | None = cached[0] if cached else None
        self._expires_at = cached[1] if cached else 0.0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"OvhOAuth2Auth(client_id={self._id!r}, token_url={self._url!r})"

    def secrets(self) -> list[str]:
        return [self._secret, *([self._token] if self._token else [])]

    def _token_request(self) -> httpx.Request:
        return httpx.Request(
            "POST",
            self._url,
            data={"grant_type": "client_credentials", "scope": OAUTH2_SCOPE},
            headers={
                "Authorization": _basic(self._id, self._secret),
                "Accept": "application/json",
            },
        )

    def _store(self, answer: httpx.Response) -> str:
        if not answer.is_success:
            raise OvhAuthError(f"OAuth2 token from {self._url}: {_describe(answer)}", answer.status_code)
        try:
            body = answer.json()
            token = str(body["access_token"])
            lifetime = float(body.get("expires_in") or 3600)
        except (ValueError, KeyError, TypeError):
            raise OvhAuthError(f"OAuth2 token from {self._url}: no access_token in the answer") from None
        with self._lock:
            self._token, self._expires_at = token, self._clock() + lifetime
        if self._shared:
            with _CACHE_LOCK:
                _TOKENS[self._key] = (token, self._expires_at)
        return token

    def _fresh(self) -> str | None:
        if self._token is not None and self._clock() < self._expires_at - self._margin:
            return self._token
        return None

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        token = self._fresh()
        if token is None:
            token = self._store((yield self._token_request()))
        request.headers["Authorization"] = f"Bearer {token}"
        response = yield request
        if response.status_code == 401:  # revoked or expired early: one new token, one more try
            with _CACHE_LOCK:
                _TOKENS.pop(self._key, None)
            token = self._store((yield self._token_request()))
            request.headers["Authorization"] = f"Bearer {token}"
            yield request


def _basic(user: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
