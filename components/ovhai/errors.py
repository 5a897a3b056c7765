"""Typed errors of the AI Deploy API: one tree, so `except OvhAiError` catches all of them.

    OvhAiError                     anything the API layer raises
    +-- ApiError                   a call that did not succeed: method, path, status, message
    |   +-- InvalidRequest         400
    |   +-- Unauthorized           401
    |   +-- PaymentRequired        402 (quota, payment method)
    |   +-- Forbidden              403
    |   |   +-- NotGrantedCall     403 NOT_GRANTED_CALL: a consumer key without the rule (see rights)
    |   +-- NotFound               404
    |   +-- Conflict               409
    |   +-- RateLimited            429 (retry_after)
    |   +-- ServerError            5xx
    |   +-- ApiConnectionError     no complete response (maybe_applied)
    |       +-- ApiTimeout         no answer in time
    +-- WaitTimeout                a wait reached its deadline (also a TimeoutError)

Every ApiError carries the HTTP method, the path (without query string), the status and the
server's message; none ever carries the token (the client redacts it from server messages too).
"""

from __future__ import annotations

from http import HTTPStatus

from . import rights


def _reason(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "HTTP error"


class OvhAiError(Exception):
    """The base of every error of the API layer (see the tree in the module docstring)."""


class ApiError(OvhAiError):
    """An API call that did not succeed. Subclasses say what it means; `status` says how."""

    def __init__(self, method: str, path: str, status: int, message: str) -> None:
        self.method = method.upper()
        self.path = path
        self.status = status
        self.message = message
        # Filled in when the retry policy gave up (number of attempts, seconds spent retrying).
        self.attempts = 1
        self.elapsed = 0.0
        self.gave_up_retrying = False
        super().__init__(self.method, self.path, self.status, self.message)

    @property
    def reason(self) -> str:
        return _reason(self.status)

    def gave_up(self, attempts: int, elapsed: float) -> None:
        """Record that the retry policy stopped after `attempts` attempts and `elapsed` seconds."""
        self.attempts = attempts
        self.elapsed = elapsed
        self.gave_up_retrying = True

    def _gave_up_suffix(self) -> str:
        if not self.gave_up_retrying:
            return ""
        plural = "s" if self.attempts != 1 else ""
        return f" (gave up after {self.attempts} attempt{plural} in {self.elapsed:.1f} s)"

    def __str__(self) -> str:
        return (
            f"{self.method} {self.path}: {self.status} {self.reason}: {self.message}{self._gave_up_suffix()}"
        )

    def __reduce__(self) -> tuple[object, ...]:
        # Exceptions travel through Pulumi's gRPC layer and pickling: keep them reconstructible.
        return (_rebuild, (type(self), self.__dict__))


def _rebuild(cls: type[ApiError], state: dict[str, object]) -> ApiError:
    error = cls.__new__(cls)
    Exception.__init__(
        error, state.get("method"), state.get("path"), state.get("status"), state.get("message")
    )
    error.__dict__.update(state)
    return error


class InvalidRequest(ApiError):
    """400: the server rejected the request body or query; the message names the field."""


class Unauthorized(ApiError):
    """401: missing, wrong or revoked token, or a token of another region."""


class PaymentRequired(ApiError):
    """402: payment method or project quota (e.g. GPUs) refuses the creation."""


class Forbidden(ApiError):
    """403: the token's role does not allow this call (e.g. a read token writing)."""


class NotGrantedCall(Forbidden):
    """403 NOT_GRANTED_CALL on the public door: no access rule of the consumer key grants the call.
    The message names the refused call and the rules the product needs (`rights`)."""

    def __str__(self) -> str:
        return f"{super().__str__()}: {rights.refusal_advice(self.method, self.path)}"


class NotFound(ApiError):
    """404: unknown id, or an object outside a scoped token's label selector."""


class Conflict(ApiError):
    """409: the object's state does not allow the call (e.g. deleting a running app without force)."""


class RateLimited(ApiError):
    """429: too many requests; `retry_after` holds the server's hint in seconds when it gave one."""

    def __init__(
        self, method: str, path: str, status: int, message: str, retry_after: float | None = None
    ) -> None:
        super().__init__(method, path, status, message)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx: a platform fault; 502/503/504 are retried for idempotent calls."""


class ApiConnectionError(ApiError):
    """No complete HTTP response: connection refused, reset, dropped, or timed out.

    `maybe_applied` is True when the request may have reached the server (it was sent, then the
    response was lost or late): for a create the caller must look the object up before creating
    again. It is False when the connection was never established (nothing was sent).
    """

    def __init__(self, method: str, path: str, message: str, *, maybe_applied: bool) -> None:
        super().__init__(method, path, 0, message)
        self.maybe_applied = maybe_applied

    @property
    def reason(self) -> str:
        return "no response"

    def __str__(self) -> str:
        return f"{self.method} {self.path}: connection error: {self.message}{self._gave_up_suffix()}"


class ApiTimeout(ApiConnectionError):
    """The server did not answer in time (a read timeout: the request may have been applied)."""


class WaitTimeout(OvhAiError, TimeoutError):
    """`wait_for_app` reached its deadline before the app reached a wanted or terminal state."""

    def __init__(self, app_id: str, last_state: str | None, elapsed: float) -> None:
        self.app_id = app_id
        self.last_state = last_state
        self.elapsed = elapsed
        super().__init__(app_id, last_state, elapsed)

    def __str__(self) -> str:
        return (
            f"app {self.app_id} still {self.last_state or 'in an unknown state'} "
            f"after {self.elapsed:.1f} s of waiting"
        )


_BY_STATUS: dict[int, type[ApiError]] = {
    400: InvalidRequest,
    401: Unauthorized,
    402: PaymentRequired,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    429: RateLimited,
}


def error_for_status(
    method: str,
    path: str,
    status: int,
    message: str,
    retry_after: float | None = None,
    *,
    code: str | None = None,
) -> ApiError:
    """The typed error for an HTTP status (plain ApiError for codes without a meaning of their own);
    `code` is the public door's `errorCode` when the body had one."""
    if status == 403 and code == rights.NOT_GRANTED_CALL:
        return NotGrantedCall(method, path, status, message)
    if status == 429:
        return RateLimited(method, path, status, message, retry_after)
    if status >= 500:
        return ServerError(method, path, status, message)
    return _BY_STATUS.get(status, ApiError)(method, path, status, message)
