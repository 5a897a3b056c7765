"""Pulumi dynamic resources of the AI Deploy API: AiApp and AiToken (thin, one API object each)."""

from components.resources.app import AiApp, AiAppProvider, AppFailed, ProviderError
from components.resources.credentials import Credentials, MissingCredentials
from components.resources.token import AiToken, AiTokenProvider, TokenError

__all__ = [
    "AiApp",
    "AiAppProvider",
    "AiToken",
    "AiTokenProvider",
    "AppFailed",
    "Credentials",
    "MissingCredentials",
    "ProviderError",
    "TokenError",
]
