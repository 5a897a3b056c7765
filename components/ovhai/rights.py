"""The OVHcloud consumer-key rights this product needs on the public API door: one list, one place.

A consumer key (`ovh:consumerKey`) carries `accessRules`, `{method, path}` pairs where `path` is
relative to the API root (no `/1.0`) and `*` matches any run of characters, `/` included
(python-ovh `ConsumerKeyRequest.add_rule`: "any API route pattern like `/sms/*`"). `/x/*` does not
grant `/x` itself (python-ovh's `add_recursive_rules` adds both for that reason). A call that no
rule grants is refused with 403 `NOT_GRANTED_CALL` "This call has not been granted".

Every call the providers make on this door lies under `/cloud/project/{serviceName}/ai/`: apps
(GET, POST, PUT for start/stop/image/scaling/labels, DELETE), tokens (GET, POST, DELETE), the
datastore aliases and datasync, flavors and quotas. `/auth/time` needs no credential and
`/auth/currentCredential` answers whatever the rules. So the needed rules are the four methods on
`/cloud/project/{serviceName}/ai/*`. Pure: no HTTP, no Pulumi.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote

METHODS = ("GET", "POST", "PUT", "DELETE")
AI_PATTERN = "/cloud/project/{serviceName}/ai/*"
NOT_GRANTED_CALL = "NOT_GRANTED_CALL"
README_SECTION = 'README "Consumer key rights"'

# Representative calls of each method (below /cloud/project/{sn}/ai/): a rule set grants a needed
# rule only when it grants all of them, so that `GET /cloud/project/*/ai/app` alone is not enough.
_CALLS: dict[str, tuple[str, ...]] = {
    "GET": ("app", "app/ID", "app/ID/log", "token", "token/ID", "capabilities/quota",
            "capabilities/region/GRA/flavor", "data/region/GRA/alias"),
    "POST": ("app", "token", "token/ID/renew", "app/ID/datasync", "data/region/GRA/alias"),
    "PUT": ("app/ID", "app/ID/start", "app/ID/stop", "app/ID/image", "app/ID/scalingstrategy",
            "app/ID/label"),
    "DELETE": ("app/ID", "token/ID", "data/region/GRA/alias/ALIAS"),
}  # fmt: skip
_PROJECT = re.compile(r"^/cloud/project/(?P<sn>[^/]+)/")


def needed_rules(service_name: str | None = None) -> list[dict[str, str]]:
    """The access rules the product needs, for one project (or any: `*`)."""
    path = AI_PATTERN.replace("{serviceName}", service_name or "*")
    return [{"method": method, "path": path} for method in METHODS]


def grants(rule: Mapping[str, str], method: str, path: str) -> bool:
    """Whether one access rule grants `method path` (`*`: any characters, `/` included)."""
    if str(rule.get("method", "")).upper() != method.upper():
        return False
    return _pattern(str(rule.get("path", ""))).fullmatch(path) is not None


@functools.lru_cache(maxsize=1024)
def _pattern(rule_path: str) -> re.Pattern[str]:
    return re.compile(".*".join(re.escape(part) for part in rule_path.split("*")), re.DOTALL)


def missing_rules(granted: Iterable[Mapping[str, str]], service_name: str) -> list[dict[str, str]]:
    """The needed rules (for `service_name`) that the `granted` rules do not fully cover."""
    rules = list(granted)
    missing = []
    for needed in needed_rules(service_name):
        method = needed["method"]
        calls = [f"/cloud/project/{service_name}/ai/{rest}" for rest in _CALLS[method]]
        if not all(any(grants(rule, method, call) for rule in rules) for call in calls):
            missing.append(needed)
    return missing


def service_name_of(path: str) -> str | None:
    found = _PROJECT.match(path)
    return found["sn"] if found else None


def format_rules(rules: Iterable[Mapping[str, str]]) -> str:
    return ", ".join(f"{rule['method']} {rule['path']}" for rule in rules)


def create_token_url(service_name: str | None = None, host: str = "https://eu.api.ovh.com") -> str:
    """OVHcloud's key-creation page with the needed rights filled in (`/createToken/?GET=/me`, as
    OVHcloud's "First steps with the OVHcloud APIs" guide links it)."""
    query = "&".join(f"{r['method']}={quote(r['path'], safe='/*')}" for r in needed_rules(service_name))
    return f"{host}/createToken/?{query}"


def refusal_advice(method: str, path: str) -> str:
    """What a NOT_GRANTED_CALL refusal of `method path` means and how to fix it."""
    service_name = service_name_of(path)
    return (
        f"the consumer key (ovh:consumerKey) is not granted {method.upper()} {path}; this product needs "
        f"the access rules {format_rules(needed_rules(service_name))}. Create a consumer key with them "
        f"({README_SECTION}: python-ovh's add_rules, or OVHcloud's createToken page), then "
        "`pulumi config set --secret ovh:consumerKey <key>`"
    )


def missing_advice(missing: Iterable[Mapping[str, str]], service_name: str) -> str:
    """What a consumer key lacking `missing` (found through /auth/currentCredential) should get."""
    return (
        f"ovh:consumerKey: the consumer key lacks the access rules {format_rules(missing)} "
        f"(GET /auth/currentCredential lists its rules); this product needs "
        f"{format_rules(needed_rules(service_name))}. Create a consumer key with them "
        f"({README_SECTION}: python-ovh's add_rules, or {create_token_url(service_name)}), then "
        "`pulumi config set --secret ovh:consumerKey <key>`"
    )
