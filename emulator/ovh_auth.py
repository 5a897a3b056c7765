"""The public API door's credentials and their checks: signed requests and OAuth2 client credentials.

Verification follows what OVHcloud's clients sign (python-ovh `ovh/client.py`, `raw_call`):
`X-Ovh-Signature = "$1$" + sha1_hex(AS + "+" + CK + "+" + METHOD + "+" + full URL + "+" + body +
"+" + X-Ovh-Timestamp)`, the timestamp being the server's time (`GET /1.0/auth/time`).

Refusals, with the bodies OVHcloud answers (`class` and `message` as go-ovh's `APIError` reads
them; `errorCode` and `httpCode` as python-ovh maps its exceptions from, see its `Client.call`):
- no or unknown `X-Ovh-Application`: 403 `Client::Forbidden` "This application key is invalid"
  (`INVALID_KEY`);
- unknown consumer key: 403 `Client::Forbidden` "This credential does not exist" (`NOT_CREDENTIAL`);
- a wrong signature: 400 `Client::BadRequest` "Invalid signature" (`INVALID_SIGNATURE`, the body
  quoted in ovh/php-ovh issues #62, #80, #97);
- a timestamp more than `TIME_WINDOW_SECONDS` from the server's time: 400 `Client::BadRequest`
  "Query out of time" (`QUERY_TIME_OUT`; OVHcloud does not publish the window: our choice);
- a consumer key whose rules do not grant the method: 403 `Client::Forbidden` "This call has not
  been granted" (`NOT_GRANTED_CALL`);
- a bad or expired OAuth2 bearer: 401 `Client::Unauthorized` (no public sample: our wording).

A consumer key's rights are OVHcloud's `accessRules`: a list of `{method, path}` where `path` is
relative to the API root (`/cloud/project/*/ai/*`, no `/1.0`) and each `*` matches any run of
characters, `/` included (python-ovh `ConsumerKeyRequest.add_rule`: "any API route pattern like
`/sms/*`"; OVHcloud's createToken page: `*` alone allows every API for a method). `/sms/*` does not
match `/sms` itself: python-ovh's `add_recursive_rules` adds both `path` and `path/*` for that
reason ("the root call *AND* sub-calls ... commonly forgotten"). The query string is not matched.
A call no rule grants: 403 NOT_GRANTED_CALL. `GET /auth/currentCredential` answers whatever the
rules (ovh/node-ovh issue #20 shows it answering a key ruled on `/domain/zone/*` only; OVHcloud's
maintainers point users at its `rules` to debug NOT_GRANTED_CALL, ovh/python-ovh issue #141) with
the schema's `api.Credential`: `{credentialId, applicationId, creation, expiration, lastUse,
ovhSupport, rules, status, allowedIPs}`.

Flags: `--ovh-credentials AK:AS:CK` grants `GET|POST|PUT|DELETE /*`; `AK:AS:CK:GET,POST` grants
those methods on `/*`; `AK:AS:CK:` nothing; `--ovh-access-rules CK=METHOD:PATH[,METHOD:PATH...]`
(repeatable) replaces the rules of a consumer key given by `--ovh-credentials`.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
TIME_WINDOW_SECONDS = 180
OAUTH2_TOKEN_SECONDS = 3600
DEFAULT_CREDENTIALS = "emulator-application-key:emulator-application-secret:emulator-consumer-key"
DEFAULT_OAUTH2 = "emulator-client-id:emulator-client-secret"
DEFAULT_SERVICE_NAME = "emulator-project"
API_ROOT = "/1.0"  # rule paths are relative to it
CURRENT_CREDENTIAL = "/auth/currentCredential"


class OvhRefusal(Exception):
    """An authentication refusal: HTTP status, OVHcloud error class, message and error code."""

    def __init__(self, status: int, klass: str, message: str, code: str) -> None:
        super().__init__(message)
        self.status, self.klass, self.message, self.code = status, klass, message, code

    def body(self) -> dict[str, str]:
        phrase = {400: "400 Bad Request", 401: "401 Unauthorized", 403: "403 Forbidden"}
        return {"class": self.klass, "message": self.message, "errorCode": self.code,
                "httpCode": phrase.get(self.status, str(self.status))}  # fmt: skip


@dataclass(frozen=True)
class AccessRule:
    """One of a consumer key's `accessRules`: a method and a path pattern (`*`: any characters)."""

    method: str
    path: str

    def grants(self, method: str, path: str) -> bool:
        return method.upper() == self.method and _pattern(self.path).fullmatch(path) is not None

    def to_wire(self) -> dict[str, str]:
        return {"method": self.method, "path": self.path}


