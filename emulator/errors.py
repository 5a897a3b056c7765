"""The API's error type: raised anywhere in a handler, answered as JSON `{"message": ...}`."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response


class ApiError(Exception):
    """An HTTP error answer. 400 messages start with the wire path of the faulty field."""

    def __init__(self, status: int, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = headers or {}


def invalid(path: str, message: str) -> ApiError:
    """A 400 naming the field by its wire path, e.g. `spec.volumes[1].mountPath: ...`."""
    return ApiError(400, f"{path}: {message}")


def not_found(kind: str, ident: str) -> ApiError:
    return ApiError(404, f"{kind} {ident} not found")


async def handle_api_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, ApiError)
    return JSONResponse({"message": exc.message}, status_code=exc.status, headers=exc.headers)
