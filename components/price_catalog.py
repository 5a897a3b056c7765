"""Fetch OVHcloud's public cloud catalog (no credentials) and cache it on disk with its date.

`load_prices(sub, url=...)` returns a `pricing.PriceList` and never raises for the network: a
fresh cached copy (younger than `max_age`) is used without a request; else the catalog is fetched
and cached; when it cannot be fetched, a cached copy of any age is used (the list says so), and
without one the built-in estimates are (the list's `reason` says why). An unknown subsidiary is
`pricing.UnknownSubsidiary`, raised before any request.

Cache: `$VLLM_AI_DEPLOY_CACHE_DIR` or `$XDG_CACHE_HOME/vllm-ai-deploy` or
`~/.cache/vllm-ai-deploy`, one `catalog-<SUB>.json` per subsidiary: `{url, fetchedAt, catalog}`,
the catalog trimmed to its locale, its id and the `ai-app.*` plans (the full cloud catalog is
megabytes of instance flavors).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from components import pricing

__all__ = [
    "DEFAULT_MAX_AGE", "DEFAULT_TIMEOUT", "PRICE_CATALOG_ENV", "cache_dir", "cache_file", "load_prices",
    "prices_for_config",
]

DEFAULT_MAX_AGE = timedelta(hours=24)
DEFAULT_TIMEOUT = 5.0  # seconds, connect and read: preview must not hang on an unreachable API


def cache_dir() -> Path:
    explicit = os.environ.get("VLLM_AI_DEPLOY_CACHE_DIR")
    if explicit:
        return Path(explicit)
    xdg = os.environ.get("XDG_CACHE_HOME")
    return (Path(xdg) if xdg else Path.home() / ".cache") / "vllm-ai-deploy"


def cache_file(sub: str, directory: Path | None = None) -> Path:
    return (directory or cache_dir()) / f"catalog-{pricing.subsidiary(sub).code}.json"


def _trim(catalog: dict[str, Any]) -> dict[str, Any]:
    keep: dict[str, Any] = {"catalogId": catalog.get("catalogId"), "locale": catalog.get("locale")}
    for key in ("plans", "addons"):
        items = catalog.get(key)
        if isinstance(items, list):
            keep[key] = [
                i for i in items if isinstance(i, dict) and str(i.get("planCode", "")).startswith("ai-app.")
            ]
    return keep


def _read_cache(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
        datetime.fromisoformat(data["fetchedAt"])
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return data if isinstance(data, dict) and isinstance(data.get("catalog"), dict) else None


def _write_cache(path: Path, url: str, fetched_at: datetime, catalog: dict[str, Any]) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        entry = {"url": url, "fetchedAt": fetched_at.isoformat(), "catalog": _trim(catalog)}
        tmp.write_text(json.dumps(entry))
        tmp.replace(path)
    except OSError:
        pass  # a read-only home: the prices are still right, only not cached


def _api_message(response: httpx.Response) -> str:
    """`HTTP 400 Client::BadRequest: invalid ovhSubsidiary` from OVHcloud's error body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    if isinstance(body, dict) and body.get("message"):
        klass = f"{body['class']}: " if body.get("class") else ""
        return f"HTTP {response.status_code} {klass}{body['message']}"
    return f"HTTP {response.status_code}"


def _fetch(url: str, timeout: float, transport: httpx.BaseTransport | None) -> dict[str, Any]:
    """The catalog body; raises `ValueError` with a short reason (status and API message)."""
    try:
        with httpx.Client(timeout=timeout, transport=transport, follow_redirects=True) as client:
            response = client.get(url, headers={"Accept": "application/json"})
    except httpx.HTTPError as exc:
        raise ValueError(f"{type(exc).__name__}: {exc}".rstrip(": ")) from None
    if response.status_code != 200:
        raise ValueError(_api_message(response))
    try:
        body = response.json()
    except ValueError:
        raise ValueError("the answer is not JSON") from None
    if not isinstance(body, dict):
        raise ValueError("the answer is not a catalog")
    return body


def load_prices(
    sub: str,
    *,
    url: str | None = None,
    directory: Path | None = None,
    max_age: timedelta = DEFAULT_MAX_AGE,
    timeout: float = DEFAULT_TIMEOUT,
    now: datetime | None = None,
    transport: httpx.BaseTransport | None = None,
) -> pricing.PriceList:
    """The GPU prices of subsidiary `sub` from the catalog at `url` (default: the API serving it)."""
    code = pricing.subsidiary(sub).code
    target = url or pricing.catalog_url(code)
    when = now or datetime.now(UTC)
    path = cache_file(code, directory)
    cached = _read_cache(path)
    if cached is not None and cached.get("url") == target:
        fetched_at = datetime.fromisoformat(cached["fetchedAt"])
        if timedelta(0) <= when - fetched_at <= max_age:
            return _parse(cached["catalog"], code, fetched_at, target, None)
    try:
        body = _fetch(target, timeout, transport)
        result = _parse(body, code, when, target, None)
    except ValueError as exc:  # includes pricing.CatalogError
        reason = f"catalog unreachable at {target}: {exc}"
        if cached is not None:
            fetched_at = datetime.fromisoformat(cached["fetchedAt"])
            stale = f"{reason}; the copy cached on {fetched_at.date().isoformat()} is used"
            try:
                return _parse(cached["catalog"], code, fetched_at, str(cached.get("url")), stale)
            except pricing.CatalogError:
                pass
        return pricing.builtin_prices(code, reason=reason)
    _write_cache(path, target, when, body)
    return result


def _parse(
    catalog: dict[str, Any], code: str, fetched_at: datetime, url: str, reason: str | None
) -> pricing.PriceList:
    return pricing.parse_catalog(catalog, sub=code, fetched_at=fetched_at, url=url, reason=reason)


PRICE_CATALOG_ENV = "VLLM_AI_DEPLOY_PRICE_CATALOG"  # a catalog URL, or "none"; the stack key wins


def prices_for_config(
    raw: Mapping[str, Any],
    *,
    ovh_endpoint: str = "",
    ovhai_endpoint: str = "",
    environ: Mapping[str, str] | None = None,
    directory: Path | None = None,
) -> pricing.PriceList | None:
    """The prices for a stack's raw config (`ovhSubsidiary`, `priceCatalogUrl`), fetched at preview.

    None when a key is bad (the settings rules report it, before any request) or when the stack
    asks for the built-in estimates (`priceCatalogUrl: none`, which the rules word)."""
    env = os.environ if environ is None else environ
    override = str(raw.get("priceCatalogUrl") or "").strip() or env.get(PRICE_CATALOG_ENV, "").strip()
    if override == "none":
        if str(raw.get("priceCatalogUrl") or "").strip() == "none":
            return None
        try:
            return pricing.builtin_prices(str(raw.get("ovhSubsidiary") or "FR"),
                                          reason=f"{PRICE_CATALOG_ENV}=none")
        except pricing.UnknownSubsidiary:
            return None
    if override and not override.startswith(("http://", "https://")):
        return None
    try:
        url = pricing.catalog_url(str(raw.get("ovhSubsidiary") or "FR"), override=override,
                                  ovh_endpoint=ovh_endpoint, ovhai_endpoint=ovhai_endpoint)
    except pricing.UnknownSubsidiary:
        return None
    return load_prices(str(raw.get("ovhSubsidiary") or "FR"), url=url, directory=directory)