@functools.lru_cache(maxsize=1024)
def _pattern(path: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in path.split("*")), re.DOTALL)


def parse_rule(text: str, flag: str) -> AccessRule:
    """`METHOD:PATH` (e.g. `GET:/cloud/project/*/ai/*`) as an AccessRule; ValueError naming `flag`."""
    method, sep, path = text.strip().partition(":")
    method = method.strip().upper()
    if not sep or method not in ALL_METHODS or not path.startswith("/"):
        raise ValueError(
            f"{flag} rule {text!r}: expected METHOD:PATH, METHOD among GET,POST,PUT,DELETE and PATH "
            "starting with / (e.g. GET:/cloud/project/*/ai/*)"
        )
    return AccessRule(method, path.strip())


def everywhere(methods: frozenset[str]) -> tuple[AccessRule, ...]:
    return tuple(AccessRule(m, "/*") for m in sorted(methods))


@dataclass(frozen=True)
class ConsumerKey:
    application_key: str
    rules: tuple[AccessRule, ...]
    credential_id: int = 0
    created: float = field(default_factory=time.time)

    def grants(self, method: str, path: str) -> bool:
        return any(rule.grants(method, path) for rule in self.rules)

    def describe(self, application_id: int) -> dict[str, Any]:
        """`GET /auth/currentCredential`'s answer (api.Credential)."""
        created = time.strftime("%Y-%m-%dT%H:%M:%S+00:00", time.gmtime(self.created))
        return {"credentialId": self.credential_id, "applicationId": application_id,
                "creation": created, "expiration": None, "lastUse": None, "ovhSupport": False,
                "rules": [rule.to_wire() for rule in self.rules], "status": "validated",
                "allowedIPs": None}  # fmt: skip


def api_path(url: str) -> str:
    """The path a rule is matched against: the URL's path below `/1.0`, without the query."""
    path = urlsplit(url).path
    return path[len(API_ROOT):] if path.startswith(API_ROOT + "/") else path


