"""AiToken: an AI Deploy application token as a Pulumi dynamic resource, and its provider.

The token's value exists only in the create and renew answers; it is an output marked secret
(`additional_secret_outputs`), so it is encrypted in the state. Changing `rotation` renews the
token in place (new value, version + 1); `name`, `role` or `labelSelector` replace it.

Each resource's tokens are identifiable: the name sent to the API ends with a tag derived from
`tokenKey` (a stable string per resource, by default its project, stack and resource name), the
way an app carries its deployment label. A create whose answer was lost (a dropped connection, a
5xx or a timeout after the server may have acted) looks its token up by that tag and renews it to
learn a value, instead of deleting look-alikes: two resources alike in name, role and selector
have different tags, so neither ever touches the other's token, and a retried `pulumi up` adopts
the token an earlier attempt made rather than minting a second one.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    CreateResult,
    DiffResult,
    ReadResult,
    UpdateResult,
)

from components.ovhai import ApiConnectionError, ApiError, NotFound, OvhAiClient, ServerError
from components.ovhai.models import Token, TokenRole
from components.resources.credentials import Credentials
from components.resources.fingerprint import redact
from components.resources.progress import log
from components.resources.provider_base import ApiProvider
from components.resources.spec_diff import contains_unknown, same
from components.resources.validation import check_token

PROVIDER_KEY = "__provider"
REPLACE_KEYS = ("name", "role", "labelSelector", "serviceName")  # serviceName: another project
# Attempts of a POST (create or renew) whose answers may be lost; each is looked after first.
POST_ATTEMPTS = 4


class TokenError(RuntimeError):
    """An API error while managing a token (never carrying a token value)."""


def token_tag(key: str) -> str:
    """The short, stable tag that a resource's `tokenKey` adds to the token's API name."""
    return "t" + hashlib.sha256(key.encode()).hexdigest()[:10]


def api_name(name: str, key: str) -> str:
    return f"{name}-{token_tag(key)}"


def user_name(wire_name: str, key: str | None) -> str:
    """The API name without this resource's tag (tokens made before tags existed have none)."""
    suffix = f"-{token_tag(key)}" if key else None
    return wire_name[: -len(suffix)] if suffix and wire_name.endswith(suffix) else wire_name


def token_outputs(inputs: Mapping[str, Any], token: Token, value: str | None) -> dict[str, Any]:
    outs = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
    outs["tokenId"] = token.id
    if token.status.version is not None:
        outs["version"] = token.status.version
    if value is not None:
        outs["value"] = value
    return outs


def own_tokens(tokens: list[Token], wire_name: str, role: TokenRole, selector: str | None) -> list[Token]:
    """This resource's tokens: its tagged name, role and scope (oldest first)."""
    mine = [
        t
        for t in tokens
        if t.spec.name == wire_name
        and TokenRole(t.spec.role) == role
        and (t.spec.label_selector or None) == (selector or None)
    ]
    return sorted(mine, key=lambda t: (t.created_at is None, t.created_at, t.id))


def unanswered(error: ApiError) -> bool:
    """A POST the server may have carried out although its answer did not arrive."""
    if isinstance(error, ApiConnectionError):
        return error.maybe_applied
    return isinstance(error, ServerError)


def resource_key(resource_name: str) -> str:
    """The default `tokenKey`: unique per resource within a stack, stable across runs."""
    try:
        return f"{pulumi.get_project()}/{pulumi.get_stack()}/{resource_name}"
    except Exception:  # outside a Pulumi program (a plain script): the name alone
        return resource_name


