"""`OvhAiClient`: a synchronous httpx client of the AI Deploy regional API.

Retry policy (tenacity):
- idempotent calls (GET, PUT, DELETE) are retried on 429, 500, 502, 503, 504 and on transport
  errors, with capped exponential backoff and jitter, honouring `Retry-After` (seconds or an HTTP
  date): a transient 500 during a wait must not fail a whole create, update or delete;
- POST (create app, create/renew token, create volume) is retried only when the server provably
  did not act: a 429 (the rate limiter answers before the request is handled) or a connection that
  was never established. A 5xx, a read timeout or a dropped response on POST is raised at once:
  the app may exist, and the caller (the resource layer) looks it up by label and adopts it.
  `ApiConnectionError.maybe_applied` says which case it was;
- bounded by `max_attempts` and by `max_retry_seconds` of total time: no sleep is started that
  would end past the budget. When the policy gives up, the last typed error is raised and its
  message says after how many attempts and seconds.
"""

from __future__ import annotations

import email.utils
import logging
import time
from collections.abc import Callable, Collection, Iterator, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, TypeVar, cast
from urllib.parse import quote

import httpx
from pydantic import BaseModel
from tenacity import RetryCallState, Retrying, retry_if_exception, wait_exponential_jitter

from components import __version__

from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeout,
    NotFound,
    RateLimited,
    ServerError,
    error_for_status,
)
from .models import (
    TERMINAL_STATES,
    App,
    AppSpec,
    AppUpdate,
    Flavor,
    ImageUpdate,
    LabelUpdate,
    Me,
    Quotas,
    ScalingStrategy,
    Token,
    TokenRole,
    UserVolume,
    UserVolumeSpec,
    WireModel,
)
from .ovh_auth import OvhAuthError
from .waiting import Backoff, Observed, OnChange, poll, wanted_or_terminal

log = logging.getLogger(__name__)

USER_AGENT = f"vllm-ai-deploy/{__version__} (+python-httpx)"
IDEMPOTENT = frozenset({"GET", "PUT", "DELETE", "HEAD", "OPTIONS"})
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})
MAX_PAGES = 10_000

