"""Where a provider finds its door, endpoint and credentials: the stack config first, then the environment.

Two doors lead to the same AI Deploy backend (see ../shared/ovhai/API.md):
- the regional API with an AI token: `ovhai:endpoint` (or `ovhai:region`) and `ovhai:token`;
- the OVHcloud public API with the `ovh:*` credentials that `pulumi-ovh` reads: `ovh:endpoint`
  (ovh-eu, ovh-ca, ovh-us or a URL), either `ovh:applicationKey` + `ovh:applicationSecret` +
  `ovh:consumerKey` (signed requests) or `ovh:clientId` + `ovh:clientSecret` (an OAuth2 service
  account), plus the project `vllm-ai-deploy:serviceName` and the region `ovhai:region`.

The door is chosen by the config present; both present is an error naming the keys. `configure()`
of a dynamic provider receives the stack's whole config (keys `<namespace>:<key>`); secrets are set
with `pulumi config set --secret ...`, decrypted by the engine and handed over in the Configure
call, so they never appear in the program, the state or the pickled provider. Without any door key
in the stack config (a plain script, a test), the environment serves: OVHAI_ENDPOINT /
OVHAI_TOKEN / OVHAI_REGION, or python-ovh's OVH_ENDPOINT / OVH_APPLICATION_KEY /
OVH_APPLICATION_SECRET / OVH_CONSUMER_KEY / OVH_CLIENT_ID / OVH_CLIENT_SECRET and
OVH_CLOUD_PROJECT_SERVICE (pulumi-ovh's variable for the project).

Pure: no Pulumi, no HTTP.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from components.ovhai.ovh_auth import api_base_url, oauth2_token_url

ENDPOINT_KEY = "ovhai:endpoint"
TOKEN_KEY = "ovhai:token"
REGION_KEY = "ovhai:region"
ENDPOINT_ENV = "OVHAI_ENDPOINT"
TOKEN_ENV = "OVHAI_TOKEN"
REGION_ENV = "OVHAI_REGION"

OVH_ENDPOINT_KEY = "ovh:endpoint"
APPLICATION_KEY_KEY = "ovh:applicationKey"
APPLICATION_SECRET_KEY = "ovh:applicationSecret"
CONSUMER_KEY_KEY = "ovh:consumerKey"
CLIENT_ID_KEY = "ovh:clientId"
CLIENT_SECRET_KEY = "ovh:clientSecret"
SERVICE_NAME_KEY = "vllm-ai-deploy:serviceName"

SIGNATURE_KEYS = (APPLICATION_KEY_KEY, APPLICATION_SECRET_KEY, CONSUMER_KEY_KEY)
OAUTH2_KEYS = (CLIENT_ID_KEY, CLIENT_SECRET_KEY)
PUBLIC_KEYS = (*SIGNATURE_KEYS, *OAUTH2_KEYS)
# Keys whose value is a credential: stored with --secret, never shown.
SECRET_KEYS = (TOKEN_KEY, APPLICATION_SECRET_KEY, CONSUMER_KEY_KEY, CLIENT_SECRET_KEY)

# The environment variable of each key (python-ovh's names for `ovh:*`, pulumi-ovh's for the project).
ENV_OF = {
    ENDPOINT_KEY: ENDPOINT_ENV,
    TOKEN_KEY: TOKEN_ENV,
    REGION_KEY: REGION_ENV,
    OVH_ENDPOINT_KEY: "OVH_ENDPOINT",
    APPLICATION_KEY_KEY: "OVH_APPLICATION_KEY",
    APPLICATION_SECRET_KEY: "OVH_APPLICATION_SECRET",
    CONSUMER_KEY_KEY: "OVH_CONSUMER_KEY",
    CLIENT_ID_KEY: "OVH_CLIENT_ID",
    CLIENT_SECRET_KEY: "OVH_CLIENT_SECRET",
    SERVICE_NAME_KEY: "OVH_CLOUD_PROJECT_SERVICE",
}
EXAMPLE_OF = {
    ENDPOINT_KEY: "https://gra.ai.cloud.ovh.net",
    TOKEN_KEY: "<AI token>",
    REGION_KEY: "gra",
    OVH_ENDPOINT_KEY: "ovh-eu",
    APPLICATION_KEY_KEY: "<application key>",
    APPLICATION_SECRET_KEY: "<application secret>",
    CONSUMER_KEY_KEY: "<consumer key>",
    CLIENT_ID_KEY: "<service account id>",
    CLIENT_SECRET_KEY: "<service account secret>",
    SERVICE_NAME_KEY: "<public cloud project id>",
}

Door = Literal["regional", "public"]
Getter = Callable[[str], str | None]


class ConfigLike(Protocol):
    def get(self, key: str) -> Any: ...


Issue = tuple[str, str, str]  # (config key, what is wrong, the command that fixes it)


class MissingCredentials(RuntimeError):
    """No usable door: the message names every missing or conflicting key and the command to fix it;
    `issues` lists them one by one (the settings rules report each at preview)."""

    def __init__(self, message: str, issues: list[Issue] | None = None) -> None:
        super().__init__(message)
        self.issues = issues or []


def set_command(key: str) -> str:
    """`pulumi config set [--secret] <key> <example>` for a key, in backquotes."""
    return f"`{plain_set_command(key)}`"


def plain_set_command(key: str) -> str:
    secret = "--secret " if key in SECRET_KEYS else ""
    return f"pulumi config set {secret}{key} {EXAMPLE_OF[key]}"


@dataclass(frozen=True)
class SignatureKeys:
    """Application key/secret and consumer key of the public API (signed requests)."""

    application_key: str
    application_secret: str = field(repr=False)
    consumer_key: str = field(repr=False)


@dataclass(frozen=True)
class OAuth2Account:
    """An OAuth2 service account of the public API (client credentials)."""

    client_id: str
    client_secret: str = field(repr=False)


@dataclass(frozen=True)
class Credentials:
    """One door's endpoint and credentials. `token` is the regional door's; `signature` or `oauth2`
    (with `service_name`) the public door's. Secrets never in a repr, a log line or an error."""

    endpoint: str
    token: str = field(default="", repr=False)
    region: str | None = None
    service_name: str | None = None
    signature: SignatureKeys | None = None
    oauth2: OAuth2Account | None = None

    @property
    def door(self) -> Door:
        return "public" if (self.signature or self.oauth2) else "regional"

    @property
    def secrets(self) -> list[str]:
        """Every secret value these credentials hold (for redaction)."""
        values = [self.token]
        if self.signature:
            values += [self.signature.application_secret, self.signature.consumer_key]
        if self.oauth2:
            values.append(self.oauth2.client_secret)
        return [v for v in values if v]