@dataclass
class OvhDoorConfig:
    """What the public door accepts: application keys, consumer keys, service accounts, project."""

    applications: dict[str, str] = field(default_factory=dict)  # AK -> AS
    consumers: dict[str, ConsumerKey] = field(default_factory=dict)  # CK -> its AK and rights
    service_accounts: dict[str, str] = field(default_factory=dict)  # client id -> secret
    service_name: str = DEFAULT_SERVICE_NAME
    bearers: dict[str, tuple[str, float]] = field(default_factory=dict)  # access token -> (id, expiry)
    aliases: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)  # region -> alias -> it

    @classmethod
    def parse(
        cls,
        credentials: list[str] | None,
        oauth2: list[str] | None,
        service_name: str | None,
        access_rules: list[str] | None = None,
    ) -> OvhDoorConfig:
        """From the CLI's `--ovh-credentials AK:AS:CK[:METHODS]`, `--ovh-oauth2 ID:SECRET` and
        `--ovh-access-rules CK=METHOD:PATH[,METHOD:PATH...]`."""
        config = cls(service_name=service_name or DEFAULT_SERVICE_NAME)
        for number, text in enumerate(credentials or [DEFAULT_CREDENTIALS], start=1):
            parts = text.split(":")
            if len(parts) not in (3, 4) or not all(parts[:3]):
                raise ValueError(f"--ovh-credentials {text!r}: expected AK:AS:CK or AK:AS:CK:METHODS")
            ak, secret, ck = parts[:3]
            methods = ALL_METHODS if len(parts) == 3 else frozenset(
                m.strip().upper() for m in parts[3].split(",") if m.strip()
            )
            if methods - ALL_METHODS:
                raise ValueError(f"--ovh-credentials {text!r}: methods are among GET,POST,PUT,DELETE")
            config.applications[ak] = secret
            config.consumers[ck] = ConsumerKey(ak, everywhere(methods), credential_id=number)
        for text in access_rules or []:
            ck, sep, listed = text.partition("=")
            if not sep or not ck.strip():
                raise ValueError(f"--ovh-access-rules {text!r}: expected CK=METHOD:PATH[,METHOD:PATH...]")
            known = config.consumers.get(ck.strip())
            if known is None:
                raise ValueError(f"--ovh-access-rules {text!r}: consumer key {ck.strip()!r} "
                                 "is not given by --ovh-credentials")  # fmt: skip
            rules = tuple(parse_rule(r, "--ovh-access-rules") for r in listed.split(",") if r.strip())
            config.consumers[ck.strip()] = ConsumerKey(
                known.application_key, rules, known.credential_id, known.created
            )
        for text in oauth2 or [DEFAULT_OAUTH2]:
            client_id, sep, client_secret = text.partition(":")
            if not sep or not client_id or not client_secret:
                raise ValueError(f"--ovh-oauth2 {text!r}: expected CLIENT_ID:CLIENT_SECRET")
            config.service_accounts[client_id] = client_secret
        return config

    def application_id(self, application_key: str) -> int:
        return 1 + list(self.applications).index(application_key)

    # -- signed requests ----------------------------------------------------------------------
    def verify_signed(
        self, headers: Mapping[str, str], method: str, url: str, body: str, now: float | None = None
    ) -> ConsumerKey:
        """The consumer key that signs this request, when it is known and granted the call;
        OvhRefusal otherwise."""
        ak = headers.get("x-ovh-application", "")
        if ak not in self.applications:
            raise OvhRefusal(403, "Client::Forbidden", "This application key is invalid", "INVALID_KEY")
        ck = headers.get("x-ovh-consumer", "")
        consumer = self.consumers.get(ck)
        if consumer is None or consumer.application_key != ak:
            raise OvhRefusal(403, "Client::Forbidden", "This credential does not exist", "NOT_CREDENTIAL")
        stamp = headers.get("x-ovh-timestamp", "")
        current = int(time.time() if now is None else now)
        if not stamp.isdigit() or abs(int(stamp) - current) > TIME_WINDOW_SECONDS:
            raise OvhRefusal(400, "Client::BadRequest", "Query out of time", "QUERY_TIME_OUT")
        text = "+".join([self.applications[ak], ck, method.upper(), url, body, stamp])
        expected = "$1$" + hashlib.sha1(text.encode()).hexdigest()
        if not hmac.compare_digest(expected, headers.get("x-ovh-signature", "")):
            raise OvhRefusal(400, "Client::BadRequest", "Invalid signature", "INVALID_SIGNATURE")
        path = api_path(url)
        if path != CURRENT_CREDENTIAL and not consumer.grants(method, path):
            raise OvhRefusal(403, "Client::Forbidden", "This call has not been granted", "NOT_GRANTED_CALL")
        return consumer

    def current_credential(
        self, headers: Mapping[str, str], method: str, url: str, body: str
    ) -> dict[str, Any]:
        """`GET /auth/currentCredential` of a signed request (an OAuth2 bearer has no consumer key:
        400, our wording)."""
        scheme, _, value = headers.get("authorization", "").partition(" ")
        if scheme.lower() == "bearer" and value.strip():
            self.verify_bearer(value.strip())
            message = "An OAuth2 access token is not a consumer key credential"
            raise OvhRefusal(400, "Client::BadRequest", message, "INVALID_CREDENTIAL")
        consumer = self.verify_signed(headers, method, url, body)
        return consumer.describe(self.application_id(consumer.application_key))

    # -- OAuth2 ---------------------------------------------------------------------------------
    def issue_token(
        self, authorization: str | None, form: Mapping[str, str], now: float | None = None
    ) -> str:
        """An access token for a client-credentials grant (id/secret by HTTP Basic or in the form);
        raises ValueError with the RFC 6749 error code."""
        if form.get("grant_type") != "client_credentials":
            raise ValueError("unsupported_grant_type")
        client_id, client_secret = form.get("client_id", ""), form.get("client_secret", "")
        scheme, _, value = (authorization or "").partition(" ")
        if scheme.lower() == "basic":
            try:
                client_id, _, client_secret = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                raise ValueError("invalid_client") from None
        known = self.service_accounts.get(client_id)
        if known is None or not hmac.compare_digest(known, client_secret):
            raise ValueError("invalid_client")
        token = "emu-oauth2-" + secrets.token_urlsafe(24)
        self.bearers[token] = (client_id, (time.time() if now is None else now) + OAUTH2_TOKEN_SECONDS)
        return token

    def verify_bearer(self, token: str, now: float | None = None) -> None:
        found = self.bearers.get(token)
        if found is None or found[1] < (time.time() if now is None else now):
            raise OvhRefusal(401, "Client::Unauthorized", "Invalid or expired OAuth2 access token",
                             "INVALID_CREDENTIAL")  # fmt: skip
