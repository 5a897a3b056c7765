"""What every dynamic provider here shares: credentials from `configure()`, never pickled.

The engine pickles the provider object into the state (`__provider`) with dill; a provider that
held the token or an httpx client there would leak the one and fail on the other. So the pickled
state is empty, the credentials are read in the provider process by `configure()`, and each
operation opens its own client (the process runs up to four operations at once, in threads).
"""

from __future__ import annotations

from typing import Any

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from components.ovhai import OvhAiClient
from components.ovhai.ovh_auth import OvhOAuth2Auth, OvhSignatureAuth, api_base_url, oauth2_token_url
from components.resources.credentials import Credentials, MissingCredentials, resolve
from components.resources.progress import log

# A regional API that keeps failing for two minutes is down: say so rather than wait on.
MAX_RETRY_SECONDS = 120.0


class ApiProvider(ResourceProvider):
    """A provider that talks to the ovhai API with the stack's credentials."""

    def __init__(self) -> None:
        super().__init__()

    def __getstate__(self) -> dict[str, Any]:
        return {}  # never pickle credentials, whatever happened to the instance before

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)

    def configure(self, req: ConfigureRequest) -> None:
        try:
            self._credentials: Credentials | None = resolve(req.config)
            self._missing: str | None = None
        except MissingCredentials as error:
            self._credentials, self._missing = None, str(error)

    def credentials(self) -> Credentials:
        """The configured credentials; MissingCredentials naming both ways to set them."""
        creds: Credentials | None = getattr(self, "_credentials", None)
        if creds is not None:
            return creds
        missing: str | None = getattr(self, "_missing", None)
        if missing is not None:
            raise MissingCredentials(missing)
        return resolve(None)  # never configured (a plain script): the environment alone

    def client(self, creds: Credentials, resource_name: str) -> OvhAiClient:
        """A client for one operation; its retry messages carry the resource's name."""
        return open_client(
            creds, max_retry_seconds=MAX_RETRY_SECONDS, on_retry=lambda message: log(resource_name, message)
        )


def open_client(creds: Credentials, **options: Any) -> OvhAiClient:
    """A client of the credentials' door: the regional API with the AI token, or the public API
    (`<endpoint>/cloud/project/{serviceName}/ai/...`) signed or with an OAuth2 bearer."""
    if creds.door == "regional":
        return OvhAiClient(creds.endpoint, creds.token, **options)
    base_url = api_base_url(creds.endpoint)
    auth: OvhSignatureAuth | OvhOAuth2Auth
    if creds.signature is not None:
        keys = creds.signature
        auth = OvhSignatureAuth(keys.application_key, keys.application_secret, keys.consumer_key, base_url)
    else:
        assert creds.oauth2 is not None
        auth = OvhOAuth2Auth(
            creds.oauth2.client_id, creds.oauth2.client_secret, oauth2_token_url(creds.endpoint)
        )
    return OvhAiClient(base_url, auth=auth, service_name=creds.service_name, region=creds.region, **options)
