"""Where a provider finds its endpoint and token: the stack config first, then the environment.

`configure()` of a dynamic provider receives the stack's whole config (keys `<namespace>:<key>`).
The token is set with `pulumi config set --secret ovhai:token ...`; the engine decrypts it and
hands it over in the Configure call, so it never appears in the program, the state or the pickled
provider. Without a stack config (a plain script, a test), `OVHAI_ENDPOINT` / `OVHAI_TOKEN` serve.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol

ENDPOINT_KEY = "ovhai:endpoint"
TOKEN_KEY = "ovhai:token"
REGION_KEY = "ovhai:region"
ENDPOINT_ENV = "OVHAI_ENDPOINT"
TOKEN_ENV = "OVHAI_TOKEN"
REGION_ENV = "OVHAI_REGION"


class ConfigLike(Protocol):
    def get(self, key: str) -> Any: ...


class MissingCredentials(RuntimeError):
    """No endpoint or no token: the message says both ways to provide each."""


@dataclass(frozen=True)
class Credentials:
    endpoint: str
    token: str = field(repr=False)  # never in a repr, a log line or an error
    region: str | None = None


def regional_endpoint(region: str) -> str:
    """The regional API of a region code (`gra` -> https://gra.ai.cloud.ovh.net)."""
    return f"https://{region.strip().lower()}.ai.cloud.ovh.net"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def resolve(
    config: ConfigLike | Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> Credentials:
    """Credentials from the stack config, falling back to the environment; MissingCredentials if absent."""
    env = os.environ if environ is None else environ

    def get(key: str) -> str | None:
        return _text(config.get(key)) if config is not None else None

    region = get(REGION_KEY) or _text(env.get(REGION_ENV))
    endpoint = get(ENDPOINT_KEY) or _text(env.get(ENDPOINT_ENV))
    if endpoint is None and region is not None:
        endpoint = regional_endpoint(region)
    token = get(TOKEN_KEY) or _text(env.get(TOKEN_ENV))
    missing = []
    if endpoint is None:
        missing.append(
            f"the API endpoint: `pulumi config set {ENDPOINT_KEY} https://gra.ai.cloud.ovh.net` "
            f"(or `pulumi config set {REGION_KEY} gra`), or the environment variable {ENDPOINT_ENV}"
        )
    if token is None:
        missing.append(
            f"the API token: `pulumi config set --secret {TOKEN_KEY} <token>` "
            "(create one with `ovhai token create ... --role operator`), "
            f"or the environment variable {TOKEN_ENV}"
        )
    if missing:
        raise MissingCredentials("ovhai credentials are missing; set " + "; and ".join(missing))
    assert endpoint is not None and token is not None
    return Credentials(endpoint=endpoint.rstrip("/"), token=token, region=region)
