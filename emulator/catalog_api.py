"""`GET /1.0/order/catalog/public/cloud?ovhSubsidiary=XX`: OVHcloud's public cloud catalog, no auth.

The shape is the API's `order.catalog.public.Catalog` (`catalogId`, `locale {currencyCode,
subsidiary, taxRate}`, `plans`, `addons`, `planFamilies`, `products`); every AI Deploy flavor of
`flavors.FLAVORS` is an addon `ai-app.<flavor>.minute.consumption` (the plan code OVHcloud's
control panel reads) with one consumption pricing per minute and per unit, `price` and `tax` in
1e-8 of the currency, derived from the flavor's `hourly_price_eur` (the one place the emulator
keeps a price). Next to them, the notebook and training plans of the same flavors and an instance
plan billed per hour, as in the live catalog, so that a client must pick its plan code.

Subsidiaries and their locales are those the live catalogs answered with in 2025 (CZ, FI and LT
come back with the IE locale). Non-EUR prices are the EUR figure times a fixed illustrative rate:
the emulator's choice, not OVHcloud's prices. An unknown (or missing) subsidiary gets the live
API's answer: 400 `{"class": "Client::BadRequest", "message": "invalid ovhSubsidiary"}`
(ovh/python-ovh#143, ovh/php-ovh#100) with an `X-Ovh-QueryID` header.
"""

from __future__ import annotations

import uuid
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .flavors import FLAVORS, FlavorInfo

CATALOG_ID = 4242
UNIT = 100_000_000

# subsidiary -> (locale subsidiary, currency, tax rate %)
LOCALES: dict[str, tuple[str, str, int]] = {
    "FR": ("FR", "EUR", 20), "GB": ("GB", "GBP", 20), "DE": ("DE", "EUR", 19),
    "ES": ("ES", "EUR", 21), "IT": ("IT", "EUR", 22), "PL": ("PL", "PLN", 23),
    "PT": ("PT", "EUR", 23), "IE": ("IE", "EUR", 23), "NL": ("NL", "EUR", 21),
    "CZ": ("IE", "EUR", 23), "FI": ("IE", "EUR", 23), "LT": ("IE", "EUR", 23),
    "MA": ("MA", "MAD", 20), "SN": ("SN", "XOF", 18), "TN": ("TN", "TND", 18),
    "CA": ("CA", "CAD", 0), "QC": ("QC", "CAD", 0), "ASIA": ("ASIA", "USD", 9),
    "AU": ("AU", "AUD", 10), "IN": ("IN", "INR", 18), "SG": ("SG", "SGD", 9),
    "WE": ("WE", "USD", 0), "WS": ("WS", "USD", 0), "US": ("US", "USD", 0),
}  # fmt: skip
# Illustrative EUR -> currency factors (fixed, so tests can compute the expected prices).
RATES: dict[str, float] = {
    "EUR": 1.0, "GBP": 0.85, "PLN": 4.3, "USD": 1.1, "CAD": 1.5, "AUD": 1.65, "INR": 92.0,
    "SGD": 1.45, "MAD": 10.8, "XOF": 655.957, "TND": 3.4,
}  # fmt: skip
INSTANCE_PLAN = ("b3-8.consumption", 0.0681)  # an instance billed per hour, EUR


def minute_price(flavor: FlavorInfo, currency: str) -> int:
    """The per-minute, per-unit price of `flavor` in 1e-8 of `currency`."""
    return round(flavor.hourly_price_eur * RATES[currency] / 60 * UNIT)


def _pricing(price: int, tax_rate: int, unit: str) -> dict[str, Any]:
    return {
        "capacities": ["consumption"],
        "commitment": 0,
        "description": f"Price per {unit}",
        "engagementConfiguration": None,
        "interval": 1,
        "intervalUnit": unit,
        "mode": "default",
        "mustBeCompleted": False,
        "phase": 0,
        "price": price,
        "promotions": [],
        "quantity": {"max": None, "min": 1},
        "repeat": {"max": None, "min": 1},
        "strategy": "tiered",
        "tax": round(price * tax_rate / 100),
        "type": "consumption",
    }


def _addon(plan_code: str, name: str, product: str, pricing: dict[str, Any]) -> dict[str, Any]:
    return {
        "addonFamilies": [],
        "blobs": None,
        "configurations": [],
        "consumptionConfiguration": None,
        "family": None,
        "invoiceName": name,
        "planCode": plan_code,
        "pricingType": "consumption",
        "pricings": [pricing],
        "product": product,
    }


def catalog(subsidiary: str) -> dict[str, Any]:
    """The catalog body for a known subsidiary."""
    locale_sub, currency, tax_rate = LOCALES[subsidiary]
    addons = []
    kinds = (("ai-notebook", "AI Notebooks"), ("ai-app", "AI Deploy"), ("ai-training", "AI Training"))
    for kind, label in kinds:
        for f in FLAVORS.values():
            price = minute_price(f, currency)
            what = f"{f.gpu_model} GPU" if f.is_gpu else "CPU"
            addons.append(_addon(f"{kind}.{f.id}.minute.consumption", f"{label} {what} {f.id}",
                                 f"publiccloud-{kind}-{f.id}", _pricing(price, tax_rate, "minute")))
    code, eur = INSTANCE_PLAN
    addons.append(_addon(code, "Instance b3-8", "publiccloud-instance-b3-8",
                         _pricing(round(eur * RATES[currency] * UNIT), tax_rate, "hour")))
    return {
        "catalogId": CATALOG_ID,
        "locale": {"currencyCode": currency, "subsidiary": locale_sub, "taxRate": tax_rate},
        "plans": [_addon("project.2018", "Public Cloud Project", "publiccloud-project",
                         _pricing(0, tax_rate, "hour"))],
        "addons": addons,
        "planFamilies": [{"name": "default"}],
        "products": [{"description": a["invoiceName"], "name": a["product"]} for a in addons],
    }  # fmt: skip


async def get_catalog(request: Request) -> Response:
    sub = request.query_params.get("ovhSubsidiary", "")
    headers = {"X-Ovh-QueryID": f"EU.emulator.{uuid.uuid4().hex[:12]}"}
    if sub not in LOCALES:
        body = {"class": "Client::BadRequest", "message": "invalid ovhSubsidiary"}
        return JSONResponse(body, status_code=400, headers=headers)
    return JSONResponse(catalog(sub), headers=headers)


routes = [Route("/1.0/order/catalog/public/cloud", get_catalog, methods=["GET"])]
