"""Rules of tokens and user volumes over the store, free of HTTP (see `backend` for apps).

A token's value exists only in the answer of create and renew: the store keeps its SHA-256.
"""

from __future__ import annotations

import secrets
import time
from typing import Any

from .auth import ROLES, Principal, format_selector, parse_selector
from .errors import ApiError, invalid, not_found
from .lifecycle import iso
from .store import Record, Store, hash_token, new_record
from .validation import flat_or_spec, string

DEFAULT_REGION = "GRA"


def token_spec(body: Any, principal: Principal) -> dict[str, Any]:
    """A validated token spec (`{name, role, labelSelector?, region}`) from a create body."""
    raw, prefix = flat_or_spec(body)
    name = string(raw.get("name"), f"{prefix}name", required=True)
    role = raw.get("role")
    if role not in ROLES:
        raise invalid(f"{prefix}role", f"must be one of {', '.join(ROLES)}, got {role!r}")
    selector_text = raw.get("labelSelector")
    if selector_text is not None and not isinstance(selector_text, str):
        raise invalid(f"{prefix}labelSelector", "must be a string like k=v[,k2=v2]")
    selector = parse_selector(selector_text, f"{prefix}labelSelector")
    # A scoped token cannot mint a token that sees more than itself.
    if any(selector.get(k) != v for k, v in principal.selector.items()):
        raise ApiError(403, "a label-scoped token can only create tokens within its own label selector")
    region = raw.get("region")
    if region is not None and not isinstance(region, str):
        raise invalid(f"{prefix}region", "must be a string")
    spec: dict[str, Any] = {"name": name, "role": role, "region": region or DEFAULT_REGION}
    if selector:
        spec["labelSelector"] = format_selector(selector)
    return spec


def find_token(store: Store, token_id: str) -> Record:
    token = store.tokens.get(token_id)
    if token is None:
        raise not_found("token", token_id)
    return token


def create_token(store: Store, spec: dict[str, Any]) -> tuple[Record, str]:
    """A new token and its value (shown once)."""
    value = secrets.token_urlsafe(32)
    token = new_record(spec=spec, status={"version": 1}, valueHash=hash_token(value))
    store.tokens[token["id"]] = token
    return token, value


def renew_token(store: Store, token_id: str) -> tuple[Record, str]:
    """A new value for the token; the old one stops working and the version goes up."""
    token = find_token(store, token_id)
    value = secrets.token_urlsafe(32)
    token["valueHash"] = hash_token(value)
    token["status"]["version"] += 1
    token["updatedAt"] = iso(time.time())
    return token, value


def delete_token(store: Store, token_id: str) -> None:
    find_token(store, token_id)
    del store.tokens[token_id]


# ------------------------------------------------------------------------------------- volumes


def create_volume(store: Store, fields: dict[str, Any]) -> Record:
    """A user volume from validated `CreateVolume` fields; it is ready at once."""
    volume = new_record(**fields)
    store.volumes[volume["id"]] = volume
    return volume


def find_volume(store: Store, volume_id: str) -> Record:
    volume = store.volumes.get(volume_id)
    if volume is None:
        raise not_found("volume", volume_id)
    return volume


def delete_volume(store: Store, volume_id: str) -> None:
    find_volume(store, volume_id)
    del store.volumes[volume_id]