def regional_endpoint(region: str) -> str:
    """The regional API of a region code (`gra` -> https://gra.ai.cloud.ovh.net)."""
    return f"https://{region.strip().lower()}.ai.cloud.ovh.net"


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = str(value).strip()
    return text or None


def _env_name(key: str) -> str:
    return ENV_OF[key]


def needs_project(
    config: ConfigLike | Mapping[str, Any] | None, environ: Mapping[str, str] | None = None
) -> bool:
    """Whether the door the config (else the environment) picks is the public one and names no
    project: a project handed in by the program (`resolve(service_name=...)`) would then be used."""
    env = os.environ if environ is None else environ

    def from_config(key: str) -> str | None:
        return _text(config.get(key)) if config is not None else None

    if from_config(SERVICE_NAME_KEY) or _text(env.get(_env_name(SERVICE_NAME_KEY))):
        return False
    door_keys = (TOKEN_KEY, *PUBLIC_KEYS)
    if any(from_config(k) for k in door_keys):
        return any(from_config(k) for k in PUBLIC_KEYS)
    return any(_text(env.get(_env_name(k))) for k in PUBLIC_KEYS)


def resolve(
    config: ConfigLike | Mapping[str, Any] | None,
    environ: Mapping[str, str] | None = None,
    *,
    service_name: str | None = None,
) -> Credentials:
    """Credentials from the stack config, falling back to the environment; MissingCredentials if
    absent, incomplete or ambiguous.

    `service_name` is a project handed in by the program (the platform stack's `serviceName`
    output, for a model stack with `cacheStack`): it fills SERVICE_NAME_KEY only when neither the
    config nor the environment names one. An explicit key always wins (a key that differs from the
    platform's is already a preview error, components/cache.py)."""
    env = os.environ if environ is None else environ
    given = _text(service_name)

    def from_config(key: str) -> str | None:
        return _text(config.get(key)) if config is not None else None

    door_keys = (TOKEN_KEY, *PUBLIC_KEYS)
    in_config = any(from_config(k) for k in door_keys)

    def get(key: str) -> str | None:
        # The door comes from one source: the stack config when it names any door key, else the
        # environment (an ambient OVH_* for pulumi-ovh must not change a stack's door).
        value = from_config(key)
        if value is None and not (in_config and key in door_keys):
            value = _text(env.get(_env_name(key)))
        if value is None and key == SERVICE_NAME_KEY:
            value = given
        return value

    source = "stack config" if in_config else "environment"
    present = [k for k in door_keys if get(k)]
    public = [k for k in present if k in PUBLIC_KEYS]
    if TOKEN_KEY in present and public:
        reason = (
            f"both API doors are configured in the {source}: {TOKEN_KEY} (the regional API) and "
            f"{', '.join(public)} (the OVHcloud public API)"
        )
        raise MissingCredentials(
            f"{reason}; keep one: `pulumi config rm {TOKEN_KEY}` "
            f"or `pulumi config rm {public[0]}` (and the other ovh:* credentials)",
            [(TOKEN_KEY, reason + "; keep one", f"pulumi config rm {TOKEN_KEY}")],
        )
    if public:
        return _public(get, source)
    return _regional(get)


