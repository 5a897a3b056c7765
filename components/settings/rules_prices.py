"""Rules of the prices: the subsidiary (its currency), the catalog URL, the price list the planner uses.

Pure: the catalog is fetched by the program (`components.stack_config` through
`components.price_catalog`) before the rules run, and handed in as a `pricing.PriceList`; these
rules check the keys, put the stack's `prices` overrides on top and label each plan with the
currency of its flavor's price.
"""

from __future__ import annotations

from components import pricing, sizing
from components.settings.keys import StackConfig
from components.settings.rules_base import Findings

NO_CATALOG = "none"  # priceCatalogUrl value: the built-in estimates, no request


def subsidiary(cfg: StackConfig, p: Findings) -> str | None:
    """The subsidiary code, or None (reported) when no OVHcloud API serves it."""
    try:
        return pricing.subsidiary(cfg.ovhSubsidiary).code
    except pricing.UnknownSubsidiary as exc:
        p.add("ovhSubsidiary", str(exc).split(": ", 1)[1], value="FR")
        return None


def catalog_url_ok(cfg: StackConfig, p: Findings) -> bool:
    url = cfg.priceCatalogUrl.strip()
    if url and url != NO_CATALOG and not url.startswith(("http://", "https://")):
        p.add("priceCatalogUrl", f"must be an http(s) URL, '{NO_CATALOG}' or empty (got {url!r})",
              value="http://127.0.0.1:19080")
        return False
    return True


def price_list(
    cfg: StackConfig, code: str, fetched: pricing.PriceList | None, overrides: dict[str, float],
    p: Findings,
) -> pricing.PriceList:
    """The catalog's prices (or the built-in estimates) with the stack's overrides on top."""
    if cfg.priceCatalogUrl.strip() == NO_CATALOG:
        base = pricing.builtin_prices(code, reason=f"priceCatalogUrl is '{NO_CATALOG}'")
    elif fetched is not None and fetched.subsidiary == code:
        base = fetched
    else:
        base = pricing.builtin_prices(code, reason="the catalog was not fetched")
    for warning in base.warnings:
        p.warn(warning)
    return base.with_overrides(overrides)


def label_currency(
    chosen: tuple[sizing.Plan, list[sizing.Plan]], prices: pricing.PriceList
) -> tuple[sizing.Plan, list[sizing.Plan]]:
    """Each plan in the currency of its flavor's price (the planner itself counts in numbers)."""
    best, plans = chosen
    return pricing.in_currency(best, prices), [pricing.in_currency(x, prices) for x in plans]
