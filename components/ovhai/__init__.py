"""The API layer: pydantic models of the AI Deploy API objects and a typed httpx client."""

from .client import USER_AGENT, OvhAiClient, parse_retry_after
from .errors import (
    ApiConnectionError,
    ApiError,
    ApiTimeout,
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    NotGrantedCall,
    OvhAiError,
    PaymentRequired,
    RateLimited,
    ServerError,
    Unauthorized,
    WaitTimeout,
    error_for_status,
)

__all__ = [
    "USER_AGENT",
    "ApiConnectionError",
    "ApiError",
    "ApiTimeout",
    "Conflict",
    "Forbidden",
    "InvalidRequest",
    "NotFound",
    "NotGrantedCall",
    "OvhAiClient",
    "OvhAiError",
    "PaymentRequired",
    "RateLimited",
    "ServerError",
    "Unauthorized",
    "WaitTimeout",
    "error_for_status",
    "parse_retry_after",
]
