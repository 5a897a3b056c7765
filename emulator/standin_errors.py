"""vLLM's error answers: the body shape of the release, its status codes and error types."""

from __future__ import annotations

from typing import Any

from starlette.responses import JSONResponse

from .standin_release import Release


class StandinError(Exception):
    """A request vLLM refuses: raised by validation, answered by `error_response`."""

    def __init__(
        self, message: str, status: int = 400, kind: str = "BadRequestError", param: str | None = None
    ) -> None:
        super().__init__(message)
        self.message, self.status, self.kind, self.param = message, status, kind, param


def validation_error(msg: str, loc: tuple[Any, ...] = ("body",), kind: str = "value_error") -> StandinError:
    """A pydantic validation failure as vLLM reports it: the str() of FastAPI's error list."""
    prefix = "Value error, " if kind == "value_error" else ""
    return StandinError(str([{"type": kind, "loc": loc, "msg": prefix + msg}]))


def error_body(release: Release, error: StandinError) -> dict[str, Any]:
    info = {"message": error.message, "type": error.kind, "param": error.param, "code": error.status}
    return {"error": info} if release.nested_errors else {"object": "error", **info}


def error_response(release: Release, error: StandinError) -> JSONResponse:
    return JSONResponse(error_body(release, error), status_code=error.status)
