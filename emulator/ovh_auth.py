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

A consumer key's rights are the HTTP methods it is granted on every route (`--ovh-credentials
AK:AS:CK` grants GET, POST, PUT, DELETE; `AK:AS:CK:GET` only reads; `AK:AS:CK:` nothing), the
emulator's coarse form of OVHcloud's `accessRules`.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ALL_METHODS = frozenset({"GET", "POST", "PUT", "DELETE"})
TIME_WINDOW_SECONDS = 180
OAUTH2_TOKEN_SECONDS = 3600
DEFAULT_CREDENTIALS = "emulator-application-key:emulator-application-secret:emulator-consumer-key"
DEFAULT_OAUTH2 = "emulator-client-id:emulator-client-secret"
DEFAULT_SERVICE_NAME = "emulator-project"


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
class ConsumerKey:
    application_key: str
    methods: frozenset[str]


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
        cls, credentials: list[str] | None, oauth2: list[str] | None, service_name: str | None
    ) -> OvhDoorConfig:
        """From the CLI's `--ovh-credentials AK:AS:CK[:METHODS]` and `--ovh-oauth2 ID:SECRET`."""
        config = cls(service_name=service_name or DEFAULT_SERVICE_NAME)
        for text in credentials or [DEFAULT_CREDENTIALS]:
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
            config.consumers[ck] = ConsumerKey(ak, methods)
        for text in oauth2 or [DEFAULT_OAUTH2]:
            client_id, sep, client_secret = text.partition(":")
            if not sep or not client_id or not client_secret:
                raise ValueError(f"--ovh-oauth2 {text!r}: expected CLIENT_ID:CLIENT_SECRET")
            config.service_accounts[client_id] = client_secret
        return config

    # -- signed requests ----------------------------------------------------------------------
    def verify_signed(
        self, headers: Mapping[str, str], method: str, url: str, body: str, now: float | None = None
    ) -> None:
        """Raise OvhRefusal unless the headers sign this request with known, granted credentials."""
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
        if method.upper() not in consumer.methods:
            raise OvhRefusal(403, "Client::Forbidden", "This call has not been granted", "NOT_GRANTED_CALL")

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
