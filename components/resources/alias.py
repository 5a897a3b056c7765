"""AiDatastoreAlias: an AI Deploy datastore alias as a Pulumi dynamic resource, and its provider.

AI Deploy mounts an Object Storage container through a datastore alias of the app's region
(`dataStore: {alias, container, prefix}`). Each region has OVHcloud's own (`GRA`, `S3GRA`); a
customer alias is registered with S3 credentials of the customer's choice, e.g. the platform
stack's cache user. Its API exists only on the OVHcloud public door:
`/cloud/project/{serviceName}/ai/data/region/{region}/alias[/{alias}]`, the body a
`cloud.project.ai.DataStoreInput` (shared/ovhai/cloud-ai-schema.json): `alias`, `endpoint`,
`owner` (`customer`), `type` (`s3`), `credentials: {s3: {accessKey, secretKey, region}}`.

Secrets. `credentials` is a secret input (the resource wraps it in `Output.secret`, so the
engine encrypts the recorded inputs); the provider never returns the values: the outputs carry
their HMAC fingerprints (components/resources/fingerprint.py, the key minted per resource and
itself a secret output), so a changed key pair is seen by `diff` and applied in place (PUT)
without the values ever being stored in plain text. The API never returns them either.

Lifecycle. `alias`, `region` and `serviceName` name the object: a change replaces it. `endpoint`,
`owner`, `type`, `prefix` and `credentials` update it in place (PUT, the schema's update).
Create never takes over an existing alias (someone else's, or OVHcloud's): it fails naming the
alias and the fix; after a POST whose answer was lost it looks again, and an alias that now
exists with this resource's endpoint is the one it made. Delete removes only what this resource
made: an alias that is gone is fine, and one whose endpoint is no longer ours (re-registered by
someone else since) is left in place with a log line.

The door. `configure()` receives the stack's config; this resource needs the public door (the
`ovh:*` keys, see credentials.py) and says so at `check` (preview) when only the regional door
(`ovhai:endpoint`/`ovhai:token`) is configured. The project comes from the `serviceName` input
when given (the platform stack passes its own), else from `vllm-ai-deploy:serviceName` /
OVH_CLOUD_PROJECT_SERVICE; the region from the `region` input.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from components.ovhai import ApiConnectionError, ApiError, NotFound, OvhAiClient, ServerError
from components.platform_stack import ALIAS_PATTERN
from components.resources.credentials import (
    OVH_ENDPOINT_KEY,
    REGION_KEY,
    SERVICE_NAME_KEY,
    TOKEN_KEY,
    Credentials,
    MissingCredentials,
    resolve,
)
from components.resources.fingerprint import fingerprints, new_key, redact
from components.resources.progress import log
from components.resources.provider_base import ApiProvider
from components.resources.spec_diff import contains_unknown, same

PROVIDER_KEY = "__provider"
REPLACE_KEYS = ("alias", "region", "serviceName")
UPDATE_KEYS = ("endpoint", "owner", "type", "prefix")
CREDENTIAL_FIELDS = ("accessKey", "secretKey", "region")
OWNERS = ("customer", "ovhcloud")
TYPES = ("s3", "swift", "git")
POST_ATTEMPTS = 3
PREVIEW_PROJECT = "project-known-at-deploy"  # stands for a project not known at preview
_REGION = re.compile(r"^[A-Za-z]{2,8}[0-9]?$")


class AliasError(RuntimeError):
    """A datastore alias could not be managed (the message never carries a credential)."""


PUBLIC_DOOR_NEEDED = (
    "datastore aliases exist only on the OVHcloud public API "
    "(/cloud/project/{serviceName}/ai/data/region/{region}/alias), and this stack configures only "
    f"the regional API ({TOKEN_KEY}): set the public door with `pulumi config set {OVH_ENDPOINT_KEY} "
    "ovh-eu` and `pulumi config set --secret ovh:applicationKey/ovh:applicationSecret/"
    f"ovh:consumerKey ...` (or ovh:clientId/ovh:clientSecret), then `pulumi config rm {TOKEN_KEY}`"
)


def check_alias(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[tuple[str, str]]]:
    """Normalised inputs and (property, reason) failures (pure: no credentials, no HTTP)."""
    inputs = {k: v for k, v in news.items() if v is not None}
    failures: list[tuple[str, str]] = []
    inputs.setdefault("owner", "customer")
    inputs.setdefault("type", "s3")
    alias = inputs.get("alias")
    if not contains_unknown(alias) and not (isinstance(alias, str) and ALIAS_PATTERN.match(alias)):
        failures.append(("alias", f"{alias!r} is not a datastore alias (1 to 64 letters, digits, '_', '-')"))
    region = inputs.get("region")
    if isinstance(region, str) and _REGION.match(region.strip()):
        inputs["region"] = region.strip().upper()
    elif not contains_unknown(region):
        failures.append(("region", f"{region!r} is not an AI Deploy region (GRA, BHS, ...)"))
    endpoint = inputs.get("endpoint")
    if not contains_unknown(endpoint) and not (
        isinstance(endpoint, str) and endpoint.startswith(("https://", "http://"))
    ):
        failures.append(("endpoint", f"{endpoint!r} is not the datastore's URL (https://...)"))
    for key, allowed in (("owner", OWNERS), ("type", TYPES)):
        if not contains_unknown(inputs[key]) and inputs[key] not in allowed:
            failures.append((key, f"must be one of {', '.join(allowed)}, not {inputs[key]!r}"))
    credentials = inputs.get("credentials")
    if not contains_unknown(credentials):
        absent = [f for f in CREDENTIAL_FIELDS
                  if not isinstance(credentials, Mapping) or not isinstance(credentials.get(f), str)
                  or not credentials.get(f)]  # fmt: skip
        if absent:
            failures.append(("credentials", "the S3 credentials need " + ", ".join(absent)
                             + " (accessKey, secretKey, region)"))  # fmt: skip
        elif isinstance(credentials, Mapping):
            unknown = sorted(set(credentials) - set(CREDENTIAL_FIELDS))
            if unknown:
                failures.append(("credentials", f"unknown field(s) {', '.join(unknown)}"))
    return inputs, failures


def wire_body(props: Mapping[str, Any]) -> dict[str, Any]:
    """The schema's `cloud.project.ai.DataStoreInput` of the inputs (with the credentials)."""
    credentials = props["credentials"]
    body: dict[str, Any] = {
        "alias": props["alias"],
        "endpoint": props["endpoint"],
        "owner": props.get("owner", "customer"),
        "type": props.get("type", "s3"),
        "credentials": {str(props.get("type", "s3")): {f: str(credentials[f]) for f in CREDENTIAL_FIELDS}},
    }
    if props.get("prefix"):
        body["prefix"] = props["prefix"]
    return body