class AiTokenProvider(ApiProvider):
    """CRUD of one application token (`/v1/token`)."""

    def _fail(self, name: str, error: ApiError, creds: Credentials, value: str | None = None) -> TokenError:
        return TokenError(redact(f"token {name}: {error}", [*creds.secrets, value or ""]))

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs, failures = check_token(news)
        return CheckResult(inputs, [CheckFailure(path, reason) for path, reason in failures])

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [
            k for k in REPLACE_KEYS if contains_unknown(news.get(k)) or not same(olds.get(k), news.get(k))
        ]
        rotate = contains_unknown(news.get("rotation")) or not same(
            olds.get("rotation"), news.get("rotation")
        )
        return DiffResult(changes=bool(replaces) or rotate, replaces=replaces)

    def create(self, props: dict[str, Any]) -> CreateResult:
        creds = self.credentials(props.get("serviceName"))
        name = str(props["name"])
        role = TokenRole(props.get("role", "read"))
        selector = props.get("labelSelector")
        wire_name = api_name(name, str(props.get("tokenKey") or name))
        try:
            with self.client(creds, name) as client:
                token = self._make(client, name, wire_name, role, selector)
        except ApiError as error:
            raise self._fail(name, error, creds) from None
        return CreateResult(token.id, token_outputs(props, token, token.value))

    def _make(
        self, client: OvhAiClient, name: str, wire_name: str, role: TokenRole, selector: str | None
    ) -> Token:
        """Adopt this resource's token (renewed, so that its value is known) or create it; after an
        unanswered POST, look again before sending another."""
        last: ApiError | None = None
        for _ in range(POST_ATTEMPTS):
            mine = own_tokens(client.list_tokens(), wire_name, role, selector)
            try:
                if mine:
                    for extra in mine[1:]:  # two unanswered creates of this resource: keep one
                        client.delete_token(extra.id)
                        log(name, f"token {extra.id} (a duplicate of this resource's) deleted")
                    token = client.renew_token(mine[0].id)
                    log(name, f"token {token.id} of an unanswered create adopted (renewed)")
                    return token
                token = client.create_token(wire_name, role, selector)
                log(name, f"token {token.id} created")
                return token
            except ApiError as error:
                if not unanswered(error) and not isinstance(error, NotFound):
                    raise
                last = error
                log(name, f"token create got no clean answer ({error}); looking it up by its tag")
        assert last is not None
        raise last

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        creds = self.credentials(props.get("serviceName"))
        try:
            with self.client(creds, str(props.get("name", id_))) as client:
                token = client.get_token(id_)
        except NotFound:
            return ReadResult("", {})
        except ApiError as error:
            raise self._fail(str(props.get("name", id_)), error, creds, props.get("value")) from None
        outs = token_outputs(props, token, props.get("value"))
        outs.update(
            name=user_name(token.spec.name, props.get("tokenKey")),
            role=TokenRole(token.spec.role).cli_name,
        )
        if token.spec.label_selector or "labelSelector" in outs:
            outs["labelSelector"] = token.spec.label_selector or None
        return ReadResult(id_, {k: v for k, v in outs.items() if v is not None})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only `rotation` updates in place (the rest replaces): a change renews the value.
        creds = self.credentials(news.get("serviceName"))
        name = str(news.get("name", id_))
        if same(olds.get("rotation"), news.get("rotation")):
            token_id = olds.get("tokenId", id_)
            outs = {**{k: v for k, v in news.items() if k != PROVIDER_KEY}, "tokenId": token_id}
            for key in ("version", "value"):
                if key in olds:
                    outs[key] = olds[key]
            return UpdateResult(outs)
        try:
            with self.client(creds, name) as client:
                token = self._renew(client, name, id_)
        except ApiError as error:
            raise self._fail(name, error, creds, olds.get("value")) from None
        log(name, f"token {token.id} renewed (version {token.status.version})")
        return UpdateResult(token_outputs(news, token, token.value))

    def _renew(self, client: OvhAiClient, name: str, token_id: str) -> Token:
        """Renew; an unanswered renew is renewed again (the value it made is unknown, so unused)."""
        return retry_unanswered(lambda: client.renew_token(token_id), name)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        creds = self.credentials(props.get("serviceName"))
        try:
            with self.client(creds, str(props.get("name", id_))) as client:
                client.delete_token(id_)
        except NotFound:
            return
        except ApiError as error:
            raise self._fail(str(props.get("name", id_)), error, creds, props.get("value")) from None


def retry_unanswered(post: Callable[[], Token], name: str) -> Token:
    last: ApiError | None = None
    for _ in range(POST_ATTEMPTS):
        try:
            return post()
        except ApiError as error:
            if not unanswered(error):
                raise
            last = error
            log(name, f"token renew got no clean answer ({error}); renewing again")
    assert last is not None
    raise last


class AiToken(pulumi.dynamic.Resource, module="ovhai", name="AiToken"):
    """An application token; `value` is a secret output. Change `rotation` to renew it."""

    name: pulumi.Output[str]
    role: pulumi.Output[str]
    labelSelector: pulumi.Output[str]
    rotation: pulumi.Output[str]
    tokenKey: pulumi.Output[str]  # the stable string whose tag marks this resource's token names
    tokenId: pulumi.Output[str]
    version: pulumi.Output[int]
    value: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        name: pulumi.Input[str] | None = None,
        role: pulumi.Input[str] = "read",
        label_selector: pulumi.Input[str] | None = None,
        rotation: pulumi.Input[str] | None = None,
        token_key: pulumi.Input[str] | None = None,
        service_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": name if name is not None else resource_name,
            "role": role,
            "labelSelector": label_selector,
            "rotation": rotation,
            "tokenKey": token_key if token_key is not None else resource_key(resource_name),
            "tokenId": None,
            "version": None,
            "value": None,
        }
        if service_name is not None:  # the public door's project when the stack names none
            props["serviceName"] = service_name
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["value"])
        super().__init__(
            AiTokenProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_opts)
        )
