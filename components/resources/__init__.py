"""Pulumi dynamic resources of the AI Deploy API: AiApp, AiToken, AiVolume, AiDatastoreAlias (thin, one
API object each)."""

from components.resources.alias import AiDatastoreAlias, AiDatastoreAliasProvider, AliasError
from components.resources.app import AiApp, AiAppProvider, AppFailed, ProviderError
from components.resources.credentials import Credentials, MissingCredentials
from components.resources.token import AiToken, AiTokenProvider, TokenError
from components.resources.volume import AiVolume, AiVolumeProvider, VolumeError

__all__ = [
    "AiApp",
    "AiAppProvider",
    "AiDatastoreAlias",
    "AiDatastoreAliasProvider",
    "AiToken",
    "AiTokenProvider",
    "AiVolume",
    "AiVolumeProvider",
    "AliasError",
    "AppFailed",
    "Credentials",
    "MissingCredentials",
    "ProviderError",
    "TokenError",
    "VolumeError",
]