def alias_outputs(props: Mapping[str, Any], key: str) -> dict[str, Any]:
    """Outputs: the inputs with the credentials as fingerprints, the fingerprint key (secret)."""
    outs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
    outs["credentials"] = fingerprints(key, {f: str(props["credentials"][f]) for f in CREDENTIAL_FIELDS})
    outs["fingerprintKey"] = key
    return outs


def credentials_changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    new = news.get("credentials")
    key = olds.get("fingerprintKey")
    if contains_unknown(new) or not isinstance(new, Mapping) or not key:
        return True
    prints = fingerprints(str(key), {f: str(new.get(f, "")) for f in CREDENTIAL_FIELDS})
    return prints != olds.get("credentials")


def secret_values(props: Mapping[str, Any]) -> list[str]:
    credentials = props.get("credentials")
    if not isinstance(credentials, Mapping):
        return []
    return [str(credentials[f]) for f in ("accessKey", "secretKey") if credentials.get(f)]


def ours(live: Mapping[str, Any], props: Mapping[str, Any]) -> bool:
    """A live alias that this resource registered: its endpoint and type are ours."""
    return str(live.get("endpoint", "")).rstrip("/") == str(props.get("endpoint", "")).rstrip("/") and (
        live.get("type") in (None, props.get("type", "s3")))


