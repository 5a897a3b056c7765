"""AiToken: an AI Deploy application token as a Pulumi dynamic resource, and its provider.

The token's value exists only in the create and renew answers; it is an output marked secret
(`additional_secret_outputs`), so it is encrypted in the state. Changing `rotation` renews the
token in place (new value, version + 1); `name`, `role` or `labelSelector` replace it.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
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

from components.ovhai import ApiConnectionError, ApiError, NotFound
from components.ovhai.models import Token, TokenRole
from components.resources.credentials import Credentials
from components.resources.fingerprint import redact
from components.resources.progress import log
from components.resources.provider_base import ApiProvider
from components.resources.spec_diff import contains_unknown, same
from components.resources.validation import check_token

PROVIDER_KEY = "__provider"
REPLACE_KEYS = ("name", "role", "labelSelector")
# How far the API's clock may be behind ours when we look for a token made by a lost create.
CLOCK_SKEW = timedelta(minutes=2)


class TokenError(RuntimeError):
    """An API error while managing a token (never carrying a token value)."""


def token_outputs(inputs: Mapping[str, Any], token: Token, value: str | None) -> dict[str, Any]:
    outs = {k: v for k, v in inputs.items() if k != PROVIDER_KEY}
    outs["tokenId"] = token.id
    if token.status.version is not None:
        outs["version"] = token.status.version
    if value is not None:
        outs["value"] = value
    return outs


def lost_tokens(
    tokens: list[Token], name: str, role: TokenRole, selector: str | None, since: datetime
) -> list[Token]:
    """Tokens a create that lost its answer may have made: same name, role and scope, made since."""
    earliest = since - CLOCK_SKEW
    return [
        t
        for t in tokens
        if t.spec.name == name
        and TokenRole(t.spec.role) == role
        and (t.spec.label_selector or None) == (selector or None)
        and t.created_at is not None
        and t.created_at >= earliest
    ]


class AiTokenProvider(ApiProvider):
    """CRUD of one application token (`/v1/token`)."""

    def _fail(self, name: str, error: ApiError, creds: Credentials, value: str | None = None) -> TokenError:
        return TokenError(redact(f"token {name}: {error}", [creds.token, value or ""]))

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
        creds = self.credentials()
        name = str(props["name"])
        role = TokenRole(props.get("role", "read"))
        selector = props.get("labelSelector")
        started = datetime.now(UTC)
        try:
            with self.client(creds, name) as client:
                try:
                    token = client.create_token(name, role, selector)
                except ApiConnectionError as error:
                    if not error.maybe_applied:
                        raise
                    # The server may have made the token, but its value was only in the lost answer:
                    # delete what that attempt made (same name, role and scope, made since we
                    # started) so no unknown live token is left behind, then create it again.
                    log(name, "token create: the answer was lost; removing what it made, then retrying")
                    for lost in lost_tokens(client.list_tokens(), name, role, selector, started):
                        client.delete_token(lost.id)
                        log(name, f"token {lost.id} (made by the lost create) deleted")
                    token = client.create_token(name, role, selector)
        except ApiError as error:
            raise self._fail(name, error, creds) from None
        log(name, f"token {token.id} created")
        return CreateResult(token.id, token_outputs(props, token, token.value))

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        creds = self.credentials()
        try:
            with self.client(creds, str(props.get("name", id_))) as client:
                token = client.get_token(id_)
        except NotFound:
            return ReadResult("", {})
        except ApiError as error:
            raise self._fail(str(props.get("name", id_)), error, creds, props.get("value")) from None
        outs = token_outputs(props, token, props.get("value"))
        outs.update(
            name=token.spec.name,
            role=TokenRole(token.spec.role).cli_name,
        )
        if token.spec.label_selector or "labelSelector" in outs:
            outs["labelSelector"] = token.spec.label_selector or None
        return ReadResult(id_, {k: v for k, v in outs.items() if v is not None})

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        # Only `rotation` updates in place (the rest replaces): a change renews the value.
        creds = self.credentials()
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
                token = client.renew_token(id_)
        except ApiError as error:
            raise self._fail(name, error, creds, olds.get("value")) from None
        log(name, f"token {token.id} renewed (version {token.status.version})")
        return UpdateResult(token_outputs(news, token, token.value))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        creds = self.credentials()
        try:
            with self.client(creds, str(props.get("name", id_))) as client:
                client.delete_token(id_)
        except NotFound:
            return
        except ApiError as error:
            raise self._fail(str(props.get("name", id_)), error, creds, props.get("value")) from None


class AiToken(pulumi.dynamic.Resource, module="ovhai", name="AiToken"):
    """An application token; `value` is a secret output. Change `rotation` to renew it."""

    name: pulumi.Output[str]
    role: pulumi.Output[str]
    labelSelector: pulumi.Output[str]
    rotation: pulumi.Output[str]
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
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "name": name if name is not None else resource_name,
            "role": role,
            "labelSelector": label_selector,
            "rotation": rotation,
            "tokenId": None,
            "version": None,
            "value": None,
        }
        secret_opts = pulumi.ResourceOptions(additional_secret_outputs=["value"])
        super().__init__(
            AiTokenProvider(), resource_name, props, pulumi.ResourceOptions.merge(opts, secret_opts)
        )
