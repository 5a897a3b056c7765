"""Prices from OVHcloud's public catalog, the pure part: parsing, plan codes, subsidiaries, URLs,
the settings keys and the emulator's copy of the facts.

The catalog fixture has the shape of the live `GET /1.0/order/catalog/public/cloud` answer
(`order.catalog.public.Catalog` of OVHcloud's API schema; the pricing entries copy the fields of
the catalogs archived in y8/ovh-catalog-archive, the AI plan codes those of ovh/manager): a
project plan, AI Notebooks/Deploy/Training addons per flavor, an instance billed per hour.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from components import platform, pricing
from components.settings import SettingsError, load_settings
from emulator import catalog_api
from emulator.flavors import FLAVORS as EMULATOR_FLAVORS

NOW = datetime(2026, 12, 2, 15, 0, tzinfo=UTC)
# Per-minute prices in 1e-8 EUR (what the live FR catalog lists for `ai-app.*`), per flavor.
MINUTE_UCENTS = {
    "ai1-1-gpu": 3_000_000, "l4-1-gpu": 1_250_000, "l40s-1-gpu": 2_333_333, "h100-1-gpu": 4_666_667,
}


def _pricing(
    price: int, unit: str = "minute", capacities: tuple[str, ...] = ("consumption",)
) -> dict[str, Any]:
    return {
        "capacities": list(capacities), "commitment": 0, "description": "Consumption",
        "engagementConfiguration": None, "interval": 1, "intervalUnit": unit, "mode": "default",
        "mustBeCompleted": False, "phase": 0, "price": price, "promotions": [],
        "quantity": {"max": None, "min": 1}, "repeat": {"max": None, "min": 1}, "strategy": "tiered",
        "tax": round(price * 0.2), "type": "consumption",
    }  # fmt: skip


def _plan(code: str, *pricings: dict[str, Any]) -> dict[str, Any]:
    return {"planCode": code, "product": code.replace(".", "-"), "invoiceName": code, "addonFamilies": [],
            "configurations": [], "pricingType": "consumption", "pricings": list(pricings)}


def real_shaped_catalog(minute_ucents: dict[str, int] | None = None) -> dict[str, Any]:
    """A catalog as the live FR one is laid out; `a100-1-gpu` is missing on purpose."""
    prices = MINUTE_UCENTS if minute_ucents is None else minute_ucents
    addons = [_plan("b3-8.consumption", _pricing(6_810_000, unit="hour"))]
    for flavor, price in prices.items():
        addons.append(_plan(f"ai-notebook.{flavor}.minute.consumption", _pricing(price * 2)))
        addons.append(_plan(f"ai-app.{flavor}.minute.consumption",
                            _pricing(0, unit="none", capacities=("installation",)), _pricing(price)))
    return {
        "catalogId": 8294,
        "locale": {"currencyCode": "EUR", "subsidiary": "FR", "taxRate": 20},
        "plans": [_plan("project.2018", _pricing(0, unit="hour"))],
        "products": [{"name": "ai-app", "description": "AI Deploy"}],
        "addons": addons,
        "planFamilies": [{"name": "default"}],
    }


def test_plan_code_per_flavor_is_the_control_panels() -> None:
    # ovh/manager's AppService.getPriceIndex(flavorId): `ai-app.${flavorId}.minute.consumption`
    assert pricing.plan_code("l40s-1-gpu") == "ai-app.l40s-1-gpu.minute.consumption"
    assert {pricing.plan_code(f) for f in platform.FLAVORS} >= {"ai-app.h100-1-gpu.minute.consumption"}


def test_parse_gives_per_gpu_hour_from_the_per_minute_price_with_currency_source_and_date() -> None:
    prices = pricing.parse_catalog(real_shaped_catalog(), sub="FR", fetched_at=NOW, url="u")
    hourly = prices.per_gpu_hour()
    assert hourly["l40s-1-gpu"] == pytest.approx(2_333_333 * 60 / 1e8, abs=1e-4) == pytest.approx(1.4)
    assert hourly["h100-1-gpu"] == pytest.approx(2.8) and hourly["l4-1-gpu"] == pytest.approx(0.75)
    assert hourly["ai1-1-gpu"] == pytest.approx(1.8)  # the ai-app plan, not the notebook one
    assert (prices.currency, prices.source, prices.date) == ("EUR", "OVHcloud public catalog", "2026-12-02")
    assert (prices.catalog_id, prices.tax_rate, prices.subsidiary, prices.url) == (8294, 20.0, "FR", "u")
    assert prices.prices["l40s-1-gpu"].source == "OVHcloud public catalog"
    line = pricing.source_line(prices)
    assert "OVHcloud public catalog (FR, catalog 8294, fetched 2026-12-02)" in line and "EUR" in line


def test_a_missing_plan_code_warns_naming_it_and_falls_back_to_the_built_in_estimate() -> None:
    prices = pricing.parse_catalog(real_shaped_catalog(), sub="FR", fetched_at=NOW)
    a100 = prices.prices["a100-1-gpu"]
    assert a100.per_gpu_hour == platform.FLAVORS["a100-1-gpu"].hourly_price_eur
    assert a100.source == "built-in estimates" and a100.currency == "EUR"
    (warning,) = prices.warnings
    assert "ai-app.a100-1-gpu.minute.consumption" in warning and "flavor a100-1-gpu" in warning
    assert "built-in estimate 2.75 EUR/h" in warning
    assert "built-in estimates for a100-1-gpu" in pricing.source_line(prices)


def test_a_plan_without_a_per_minute_consumption_price_is_treated_as_missing() -> None:
    catalog = real_shaped_catalog()
    for addon in catalog["addons"]:
        if addon["planCode"] == "ai-app.l4-1-gpu.minute.consumption":
            addon["pricings"] = [_pricing(10, unit="none", capacities=("installation",))]
    prices = pricing.parse_catalog(catalog, sub="FR", fetched_at=NOW)
    assert prices.prices["l4-1-gpu"].source == "built-in estimates"
    assert any("no per-minute consumption price for ai-app.l4-1-gpu" in w for w in prices.warnings)


def test_the_currency_follows_the_catalogs_locale_and_fallbacks_say_they_are_in_eur() -> None:
    catalog = real_shaped_catalog()
    catalog["locale"] = {"currencyCode": "GBP", "subsidiary": "GB", "taxRate": 20}
    prices = pricing.parse_catalog(catalog, sub="gb", fetched_at="2026-12-01T10:00:00+00:00")
    assert prices.currency == "GBP" and prices.subsidiary == "GB" and prices.date == "2026-12-01"
    assert prices.currency_of("l40s-1-gpu") == "GBP" and prices.currency_of("a100-1-gpu") == "EUR"
    assert "in EUR, not GBP" in prices.warnings[0]


@pytest.mark.parametrize("body", [[], "x", {"locale": {}}, {"locale": {"currencyCode": "EUR"}, "addons": {}}])
def test_a_body_that_is_not_a_catalog_is_a_catalog_error(body: Any) -> None:
    with pytest.raises(pricing.CatalogError):
        pricing.parse_catalog(body, sub="FR", fetched_at=NOW)


def test_subsidiaries_and_their_currencies() -> None:
    expected = {"FR": "EUR", "GB": "GBP", "DE": "EUR", "ES": "EUR", "IT": "EUR", "PL": "PLN", "PT": "EUR",
                "IE": "EUR", "NL": "EUR", "CA": "CAD", "US": "USD", "ASIA": "USD", "AU": "AUD", "SG": "SGD"}
    assert {k: pricing.SUBSIDIARIES[k].currency for k in expected} == expected
    assert pricing.subsidiary(" us ").endpoint == "ovh-us" and pricing.subsidiary("QC").endpoint == "ovh-ca"
    with pytest.raises(pricing.UnknownSubsidiary, match=r"ovhSubsidiary: unknown OVHcloud subsidiary 'EU'"):
        pricing.subsidiary("EU")  # listed by the console, refused by the API (ovh/python-ovh#143)
    with pytest.raises(pricing.UnknownSubsidiary, match="XX"):
        pricing.builtin_prices("XX")


def test_catalog_url_from_the_endpoint_the_subsidiary_or_an_override() -> None:
    path = "/1.0/order/catalog/public/cloud?ovhSubsidiary="
    assert pricing.catalog_url("FR") == f"https://eu.api.ovh.com{path}FR"
    assert pricing.catalog_url("CA") == f"https://ca.api.ovh.com{path}CA"
    assert pricing.catalog_url("US") == f"https://api.us.ovhcloud.com{path}US"
    assert pricing.catalog_url("QC", ovh_endpoint="ovh-ca") == f"https://ca.api.ovh.com{path}QC"
    assert pricing.catalog_url("fr", ovh_endpoint="ovh-us") == f"https://api.us.ovhcloud.com{path}FR"
    # ovh-ca does not serve FR's catalog (nor ovh-eu CA's): the subsidiary's own API is asked
    assert pricing.catalog_url("FR", ovh_endpoint="ovh-ca") == f"https://eu.api.ovh.com{path}FR"
    assert pricing.catalog_url("CA", ovh_endpoint="ovh-eu") == f"https://ca.api.ovh.com{path}CA"
    assert pricing.catalog_url("FR", ovh_endpoint="http://127.0.0.1:9/1.0") == f"http://127.0.0.1:9{path}FR"
    emu = "http://127.0.0.1:19080"
    assert pricing.catalog_url("GB", override=emu + "/") == f"{emu}{path}GB"
    assert pricing.catalog_url("GB", override=emu + "/1.0") == f"{emu}{path}GB"
    assert pricing.catalog_url("GB", ovhai_endpoint=emu) == f"{emu}{path}GB"  # the emulator's address
    assert pricing.catalog_url("GB", ovhai_endpoint="https://gra.ai.cloud.ovh.net").startswith("https://eu.")
    full = f"{emu}{path}DE"
    assert pricing.catalog_url("GB", override=full) == full


def test_builtin_prices_are_the_platform_facts() -> None:
    prices = pricing.builtin_prices("FR", reason="catalog unreachable")
    assert prices.per_gpu_hour() == {f.id: f.hourly_price_eur for f in platform.FLAVORS.values()}
    assert prices.date is None and prices.warnings == ()
    assert pricing.source_line(prices) == (
        "Prices: built-in estimates in EUR per GPU-hour, not the catalog (catalog unreachable).")
    assert "in EUR, not USD" in pricing.builtin_prices("US").warnings[0]


# --- the settings keys ---------------------------------------------------------------------------


def _load(extra: dict[str, str], catalog_prices: pricing.PriceList | None = None) -> Any:
    raw = {"model": "qwen2.5-7b", **extra}
    return load_settings(raw, stack="qwen-dev", catalog_prices=catalog_prices)


def test_unknown_subsidiary_is_a_settings_error_naming_the_key_and_the_fix() -> None:
    with pytest.raises(SettingsError) as info:
        _load({"ovhSubsidiary": "XX"})
    text = str(info.value)
    assert "vllm-ai-deploy:ovhSubsidiary" in text and "unknown OVHcloud subsidiary 'XX'" in text
    assert "pulumi config set vllm-ai-deploy:ovhSubsidiary FR" in text


def test_bad_price_catalog_url_is_a_settings_error() -> None:
    with pytest.raises(SettingsError, match="vllm-ai-deploy:priceCatalogUrl"):
        _load({"priceCatalogUrl": "ftp://x"})


def test_catalog_prices_price_the_plans_in_their_currency_with_source_and_date() -> None:
    catalog = real_shaped_catalog({f: round(p * 0.85) for f, p in MINUTE_UCENTS.items()})
    catalog["locale"] = {"currencyCode": "GBP", "subsidiary": "GB", "taxRate": 20}
    fetched = pricing.parse_catalog(catalog, sub="GB", fetched_at=NOW)
    settings = _load({"ovhSubsidiary": "GB", "gpuFlavor": "l40s-1-gpu", "gpuCount": "1"}, fetched)
    assert settings.plan.currency == "GBP" and settings.plan.hourly_cost == pytest.approx(1.19, abs=1e-3)
    assert all(p.currency == ("EUR" if p.flavor == "a100-1-gpu" else "GBP") for p in settings.plans)
    cost = settings.estimated_hourly_cost()
    assert (cost["currency"], cost["source"], cost["date"], cost["subsidiary"]) == (
        "GBP", "OVHcloud public catalog", "2026-12-02", "GB")
    assert "fetched 2026-12-02" in cost["sourceNote"] and "estimate" in cost["note"]
    assert any("ai-app.a100-1-gpu.minute.consumption" in w for w in settings.warnings)


def test_without_a_catalog_the_built_in_estimates_are_named_and_undated() -> None:
    cost = _load({}).estimated_hourly_cost()
    assert (cost["source"], cost["date"], cost["currency"]) == ("built-in estimates", None, "EUR")
    assert "not fetched" in cost["sourceNote"]
    none = _load({"priceCatalogUrl": "none"}).estimated_hourly_cost()
    assert "priceCatalogUrl is 'none'" in none["sourceNote"]


def test_a_catalog_for_another_subsidiary_is_not_used() -> None:
    fetched = pricing.parse_catalog(real_shaped_catalog(), sub="FR", fetched_at=NOW)
    assert _load({"ovhSubsidiary": "DE"}, fetched).estimated_hourly_cost()["source"] == "built-in estimates"


def test_stack_overrides_win_over_the_catalog_and_say_so() -> None:
    fetched = pricing.parse_catalog(real_shaped_catalog(), sub="FR", fetched_at=NOW)
    settings = _load({"gpuFlavor": "l40s-1-gpu", "gpuCount": "1", "prices": '["l40s-1-gpu=1.10"]'}, fetched)
    cost = settings.estimated_hourly_cost()
    assert cost["perReplica"] == pytest.approx(1.1) and cost["source"] == "stack override"
    assert cost["date"] is None and "stack override for l40s-1-gpu" in cost["sourceNote"]


# --- the emulator's catalog: its own copy of the facts, held to the project's ------------------------


def test_emulator_prices_and_currencies_match_the_projects_facts() -> None:
    for flavor in platform.FLAVORS.values():
        assert EMULATOR_FLAVORS[flavor.id].hourly_price_eur == flavor.hourly_price_eur
    assert {k: v[1] for k, v in catalog_api.LOCALES.items()} == {
        k: s.currency for k, s in pricing.SUBSIDIARIES.items()}


def test_the_emulators_catalog_parses_to_its_flavor_prices() -> None:
    for sub in ("FR", "PL", "US"):
        prices = pricing.parse_catalog(catalog_api.catalog(sub), sub=sub, fetched_at=NOW)
        rate = catalog_api.RATES[prices.currency]
        assert prices.warnings == ()
        for flavor, price in prices.prices.items():
            expected = EMULATOR_FLAVORS[flavor].hourly_price_eur * rate
            assert price.per_gpu_hour == pytest.approx(expected, rel=1e-5)


def test_an_hourly_pricing_counts_once_and_a_pricing_without_capacities_by_its_type() -> None:
    catalog = real_shaped_catalog()
    for addon in catalog["addons"]:
        if addon["planCode"] == "ai-app.h100-1-gpu.minute.consumption":
            addon["pricings"] = [_pricing(300_000_000, unit="hour")]
        if addon["planCode"] == "ai-app.l4-1-gpu.minute.consumption":
            addon["pricings"] = [{**_pricing(1_000_000), "capacities": []}]
    hourly = pricing.parse_catalog(catalog, sub="FR", fetched_at=NOW).per_gpu_hour()
    assert hourly["h100-1-gpu"] == pytest.approx(3.0) and hourly["l4-1-gpu"] == pytest.approx(0.6)