class _Overlay:
    """The stack config with this resource's project and region laid over it (`ConfigLike`)."""

    def __init__(self, base: Any, extra: Mapping[str, str]) -> None:
        self.base, self.extra = base, extra

    def get(self, key: str) -> Any:
        if key in self.extra:
            return self.extra[key]
        return self.base.get(key) if self.base is not None else None


class AiDatastoreAliasProvider(ApiProvider):
    """CRUD of one datastore alias through the public door."""

    def configure(self, req: ConfigureRequest) -> None:
        super().configure(req)
        # Kept (never pickled: ApiProvider.__getstate__) to resolve each resource's own project.
        self._config: Any = req.config

    def door(self, props: Mapping[str, Any]) -> Credentials:
        """The public door's credentials for this resource's project and region; AliasError naming
        the keys when only the regional door is configured or a piece is missing."""
        base = getattr(self, "_config", None)
        extra: dict[str, str] = {}
        service = props.get("serviceName")
        if isinstance(service, str) and service and not contains_unknown(service):
            extra[SERVICE_NAME_KEY] = service
        if isinstance(props.get("region"), str) and not (base is not None and base.get(REGION_KEY)):
            extra[REGION_KEY] = str(props["region"]).lower()
        try:
            creds = resolve(_Overlay(base, extra))  # no base: the environment (a plain script)
        except MissingCredentials as error:
            raise AliasError(f"datastore alias {props.get('alias')}: {error}") from None
        if creds.door != "public":
            raise AliasError(f"datastore alias {props.get('alias')}: {PUBLIC_DOOR_NEEDED}")
        return creds

    def project_of(self, props: Mapping[str, Any]) -> Any:
        """The project a resource works in: its `serviceName` input, else the stack config's (the
        one recorded in the outputs, so that naming the same project explicitly changes nothing)."""
        given = props.get("serviceName")
        if given or contains_unknown(given):
            return given
        try:
            return self.door(props).service_name
        except AliasError:
            return None

    def _fail(self, props: Mapping[str, Any], error: Exception, creds: Credentials | None) -> AliasError:
        text = f"datastore alias {props.get('alias')} in {props.get('region')}: {error}"
        return AliasError(redact(text, [*(creds.secrets if creds else []), *secret_values(props)]))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_alias(news)
        # The door, at preview and before any API call (the project may not be known yet: the
        # platform's comes from its user; only the door's kind and keys are checked then).
        known = dict(inputs)
        if contains_unknown(inputs.get("serviceName")):
            known["serviceName"] = PREVIEW_PROJECT
        try:
            self.door(known)
        except AliasError as error:
            failures.append(("alias", redact(str(error), secret_values(inputs))))
        return CheckResult(inputs, [CheckFailure(path, reason) for path, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        news = {**news, "serviceName": self.project_of(news)}
        replaces = [k for k in REPLACE_KEYS
                    if contains_unknown(news.get(k)) or not same(olds.get(k), news.get(k))]  # fmt: skip
        updates = [k for k in UPDATE_KEYS
                   if contains_unknown(news.get(k)) or not same(olds.get(k), news.get(k))]  # fmt: skip
        if credentials_changed(olds, news):
            updates.append("credentials")
        return DiffResult(changes=bool(replaces or updates), replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        creds = None
        alias, region = str(props["alias"]), str(props["region"])
        try:
            creds = self.door(props)
            with self.client(creds, alias) as client:
                self._register(client, props)
        except (ApiError, AliasError) as error:
            raise self._fail(props, error, creds) from None
        assert creds is not None
        outs = alias_outputs({**props, "serviceName": creds.service_name}, new_key())
        return CreateResult(f"{region}/{alias}", outs)

    def _register(self, client: OvhAiClient, props: Mapping[str, Any]) -> None:
        alias, region = str(props["alias"]), str(props["region"])
        last: ApiError | None = None
        for attempt in range(POST_ATTEMPTS):
            try:
                live = client.get_datastore_alias(alias, region)
            except NotFound:
                live = None
            if live is not None and attempt > 0 and ours(live, props):
                log(alias, f"datastore alias {alias} of an unanswered create found in {region}: it is ours")
                return
            if live is not None:
                raise AliasError(
                    f"the alias already exists in {region} (owner {live.get('owner', '?')}, endpoint "
                    f"{live.get('endpoint', '?')}) and was not made by this resource: choose another "
                    "`alias`, or delete that one first; this resource never takes over an alias"
                )
            try:
                client.create_datastore_alias(wire_body(props), region)
                log(alias, f"datastore alias {alias} registered in {region}")
                return
            except (ApiConnectionError, ServerError) as error:
                if isinstance(error, ApiConnectionError) and not error.maybe_applied:
                    raise
                last = error
                log(alias, f"datastore alias create got no clean answer ({error}); looking it up")
        assert last is not None
        raise last

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        region, _, alias = id_.partition("/")
        props = {**props, "alias": props.get("alias") or alias, "region": props.get("region") or region}
        creds = None
        try:
            creds = self.door(props)
            with self.client(creds, alias) as client:
                live = client.get_datastore_alias(alias, region)
        except NotFound:
            return ReadResult("", {})
        except (ApiError, AliasError) as error:
            raise self._fail(props, error, creds) from None
        outs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
        outs.update({k: live[k] for k in UPDATE_KEYS if live.get(k) is not None})
        return ReadResult(id_, outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        creds = None
        alias, region = str(news["alias"]), str(news["region"])
        try:
            creds = self.door(news)
            with self.client(creds, alias) as client:
                client.update_datastore_alias(alias, wire_body(news), region)
        except (ApiError, AliasError) as error:
            raise self._fail(news, error, creds) from None
        log(alias, f"datastore alias {alias} updated in {region}")
        assert creds is not None
        key = str(olds.get("fingerprintKey") or new_key())
        outs = alias_outputs({**news, "serviceName": creds.service_name}, key)
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        region, _, alias = id_.partition("/")
        alias, region = str(props.get("alias") or alias), str(props.get("region") or region)
        creds = None
        try:
            creds = self.door(props)
            with self.client(creds, alias) as client:
                try:
                    live = client.get_datastore_alias(alias, region)
                except NotFound:
                    log(alias, f"datastore alias {alias} already gone from {region}")
                    return
                if not ours(live, props):
                    log(alias, f"datastore alias {alias} in {region} now points at "
                               f"{live.get('endpoint')}, not this resource's endpoint: left in place")
                    return
                client.delete_datastore_alias(alias, region)
        except NotFound:
            return
        except (ApiError, AliasError) as error:
            raise self._fail(props, error, creds) from None
        log(alias, f"datastore alias {alias} deleted from {region}")


class AiDatastoreAlias(pulumi.dynamic.Resource, module="ovhai", name="AiDatastoreAlias"):
    """A customer datastore alias of one region (public door); `credentials` never stored in plain."""

    alias: pulumi.Output[str]
    region: pulumi.Output[str]
    endpoint: pulumi.Output[str]
    owner: pulumi.Output[str]
    type: pulumi.Output[str]
    prefix: pulumi.Output[str]
    serviceName: pulumi.Output[str]
    credentials: pulumi.Output[dict[str, str]]  # field -> fingerprint of the value (secret)
    fingerprintKey: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        alias: pulumi.Input[str],
        region: pulumi.Input[str],
        endpoint: pulumi.Input[str],
        access_key: pulumi.Input[str],
        secret_key: pulumi.Input[str],
        credentials_region: pulumi.Input[str] | None = None,
        owner: pulumi.Input[str] = "customer",
        datastore_type: pulumi.Input[str] = "s3",
        prefix: pulumi.Input[str] | None = None,
        service_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        s3_region = credentials_region if credentials_region is not None else pulumi.Output.from_input(
            region).apply(lambda r: str(r).lower())
        props: dict[str, Any] = {
            "alias": alias,
            "region": region,
            "endpoint": endpoint,
            "owner": owner,
            "type": datastore_type,
            "prefix": prefix,
            "serviceName": service_name,
            # Secret in: the engine encrypts the recorded inputs and keeps the output secret too.
            "credentials": pulumi.Output.secret(
                {"accessKey": access_key, "secretKey": secret_key, "region": s3_region}
            ),
            "fingerprintKey": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["credentials", "fingerprintKey"])
        super().__init__(
            AiDatastoreAliasProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_opts)
        )
