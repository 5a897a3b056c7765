"""What every dynamic provider here shares: credentials from `configure()`, never pickled.

The engine pickles the provider object into the state (`__provider`) with dill; a provider that
held the token or an httpx client there would leak the one and fail on the other. So the pickled
state is empty, the credentials are read in the provider process by `configure()`, and each
operation opens its own client (the process runs up to four operations at once, in threads).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from pulumi.dynamic import ConfigureRequest, ResourceProvider

from components.ovhai import OvhAiClient
from components.ovhai.ovh_auth import OvhOAuth2Auth, OvhSignatureAuth, api_base_url, oauth2_token_url
from components.resources.credentials import SERVICE_NAME_KEY, Credentials, MissingCredentials, resolve
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
        # The raw config stays in this process's memory only (never pickled: __getstate__), so that
        # a resource's own project (its `serviceName` input) can be laid under it later.
        self._config: Any = req.config
        try:
            self._credentials: Credentials | None = resolve(req.config)
            self._missing: str | None = None
            self._missing_project = False
        except MissingCredentials as error:
            self._credentials, self._missing = None, str(error)
            self._missing_project = bool(error.issues) and all(
                key == SERVICE_NAME_KEY for key, _reason, _fix in error.issues
            )

    def credentials(self, service_name: str | None = None) -> Credentials:
        """The configured credentials; MissingCredentials naming both ways to set them.

        `service_name` is the resource's `serviceName` input (the platform stack's project): used
        when the configured credentials name no project, or failed only for the missing project.
        The stack's own `vllm-ai-deploy:serviceName` always wins (credentials.resolve)."""
        project = service_name if isinstance(service_name, str) and service_name.strip() else None
        creds: Credentials | None = getattr(self, "_credentials", None)
        if creds is not None:
            if project and creds.door == "public" and not creds.service_name:
                return replace(creds, service_name=project.strip())
            return creds
        missing: str | None = getattr(self, "_missing", None)
        if missing is not None:
            if project and getattr(self, "_missing_project", False):
                return resolve(getattr(self, "_config", None), service_name=project)
            raise MissingCredentials(missing)
        # never configured (a plain script): the environment alone
        return resolve(None, service_name=project)

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
