"""Before anything is declared: does the stack's consumer key carry the rights the product needs?

One signed `GET <endpoint>/auth/currentCredential` (OVHcloud answers it whatever the key's rules;
its `rules` are what OVHcloud's maintainers point at to debug NOT_GRANTED_CALL, ovh/python-ovh
issue #141), compared with `rights.needed_rules` by `rights.missing_rules`. Only for signed
credentials: an OAuth2 service account's rights are IAM policies, not access rules. The caller
runs it after every config rule passed (a bad config never reaches the API), and a check that
cannot run (the API unreachable, an unreadable answer) is a warning, never a refusal: the
deployment's own calls then say what is wrong.
"""

from __future__ import annotations

from dataclasses import dataclass

import httpx

from . import rights
from .client import USER_AGENT
from .ovh_auth import OvhAuthError, OvhSignatureAuth

TIMEOUT_SECONDS = 10.0
CANNOT = "could not check the consumer key's rights (the deployment's own calls will tell)"


@dataclass(frozen=True)
class RightsCheck:
    """`problem`: the key lacks needed rules (a message naming them and the fix); `warning`: the
    check could not run; both empty: the key is fit."""

    problem: str = ""
    warning: str = ""


def check_consumer_key(
    base_url: str,
    application_key: str,
    application_secret: str,
    consumer_key: str,
    service_name: str,
    *,
    transport: httpx.BaseTransport | None = None,
) -> RightsCheck:
    url = base_url.rstrip("/") + "/auth/currentCredential"
    auth = OvhSignatureAuth(application_key, application_secret, consumer_key, base_url)
    secrets = [application_secret, consumer_key]
    try:
        headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        with httpx.Client(auth=auth, timeout=TIMEOUT_SECONDS, transport=transport, headers=headers) as http:
            response = http.get(url)
    except (httpx.HTTPError, OvhAuthError) as error:
        return RightsCheck(warning=_redact(f"{CANNOT} ({url}): {error}", secrets))
    if not response.is_success:
        text = _redact(response.text.strip()[:200], secrets)
        return RightsCheck(warning=f"{CANNOT}: GET {url}: HTTP {response.status_code} {text}")
    try:
        body = response.json()
        granted = [r for r in body.get("rules") or [] if isinstance(r, dict)]
    except (ValueError, AttributeError):
        return RightsCheck(warning=f"{CANNOT}: GET {url}: not a credential")
    missing = rights.missing_rules(granted, service_name)
    return RightsCheck(problem=rights.missing_advice(missing, service_name) if missing else "")


def _redact(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if secret:
            text = text.replace(secret, "***")
    return text