M = TypeVar("M", bound=BaseModel)
Body = WireModel | Mapping[str, Any]


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None if absent/bad."""
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or datetime.now(UTC))).total_seconds())


class OvhAiClient:
    """Typed access to apps, tokens, user volumes, capabilities and `me` of one regional endpoint."""

    def __init__(
        self,
        base_url: str,
        token: str = "",
        *,
        auth: httpx.Auth | None = None,
        service_name: str | None = None,
        region: str | None = None,
        timeout: float = 30.0,
        max_attempts: int = 6,
        max_retry_seconds: float = 60.0,
        transport: httpx.BaseTransport | None = None,
        page_size: int = 100,
        backoff_initial: float = 0.5,
        backoff_max: float = 8.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_retry: Callable[[str], None] | None = None,
    ) -> None:
        """`on_retry`, when given, receives each retry and give-up message instead of the module's
        logger, so that a caller can put its own context (a resource name) on the line.

        The door: a `token` talks to the regional API (`base_url` is e.g.
        https://gra.ai.cloud.ovh.net, paths under /v1); an `auth` (see `ovh_auth`) with a
        `service_name` talks to the public API (`base_url` is e.g. https://eu.api.ovh.com/1.0,
        paths under /cloud/project/{serviceName}/ai, bodies carry `region`)."""
        if bool(token) == (auth is not None):
            raise ValueError("give either a regional API token or a public API auth, not both or neither")
        if auth is not None and not service_name:
            raise ValueError("the public API door needs the project's service name")
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        if not 1 <= page_size <= 100:
            raise ValueError("page_size must be within 1..100")
        self.base_url = base_url.rstrip("/")
        self._token = token
        self._auth = auth
        self.region = region
        self.public = auth is not None
        self._prefix = f"/cloud/project/{_seg(service_name or '')}/ai" if auth is not None else "/v1"
        self._secrets = [s for s in [token, *_auth_secrets(auth)] if s]
        self.max_attempts = max_attempts
        self.max_retry_seconds = max_retry_seconds
        self.page_size = page_size
        self._backoff = wait_exponential_jitter(
            multiplier=backoff_initial, max=backoff_max, jitter=backoff_initial
        )
        self._sleep = sleep
        self._clock = clock
        self._on_retry = on_retry
        self._http = httpx.Client(
            base_url=self.base_url,
            headers={
                **({"Authorization": f"Bearer {token}"} if token else {}),
                "User-Agent": USER_AGENT,
                "Accept": "application/json",
            },
            auth=auth,
            # Connecting is quick or broken; reading may wait on a slow regional API.
            timeout=httpx.Timeout(timeout, connect=min(timeout, 10.0)),
            transport=transport,
            follow_redirects=False,
        )

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OvhAiClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:  # never the token
        return f"OvhAiClient({self.base_url!r}, {'public' if self.public else 'regional'} door)"

    def path(self, rest: str) -> str:
        """The door's path of a resource: `app/x` -> /v1/app/x or /cloud/project/{sn}/ai/app/x."""
        return f"{self._prefix}/{rest.lstrip('/')}"

    def _with_region(self, body: Mapping[str, Any]) -> Mapping[str, Any]:
        """The public door's bodies carry the region (`TokenSpec.region` is required)."""
        if self.public and self.region and "region" not in body:
            return {**body, "region": self.region.upper()}
        return body

    # ------------------------------------------------------------------ transport and retries

    def request(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, Any] | None = None,
    ) -> Any:
        """One API call with the retry policy; returns the decoded JSON body (None when empty)."""
        method = method.upper()
        start = self._clock()

        def attempt() -> Any:
            return self._send_once(method, path, json=json, params=params)

        def should_retry(error: BaseException) -> bool:
            return self._retryable(method, error)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, RateLimited) and error.retry_after is not None:
                return error.retry_after
            return float(self._backoff(state))

        def stop(state: RetryCallState) -> bool:
            spent = self._clock() - start
            return (
                state.attempt_number >= self.max_attempts
                or spent + state.upcoming_sleep > self.max_retry_seconds
            )

        def give_up(state: RetryCallState) -> Any:
            error = state.outcome.exception() if state.outcome else None
            assert isinstance(error, ApiError)
            error.gave_up(state.attempt_number, self._clock() - start)
            self._report(logging.WARNING, str(error))
            raise error

        def before_sleep(state: RetryCallState) -> None:
            error = state.outcome.exception() if state.outcome else None
            self._report(
                logging.INFO,
                f"retrying in {state.upcoming_sleep:.1f} s after attempt {state.attempt_number}: {error}",
            )

        retrying = Retrying(
            retry=retry_if_exception(should_retry),
            wait=wait,
            stop=stop,
            sleep=self._sleep,
            reraise=True,
            retry_error_callback=give_up,
            before_sleep=before_sleep,
        )
        return retrying(attempt)

    def _report(self, level: int, message: str) -> None:
        if self._on_retry is not None:
            self._on_retry(message)
        else:
            log.log(level, "%s", message)

    @staticmethod
    def _retryable(method: str, error: BaseException) -> bool:
        if method in IDEMPOTENT:
            if isinstance(error, ApiConnectionError):
                return True
            return isinstance(error, RateLimited | ServerError) and error.status in RETRYABLE_STATUS
        # POST: only when the server provably did not act on it.
        if isinstance(error, RateLimited):
            return True
        return isinstance(error, ApiConnectionError) and not error.maybe_applied

    def _send_once(self, method: str, path: str, *, json: Any, params: Mapping[str, Any] | None) -> Any:
        try:
            response = self._http.request(method, path, json=json, params=_clean(params))
        except OvhAuthError as exc:  # /auth/time or the OAuth2 token refused: the call was not sent
            if exc.status is not None and 400 <= exc.status < 500 and exc.status != 429:
                # A wrong service account: 401 at once (the token URL answered 400/401), no retry.
                raise error_for_status(method, path, 401, self._redact(str(exc)), None) from None
            raise ApiConnectionError(method, path, self._redact(str(exc)), maybe_applied=False) from None
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            raise ApiConnectionError(
                method, path, self._redact(_describe(exc)), maybe_applied=False
            ) from None
        except httpx.PoolTimeout as exc:
            raise ApiConnectionError(
                method, path, self._redact(_describe(exc)), maybe_applied=False
            ) from None
        except httpx.TimeoutException as exc:
            raise ApiTimeout(method, path, self._redact(_describe(exc)), maybe_applied=True) from None
        except httpx.TransportError as exc:  # reset, dropped, protocol error: it may have been acted on
            raise ApiConnectionError(method, path, self._redact(_describe(exc)), maybe_applied=True) from None
        log.debug("%s %s -> %d", method, path, response.status_code)
        if response.is_success:
            return _decode(response)
        raise self._error(method, path, response)

    def _error(self, method: str, path: str, response: httpx.Response) -> ApiError:
        message = _server_message(response)
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        return error_for_status(method, path, response.status_code, self._redact(message), retry_after,
                                code=_error_code(response))  # fmt: skip

    def _redact(self, text: str) -> str:
        for secret in [*self._secrets, *_auth_secrets(self._auth)]:
            text = text.replace(secret, "***")
        return text

    def _get_model(self, model: type[M], path: str, params: Mapping[str, Any] | None = None) -> M:
        return model.model_validate(self.request("GET", path, params=params))

    def _list(self, model: type[M], path: str, params: Mapping[str, Any] | None = None) -> list[M]:
        return [model.model_validate(item) for item in self._pages(path, params)]

    def _pages(self, path: str, params: Mapping[str, Any] | None) -> Iterator[Any]:
        """Every item of a paginated list: page=1,2,... until a short page or the last one that
        `metadata.pageCount` names (the regional `{items, metadata}`; a bare array has none)."""
        seen: set[str] = set()
        for page in range(1, MAX_PAGES + 1):
            body = self.request("GET", path, params={**(params or {}), "page": page, "size": self.page_size})
            items = _items(body)
            last = _page_count(body)
            fresh = 0
            for item in items:
                key = item.get("id") if isinstance(item, Mapping) else None
                if isinstance(key, str):
                    if key in seen:
                        continue  # a server that ignores `page` repeats itself; do not loop forever
                    seen.add(key)
                fresh += 1
                yield item
            if len(items) < self.page_size or fresh == 0 or (last is not None and page >= last):
                return

    # ------------------------------------------------------------------ apps

    def list_apps(self, *, label_selector: str | None = None, state: str | None = None) -> list[App]:
        return self._list(App, self.path("app"), {"labelSelector": label_selector, "statusState": state})

    def create_app(self, spec: AppSpec | Mapping[str, Any]) -> App:
        """POST /v1/app. A Mapping is sent as given (the server validates it); an AppSpec via to_wire()."""
        return App.model_validate(self.request("POST", self.path("app"), json=self._with_region(_body(spec))))

    def get_app(self, app_id: str) -> App:
        return self._get_model(App, self.path(f"app/{_seg(app_id)}"))

    def update_app(self, app_id: str, update: AppUpdate | Mapping[str, Any]) -> App:
        body = self.request("PUT", self.path(f"app/{_seg(app_id)}"), json=_body(update))
        return App.model_validate(body) if body else self.get_app(app_id)

    def delete_app(self, app_id: str, *, force: bool = False) -> None:
        self.request("DELETE", self.path(f"app/{_seg(app_id)}"), params={"force": "true"} if force else None)

    def start_app(self, app_id: str) -> None:
        self.request("PUT", self.path(f"app/{_seg(app_id)}/start"))

    def stop_app(self, app_id: str) -> None:
        self.request("PUT", self.path(f"app/{_seg(app_id)}/stop"))

    def set_app_image(self, app_id: str, image: str) -> None:
        self.request("PUT", self.path(f"app/{_seg(app_id)}/image"), json=ImageUpdate(url=image).to_wire())

    def set_app_scaling(self, app_id: str, strategy: ScalingStrategy | Mapping[str, Any]) -> None:
        self.request("PUT", self.path(f"app/{_seg(app_id)}/scalingstrategy"), json=_body(strategy))

    def set_app_label(self, app_id: str, name: str, value: str | None) -> None:
        """Set a label, or delete it when `value` is None."""
        self.request(
            "PUT", self.path(f"app/{_seg(app_id)}/label"), json=LabelUpdate(name=name, value=value).to_wire()
        )

    def get_app_logs(self, app_id: str, *, tail: int | None = None) -> list[str]:
        """Log lines: accepts `{logs: [{content}]}` (schema `Logs`), a JSON list, or plain text."""
        response_lines = _log_lines(self.request("GET", self.path(f"app/{_seg(app_id)}/log")))
        return response_lines[-tail:] if tail else response_lines

    def wait_for_app(
        self,
        app_id: str,
        *,
        until: Collection[str] = ("RUNNING",),
        timeout: float,
        on_change: OnChange | None = None,
        initial_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> App:
        """Poll until the app's state is in `until` or terminal (FAILED, ERROR, DELETED, STOPPED unless
        wanted); raises WaitTimeout at the deadline and NotFound if the app disappears."""
        stop_on = wanted_or_terminal(until, TERMINAL_STATES)

        def fetch() -> Observed[App]:
            app = self.get_app(app_id)
            return Observed(app, app.state)

        observed = poll(
            fetch,
            done=lambda seen: stop_on(seen.state),
            timeout=timeout,
            subject=app_id,
            on_change=on_change,
            backoff=Backoff(initial_interval, max(max_interval, initial_interval)),
            sleep=self._sleep,
            clock=self._clock,
        )
        assert observed.value is not None
        return observed.value

    def wait_for_app_gone(
        self,
        app_id: str,
        *,
        timeout: float,
        on_change: OnChange | None = None,
        initial_interval: float = 0.5,
        max_interval: float = 5.0,
    ) -> None:
        """Poll until GET answers 404 (DELETED counts as gone); raises WaitTimeout at the deadline."""

        def fetch() -> Observed[App]:
            try:
                app = self.get_app(app_id)
            except NotFound:
                return Observed(None, None)
            return Observed(app, app.state)

        poll(
            fetch,
            done=lambda seen: seen.value is None or seen.state == "DELETED",
            timeout=timeout,
            subject=app_id,
            on_change=on_change,
            backoff=Backoff(initial_interval, max(max_interval, initial_interval)),
            sleep=self._sleep,
            clock=self._clock,
        )

    # ------------------------------------------------------------------ tokens

    def list_tokens(self) -> list[Token]:
        return self._list(Token, self.path("token"))

    def get_token(self, token_id: str) -> Token:
        return self._get_model(Token, self.path(f"token/{_seg(token_id)}"))

    def create_token(self, name: str, role: TokenRole | str, label_selector: str | None = None) -> Token:
        """POST /v1/token; `role` is a TokenRole, its wire value, or the CLI's `read`/`operator`."""
        body: dict[str, Any] = {"name": name, "role": TokenRole(role).value}
        if label_selector:
            body["labelSelector"] = label_selector
        return Token.model_validate(self.request("POST", self.path("token"), json=self._with_region(body)))

    def renew_token(self, token_id: str) -> Token:
        return Token.model_validate(self.request("POST", self.path(f"token/{_seg(token_id)}/renew")))

    def delete_token(self, token_id: str) -> None:
        self.request("DELETE", self.path(f"token/{_seg(token_id)}"))

    # ------------------------------------------------------------------ user volumes

    def _regional_only(self, method: str, what: str, rest: str) -> None:
        """User volumes and `me` exist on the regional API only: say so instead of a bare 404."""
        if self.public:
            raise error_for_status(
                method, self.path(rest), 400,
                f"{what} are served by the regional AI API only (ovhai:endpoint with ovhai:token); "
                "the OVHcloud public API door has datastore aliases instead "
                "(/ai/data/region/{region}/alias)",
                None,
            )  # fmt: skip

    def list_volumes(self) -> list[UserVolume]:
        self._regional_only("GET", "user volumes", "volume")
        return self._list(UserVolume, self.path("volume"))

    def create_volume(self, spec: UserVolumeSpec | Mapping[str, Any]) -> UserVolume:
        """POST /v1/volume with `{name, region?, <source>?}` (a Mapping is sent as given)."""
        self._regional_only("POST", "user volumes", "volume")
        return UserVolume.model_validate(self.request("POST", self.path("volume"), json=_body(spec)))

    def get_volume(self, volume_id: str) -> UserVolume:
        self._regional_only("GET", "user volumes", "volume")
        return self._get_model(UserVolume, self.path(f"volume/{_seg(volume_id)}"))

    def delete_volume(self, volume_id: str) -> None:
        self._regional_only("DELETE", "user volumes", "volume")
        self.request("DELETE", self.path(f"volume/{_seg(volume_id)}"))

    # ------------------------------------------------------------------ datastore aliases, datasync

    def _alias_path(self, region: str | None, alias: str | None = None) -> str:
        base = f"data/region/{_seg((region or self._region()).upper())}/alias"
        return self.path(base if alias is None else f"{base}/{_seg(alias)}")

    def list_datastore_aliases(self, region: str | None = None) -> list[dict[str, Any]]:
        """GET /ai/data/region/{region}/alias (public door): the region's datastore aliases."""
        return [dict(item) for item in _items(self.request("GET", self._alias_path(region)))]

    def get_datastore_alias(self, alias: str, region: str | None = None) -> dict[str, Any]:
        return dict(self.request("GET", self._alias_path(region, alias)) or {})

    def create_datastore_alias(self, body: Mapping[str, Any], region: str | None = None) -> dict[str, Any]:
        """POST with `{alias, endpoint, owner, type, credentials}` (cloud.project.ai.DataStoreInput)."""
        return dict(self.request("POST", self._alias_path(region), json=body) or {})

    def update_datastore_alias(
        self, alias: str, body: Mapping[str, Any], region: str | None = None
    ) -> None:
        """PUT .../alias/{alias} with a whole `DataStoreInput` (new endpoint or credentials)."""
        self.request("PUT", self._alias_path(region, alias), json=body)

    def delete_datastore_alias(self, alias: str, region: str | None = None) -> None:
        self.request("DELETE", self._alias_path(region, alias))

    def datasync_app(self, app_id: str, direction: str, volume: str | None = None) -> dict[str, Any]:
        """POST .../app/{id}/datasync `{direction: pull|push, volume?}`: the `DataSync` it started."""
        body: dict[str, Any] = {"direction": direction}
        if volume:
            body["volume"] = volume
        return dict(self.request("POST", self.path(f"app/{_seg(app_id)}/datasync"), json=body) or {})

    def get_app_raw(self, app_id: str) -> dict[str, Any]:
        """The app as the API renders it (its `status.dataSync` list included)."""
        return dict(self.request("GET", self.path(f"app/{_seg(app_id)}")) or {})

    # ------------------------------------------------------------------ capabilities

    def list_flavors(self) -> list[Flavor]:
        return self._list(Flavor, self._flavor_path())

    def get_flavor(self, flavor_id: str) -> Flavor:
        return self._get_model(Flavor, f"{self._flavor_path()}/{_seg(flavor_id)}")

    def _flavor_path(self) -> str:
        if self.public:  # the public door lists flavors per region
            return self.path(f"capabilities/region/{_seg(self._region())}/flavor")
        return self.path("capabilities/flavor")

    def _region(self) -> str:
        if not self.region:
            raise ValueError("this call of the public API door needs a region")
        return self.region.upper()

    def get_quotas(self) -> Quotas:
        return self._get_model(Quotas, self.path("capabilities/quota"))

    def me(self) -> Me:
        self._regional_only("GET", "`me`", "me")
        return self._get_model(Me, self.path("me"))


# ---------------------------------------------------------------------- helpers


def _auth_secrets(auth: httpx.Auth | None) -> list[str]:
    secrets = getattr(auth, "secrets", None)
    return [s for s in secrets() if s] if callable(secrets) else []


def _seg(value: str) -> str:
    """An id as one path segment (an id with '/' or '?' must not reach another route)."""
    if not value:
        raise ValueError("empty id")
    return quote(value, safe="")


def _clean(params: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if not params:
        return None
    return {k: v for k, v in params.items() if v is not None}


def _body(value: Body) -> Mapping[str, Any]:
    return value.to_wire() if isinstance(value, WireModel) else value


def _decode(response: httpx.Response) -> Any:
    if response.status_code == 204 or not response.content.strip():
        return None
    try:
        return response.json()
    except ValueError:
        return response.text


def _items(body: Any) -> list[Any]:
    if body is None:
        return []
    if isinstance(body, list):
        return body
    if isinstance(body, Mapping) and isinstance(body.get("items"), list):
        return cast(list[Any], body["items"])
    raise ValueError(f"expected a list or {{items, metadata}}, got {type(body).__name__}")


def _page_count(body: Any) -> int | None:
    """`metadata.pageCount` of a `{items, metadata}` answer, when it is a number."""
    meta = body.get("metadata") if isinstance(body, Mapping) else None
    count = meta.get("pageCount") if isinstance(meta, Mapping) else None
    return count if isinstance(count, int) and not isinstance(count, bool) else None


def _log_lines(body: Any) -> list[str]:
    if body is None:
        return []
    if isinstance(body, str):
        return body.splitlines()
    if isinstance(body, Mapping):
        body = body.get("logs", body.get("items", body.get("lines", [])))
    if isinstance(body, list):
        lines: list[str] = []
        for entry in body:
            if isinstance(entry, Mapping):
                content = entry.get("content", entry.get("message", entry.get("line")))
                lines.append("" if content is None else str(content))
            else:
                lines.append(str(entry))
        return lines
    return [str(body)]


def _server_message(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, Mapping):
        message = body.get("message") or body.get("error") or body.get("detail")
        if message:
            return str(message)
    text = response.text.strip()
    if text:
        return text[:500]
    return response.reason_phrase or "no message"


def _error_code(response: httpx.Response) -> str | None:
    """The public door's `errorCode` (e.g. NOT_GRANTED_CALL), as python-ovh maps its exceptions."""
    try:
        body = response.json()
    except ValueError:
        return None
    code = body.get("errorCode") if isinstance(body, Mapping) else None
    return str(code) if code else None


def _describe(exc: httpx.HTTPError) -> str:
    text = str(exc) or type(exc).__name__
    return f"{type(exc).__name__}: {text}" if text != type(exc).__name__ else text
