"""Fingerprints of secret values, so a diff can tell a changed secret without storing it.

Choice: HMAC-SHA256 of `name NUL value`, keyed by a random 256-bit key minted once per resource
at create time and kept in the resource's outputs as `fingerprintKey`, which is marked secret
(`additional_secret_outputs`), so it is encrypted in the state like any other secret.
- A plain hash (even salted with a public salt) of a short secret could be brute-forced by anyone
  who can read the state's plain parts; without the key, the fingerprint reveals nothing.
- The key is not derived from any secret (not the API token: rotating the token must not make
  every env secret look changed and restart a GPU app) and is stable for the resource's life.
- Only the first 16 bytes (32 hex digits) are kept: plenty to detect a change.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping

PREFIX = "hmac-sha256:"
REDACTED = "[secret]"


def new_key() -> str:
    return secrets.token_hex(32)


def fingerprint(key: str, name: str, value: str) -> str:
    digest = hmac.new(bytes.fromhex(key), f"{name}\0{value}".encode(), hashlib.sha256).hexdigest()
    return PREFIX + digest[:32]


def fingerprints(key: str, values: Mapping[str, str]) -> dict[str, str]:
    return {name: fingerprint(key, name, value) for name, value in sorted(values.items())}


def redact(text: str, secret_values: Iterable[str]) -> str:
    """Replace every occurrence of a secret value (longest first) so it never reaches a log or error."""
    for value in sorted({v for v in secret_values if v}, key=len, reverse=True):
        if len(value) >= 4:  # shorter strings would shred ordinary text and protect nothing
            text = text.replace(value, REDACTED)
    return text
