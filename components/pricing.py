"""Prices of the AI Deploy GPU flavors from OVHcloud's public catalog: pure parsing, no HTTP.

The catalog is `GET /1.0/order/catalog/public/cloud?ovhSubsidiary=<SUB>` (no credentials), the
API's `order.catalog.public.Catalog`: `{catalogId, locale: {currencyCode, subsidiary, taxRate},
plans[], addons[], planFamilies[], products[]}`; each plan or addon has a `planCode` and
`pricings[]` of `{capacities, interval, intervalUnit, price, tax, type, mode, ...}` where `price`
and `tax` are integers in 1e-8 of the currency (the schema's "micro-cents"; OVHcloud's API
schema, e.g. the generated `OrderCatalogPublicPricing` in UrielCh/api-ovh-node; the control panel
divides by 100000000, ovh/manager's `getAvailableEngagementFromCatalog`; archived real catalogs in
y8/ovh-catalog-archive).

AI Deploy bills each app per minute per flavor unit under the plan code
`ai-app.<flavor>.minute.consumption` (OVHcloud's control panel, ovh/manager: the AI Deploy
`AppService.getPriceIndex(flavorId)` and the pci-ai-tools catalog mocks, e.g.
`ai-app.ai1-1-gpu.minute.consumption`); the panel shows the hourly price as the per-minute price
x 60, which is what `parse_catalog` computes. Prices are without tax (`taxRate` is the locale's).

The currency follows the subsidiary (the catalog's `locale.currencyCode` is what counts). When a
flavor's plan code is missing from the catalog, the built-in estimate of that flavor
(`components.platform.FLAVORS[...].hourly_price_eur`, the one place it lives) is used and a warning
names the plan code and the flavor.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from components.platform import FLAVORS

if TYPE_CHECKING:
    from components.sizing import Plan

__all__ = [
    "API_BASES",
    "BUILTIN_CURRENCY",
    "CATALOG_PATH",
    "SUBSIDIARIES",
    "UNIT",
    "CatalogError",
    "FlavorPrice",
    "PriceList",
    "Subsidiary",
    "UnknownSubsidiary",
    "builtin_prices",
    "catalog_url",
    "in_currency",
    "parse_catalog",
    "plan_code",
    "source_line",
    "subsidiary",
]

UNIT = 100_000_000  # catalog prices are integers in 1e-8 of the currency
CATALOG_PATH = "/order/catalog/public/cloud"
BUILTIN_CURRENCY = "EUR"  # the built-in estimates (components.platform) are EUR figures
BUILTIN_SOURCE = "built-in estimates"
CATALOG_SOURCE = "OVHcloud public catalog"
_PER_HOUR = {"minute": 60.0, "hour": 1.0}

# The API door of each `ovh:endpoint` name (the names pulumi-ovh and OVHcloud's `ovh` library use;
# ovh/python-ovh's ENDPOINTS).
API_BASES: Mapping[str, str] = MappingProxyType(
    {
        "ovh-eu": "https://eu.api.ovh.com/1.0",
        "ovh-ca": "https://ca.api.ovh.com/1.0",
        "ovh-us": "https://api.us.ovhcloud.com/1.0",
    }
)


@dataclass(frozen=True)
class Subsidiary:
    code: str
    currency: str
    endpoint: str  # the `ovh:endpoint` whose API serves its catalog


def _subs(endpoint: str, pairs: str) -> list[Subsidiary]:
    return [Subsidiary(c, cur, endpoint) for c, cur in (p.split(":") for p in pairs.split())]


# The subsidiaries whose catalogs the APIs serve, with the currency of their `locale`, as archived
# from the live catalogs in 2025 (y8/ovh-catalog-archive: eu.api.ovh.com serves CZ DE ES FI FR GB
# IE IT LT MA NL PL PT SN TN; ca.api.ovh.com ASIA AU CA IN QC SG WE WS; api.us.ovhcloud.com US).
# CZ, FI and LT are answered with the IE locale (EUR). `EU` is listed by the API console but
# refused (400 "invalid ovhSubsidiary", ovh/python-ovh#143), so it is not here.
SUBSIDIARIES: Mapping[str, Subsidiary] = MappingProxyType(
    {
        s.code: s
        for s in (
            *_subs("ovh-eu", "FR:EUR GB:GBP DE:EUR ES:EUR IT:EUR PL:PLN PT:EUR IE:EUR NL:EUR CZ:EUR "
                             "FI:EUR LT:EUR MA:MAD SN:XOF TN:TND"),
            *_subs("ovh-ca", "CA:CAD QC:CAD ASIA:USD AU:AUD IN:INR SG:SGD WE:USD WS:USD"),
            *_subs("ovh-us", "US:USD"),
        )
    }
)  # fmt: skip


class UnknownSubsidiary(ValueError):
    """A subsidiary code that no OVHcloud API serves a catalog for."""

    def __init__(self, code: str, key: str = "ovhSubsidiary") -> None:
        self.code, self.key = code, key
        super().__init__(
            f"{key}: unknown OVHcloud subsidiary {code!r}; one of {', '.join(SUBSIDIARIES)}"
        )


class CatalogError(ValueError):
    """A body that is not a public catalog (no `locale.currencyCode`, no plan list)."""


def subsidiary(code: str, key: str = "ovhSubsidiary") -> Subsidiary:
    """The subsidiary `code` (case-insensitive); `UnknownSubsidiary` naming `key` otherwise."""
    found = SUBSIDIARIES.get(code.strip().upper())
    if found is None:
        raise UnknownSubsidiary(code, key)
    return found


def plan_code(flavor: str) -> str:
    """The catalog plan code AI Deploy bills `flavor` under (per minute, per unit)."""
    return f"ai-app.{flavor}.minute.consumption"


def catalog_url(
    sub: str, *, override: str = "", ovh_endpoint: str = "", ovhai_endpoint: str = ""
) -> str:
    """The catalog's URL (query included) for subsidiary `sub`.

    `override` (the stack's `priceCatalogUrl`) wins: a full catalog URL, or an API base such as
    the emulator's `http://127.0.0.1:19080` or `.../1.0`. Else `ovh:endpoint` (a URL, or a name of
    `API_BASES` whose API serves the subsidiary: ovh-eu and ovh-ca their own, ovh-us all but IN,
    per y8/ovh-catalog-archive); else an `ovhai:endpoint` on loopback (the emulator, which serves
    the catalog under `/1.0` of the same address); else the API that serves the subsidiary."""
    code = subsidiary(sub).code
    named = ovh_endpoint.strip()
    if named in API_BASES and not _serves(named, code):
        named = ""  # the catalog needs no credentials: ask the API that serves the subsidiary
    base = override.strip() or _endpoint_base(named)
    if not base and _loopback(ovhai_endpoint):
        base = ovhai_endpoint.strip()
    if not base:
        base = API_BASES[SUBSIDIARIES[code].endpoint]
    base = base.rstrip("/")
    if CATALOG_PATH not in base:
        base = (base if base.endswith("/1.0") else base + "/1.0") + CATALOG_PATH
    if "ovhSubsidiary=" in base:
        return base
    return f"{base}{'&' if '?' in base else '?'}ovhSubsidiary={code}"


def _serves(endpoint: str, code: str) -> bool:
    return SUBSIDIARIES[code].endpoint == endpoint or (endpoint == "ovh-us" and code != "IN")


def _endpoint_base(ovh_endpoint: str) -> str:
    name = ovh_endpoint.strip()
    if not name:
        return ""
    if name in API_BASES:
        return API_BASES[name]
    return name if name.startswith(("http://", "https://")) else ""


def _loopback(url: str) -> bool:
    try:
        host = urlsplit(url.strip()).hostname or ""
    except ValueError:
        return False
    return host in ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class FlavorPrice:
    flavor: str
    per_gpu_hour: float
    currency: str
    source: str  # CATALOG_SOURCE, BUILTIN_SOURCE or "stack override"
    plan_code: str


@dataclass(frozen=True)
class PriceList:
    """Per-GPU hourly prices of every GPU flavor, where they come from and as of when."""

    subsidiary: str
    currency: str  # the catalog's (or the built-in estimates') currency
    prices: Mapping[str, FlavorPrice]
    source: str  # CATALOG_SOURCE or BUILTIN_SOURCE
    date: str | None  # ISO date (UTC) the catalog was fetched; None for the built-in estimates
    url: str | None = None
    catalog_id: int | None = None
    tax_rate: float | None = None
    reason: str | None = None  # why the built-in estimates are used, or that a cached copy is
    warnings: tuple[str, ...] = field(default=())

    def per_gpu_hour(self) -> dict[str, float]:
        return {f: p.per_gpu_hour for f, p in self.prices.items()}

    def currency_of(self, flavor: str) -> str:
        price = self.prices.get(flavor)
        return price.currency if price else self.currency

    def source_of(self, flavor: str) -> str:
        price = self.prices.get(flavor)
        return price.source if price else self.source

    def with_overrides(self, overrides: Mapping[str, float]) -> PriceList:
        """The stack's `prices` overrides on top (in the list's currency)."""
        if not overrides:
            return self
        prices = dict(self.prices)
        for flavor, amount in overrides.items():
            prices[flavor] = FlavorPrice(flavor, amount, self.currency, "stack override", plan_code(flavor))
        return replace(self, prices=MappingProxyType(prices))


def builtin_prices(sub: str = "FR", reason: str | None = None) -> PriceList:
    """The built-in estimates (EUR) of every GPU flavor; `reason` says why they are used."""
    code = subsidiary(sub).code
    prices = {
        f.id: FlavorPrice(f.id, f.hourly_price_eur, BUILTIN_CURRENCY, BUILTIN_SOURCE, plan_code(f.id))
        for f in FLAVORS.values()
    }
    warnings: tuple[str, ...] = ()
    if SUBSIDIARIES[code].currency != BUILTIN_CURRENCY:
        warnings = (
            f"prices: the built-in estimates are in {BUILTIN_CURRENCY}, not {SUBSIDIARIES[code].currency} "
            f"(subsidiary {code}): the catalog was not used ({reason or 'not fetched'})",
        )
    return PriceList(code, BUILTIN_CURRENCY, MappingProxyType(prices), BUILTIN_SOURCE, None,
                     reason=reason, warnings=warnings)  # fmt: skip


def _hourly(pricings: Any) -> float | None:
    """Per-unit hourly price of a plan's consumption pricing, or None.

    A consumption pricing (`capacities` has "consumption"; without capacities, `type` says so) of an
    `ai-app.*.minute.consumption` plan is per minute (x 60 per hour, as the control panel computes
    it) unless its `intervalUnit` says "hour"; other units (day, month) are not a price per use."""
    if not isinstance(pricings, list):
        return None
    for pricing in pricings:
        if not isinstance(pricing, dict):
            continue
        caps = pricing.get("capacities") or []
        consumption = "consumption" in caps if caps else pricing.get("type") == "consumption"
        unit = pricing.get("intervalUnit") or "minute"
        price = pricing.get("price")
        if not consumption or not isinstance(price, int | float) or isinstance(price, bool):
            continue
        factor = _PER_HOUR.get("minute" if unit == "none" else str(unit))
        if factor is None:
            continue
        interval = pricing.get("interval") or 1
        return float(price) / UNIT * factor / float(interval)
    return None


def parse_catalog(
    catalog: Any, *, sub: str, fetched_at: datetime | str, url: str | None = None,
    reason: str | None = None,
) -> PriceList:
    """The GPU flavors' prices in `catalog` (the API's JSON body), fetched at `fetched_at`.

    A flavor whose plan code is missing (or has no per-minute consumption pricing) keeps its
    built-in estimate, with a warning naming the plan code and the flavor. `CatalogError` when the
    body is not a catalog at all."""
    code = subsidiary(sub).code
    if not isinstance(catalog, dict):
        raise CatalogError(f"the catalog is not a JSON object (got {type(catalog).__name__})")
    locale = catalog.get("locale")
    currency = locale.get("currencyCode") if isinstance(locale, dict) else None
    if not isinstance(currency, str) or not currency:
        raise CatalogError("the catalog has no locale.currencyCode")
    entries: dict[str, Any] = {}
    for key in ("plans", "addons"):
        items = catalog.get(key)
        if items is None:
            continue
        if not isinstance(items, list):
            raise CatalogError(f"the catalog's {key} is not a list")
        for item in items:
            if isinstance(item, dict) and isinstance(item.get("planCode"), str):
                entries.setdefault(item["planCode"], item)
    date = _iso_date(fetched_at)
    prices: dict[str, FlavorPrice] = {}
    warnings: list[str] = []
    for flavor in FLAVORS.values():
        pc = plan_code(flavor.id)
        hourly = _hourly(entries[pc].get("pricings")) if pc in entries else None
        if hourly is not None and hourly > 0:
            prices[flavor.id] = FlavorPrice(flavor.id, round(hourly, 4), currency, CATALOG_SOURCE, pc)
            continue
        why = "has no plan code" if pc not in entries else "has no per-minute consumption price for"
        other = f" in {BUILTIN_CURRENCY}, not {currency}" if currency != BUILTIN_CURRENCY else ""
        warnings.append(
            f"prices: the OVHcloud catalog ({code}, {date}) {why} {pc} (flavor {flavor.id}): "
            f"its built-in estimate {flavor.hourly_price_eur:.2f} {BUILTIN_CURRENCY}/h per GPU is "
            f"used{other}"
        )
        prices[flavor.id] = FlavorPrice(
            flavor.id, flavor.hourly_price_eur, BUILTIN_CURRENCY, BUILTIN_SOURCE, pc
        )
    catalog_id = catalog.get("catalogId")
    tax = locale.get("taxRate") if isinstance(locale, dict) else None
    return PriceList(
        code, currency, MappingProxyType(prices), CATALOG_SOURCE, date, url=url,
        catalog_id=catalog_id if isinstance(catalog_id, int) else None,
        tax_rate=float(tax) if isinstance(tax, int | float) else None,
        reason=reason, warnings=tuple(warnings),
    )  # fmt: skip


def _iso_date(when: datetime | str) -> str:
    if isinstance(when, datetime):
        return (when if when.tzinfo else when.replace(tzinfo=UTC)).astimezone(UTC).date().isoformat()
    return str(when)[:10]


def in_currency(plan: Plan, prices: PriceList) -> Plan:
    """`plan` (a planner's Plan) labelled with the currency of its flavor's price."""
    currency = prices.currency_of(plan.flavor)
    return plan if plan.currency == currency else replace(plan, currency=currency)


def source_line(prices: PriceList) -> str:
    """One line under the planner's table: where the prices come from and as of when."""
    if prices.source == CATALOG_SOURCE:
        where = f"{CATALOG_SOURCE} ({prices.subsidiary}"
        where += f", catalog {prices.catalog_id}" if prices.catalog_id is not None else ""
        where += f", fetched {prices.date})"
        tax = f", excl. tax ({prices.tax_rate:g}% VAT)" if prices.tax_rate else ", excl. tax"
        text = f"Prices: {where}, {prices.currency} per GPU-hour (per-minute price x 60){tax}"
    else:
        text = f"Prices: {BUILTIN_SOURCE} in {BUILTIN_CURRENCY} per GPU-hour, not the catalog"
    if prices.reason:
        text += f" ({prices.reason})"
    others = sorted({p.source for p in prices.prices.values()} - {prices.source})
    if others:
        flavors = [f for f, p in prices.prices.items() if p.source != prices.source]
        text += f"; {', '.join(others)} for {', '.join(flavors)}"
    return text + "."