def _regional(get: Getter) -> Credentials:
    region = get(REGION_KEY)
    endpoint = get(ENDPOINT_KEY)
    if endpoint is None and region is not None:
        endpoint = regional_endpoint(region)
    token = get(TOKEN_KEY)
    missing = []
    if endpoint is None:
        missing.append(
            f"the API endpoint: {set_command(ENDPOINT_KEY)} "
            f"(or `pulumi config set {REGION_KEY} gra`), or the environment variable {ENDPOINT_ENV}"
        )
    if token is None:
        missing.append(
            f"the API token: {set_command(TOKEN_KEY)} "
            "(create one with `ovhai token create ... --role operator`), "
            f"or the environment variable {TOKEN_ENV}; or use the OVHcloud public API instead: "
            f"{set_command(OVH_ENDPOINT_KEY)} with {APPLICATION_KEY_KEY}/{APPLICATION_SECRET_KEY}/"
            f"{CONSUMER_KEY_KEY} or {CLIENT_ID_KEY}/{CLIENT_SECRET_KEY}, and {SERVICE_NAME_KEY}"
        )
    if missing:
        raise MissingCredentials("ovhai credentials are missing; set " + "; and ".join(missing))
    assert endpoint is not None and token is not None
    return Credentials(endpoint=endpoint.rstrip("/"), token=token, region=region)


def _public(get: Getter, source: str) -> Credentials:
    signed = [k for k in SIGNATURE_KEYS if get(k)]
    oauth = [k for k in OAUTH2_KEYS if get(k)]
    if signed and oauth:
        reason = (
            f"the {source} holds both kinds of OVHcloud API credentials: {', '.join(signed)} "
            f"(signed requests) and {', '.join(oauth)} (OAuth2); keep one kind"
        )
        raise MissingCredentials(
            f"{reason}, e.g. `pulumi config rm {oauth[0]}`",
            [(oauth[0], reason, f"pulumi config rm {oauth[0]}")],
        )
    wanted = SIGNATURE_KEYS if signed else OAUTH2_KEYS
    issues: list[Issue] = [
        (key, "is needed by the OVHcloud public API door", plain_set_command(key))
        for key in (*wanted, OVH_ENDPOINT_KEY, SERVICE_NAME_KEY, REGION_KEY)
        if not get(key)
    ]
    if get(ENDPOINT_KEY):
        issues.append((
            ENDPOINT_KEY,
            f"is the regional API's address, but the credentials are the OVHcloud public API's "
            f"({', '.join(signed or oauth)}): remove it and set the public API with "
            f"{set_command(OVH_ENDPOINT_KEY)}",
            f"pulumi config rm {ENDPOINT_KEY}",
        ))  # fmt: skip
    endpoint = get(OVH_ENDPOINT_KEY)
    if endpoint:
        try:
            _check_endpoint(endpoint, oauth2=bool(oauth))
        except ValueError as error:
            issues.append((OVH_ENDPOINT_KEY, str(error), plain_set_command(OVH_ENDPOINT_KEY)))
    if issues:
        raise MissingCredentials(
            "the OVHcloud public API door is not usable: "
            + "; ".join(f"{key} {reason}: `{fix}`" for key, reason, fix in issues),
            issues,
        )
    def need(key: str) -> str:
        value = get(key)
        assert value is not None  # checked above
        return value

    signature = oauth2 = None
    if signed:
        signature = SignatureKeys(
            need(APPLICATION_KEY_KEY), need(APPLICATION_SECRET_KEY), need(CONSUMER_KEY_KEY)
        )
    else:
        oauth2 = OAuth2Account(need(CLIENT_ID_KEY), need(CLIENT_SECRET_KEY))
    return Credentials(
        endpoint=need(OVH_ENDPOINT_KEY).rstrip("/"),
        region=get(REGION_KEY),
        service_name=get(SERVICE_NAME_KEY),
        signature=signature,
        oauth2=oauth2,
    )


def _check_endpoint(endpoint: str, *, oauth2: bool) -> None:
    api_base_url(endpoint)
    if oauth2:
        oauth2_token_url(endpoint)
