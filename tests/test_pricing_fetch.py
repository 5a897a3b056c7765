"""Prices from the public catalog over real HTTP: the emulator's catalog route on a free loopback
port, the dated cache, the fallback when the catalog is unreachable (a closed port), and the stack
program under Pulumi's mocks naming the source and date in `estimatedHourlyCost`.

`httpx.MockTransport` appears once, as a fault the emulator cannot produce: a transport that fails
every request, to prove a fresh cached copy is used without any request.
"""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from components import price_catalog, pricing
from emulator.flavors import FLAVORS as EMULATOR_FLAVORS
from emulator.runner import RunningEmulator
from tests.program_harness import REPO, run_program, stack_config
from tests.pulumi_cli import PulumiProject, main_stack, require_pulumi

PROJECT = "vllm-ai-deploy"
T0 = datetime(2026, 12, 2, 9, 30, tzinfo=UTC)


def closed_port_url() -> str:
    """An address nothing listens on: bind a port, then close it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def failing_transport(seen: list[httpx.Request]) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        raise httpx.ConnectError("no network in this test", request=request)

    return httpx.MockTransport(handler)


def test_the_emulator_serves_the_catalog_without_credentials(emulator: RunningEmulator) -> None:
    url = f"{emulator.base_url}/1.0/order/catalog/public/cloud"
    response = httpx.get(url, params={"ovhSubsidiary": "PL"})
    assert response.status_code == 200
    body = response.json()
    assert body["locale"] == {"currencyCode": "PLN", "subsidiary": "PL", "taxRate": 23}
    addon = next(a for a in body["addons"] if a["planCode"] == "ai-app.h100-1-gpu.minute.consumption")
    (price,) = addon["pricings"]
    assert price["intervalUnit"] == "minute" and price["capacities"] == ["consumption"]
    assert isinstance(price["price"], int) and price["tax"] == round(price["price"] * 0.23)


@pytest.mark.parametrize("query", [{"ovhSubsidiary": "XX"}, {"ovhSubsidiary": "EU"}, {}])
def test_the_emulator_refuses_an_unknown_subsidiary_like_the_live_api(
    emulator: RunningEmulator, query: dict[str, str]
) -> None:
    response = httpx.get(f"{emulator.base_url}/1.0/order/catalog/public/cloud", params=query)
    assert response.status_code == 400
    assert response.json() == {"class": "Client::BadRequest", "message": "invalid ovhSubsidiary"}
    assert response.headers["X-Ovh-QueryID"]


def test_fetch_from_the_emulator_prices_every_flavor_and_caches_with_the_date(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    url = pricing.catalog_url("FR", override=emulator.base_url)
    prices = price_catalog.load_prices("FR", url=url, directory=tmp_path, now=T0)
    assert prices.source == "OVHcloud public catalog" and prices.date == "2026-12-02"
    assert prices.per_gpu_hour() == pytest.approx(
        {f: EMULATOR_FLAVORS[f].hourly_price_eur for f in prices.prices}, rel=1e-5)
    cached = json.loads((tmp_path / "catalog-FR.json").read_text())
    assert cached["url"] == url and cached["fetchedAt"] == T0.isoformat()
    assert {a["planCode"].split(".")[0] for a in cached["catalog"]["addons"]} == {"ai-app"}  # trimmed

    # A fresh copy is used without a request (any request would fail).
    seen: list[httpx.Request] = []
    again = price_catalog.load_prices("FR", url=url, directory=tmp_path, now=T0 + timedelta(hours=3),
                                      transport=failing_transport(seen))
    assert seen == [] and again.date == "2026-12-02" and again.reason is None
    assert again.per_gpu_hour() == prices.per_gpu_hour()

    # Past the max age the catalog is fetched again, and the cache takes the new date.
    later = T0 + timedelta(days=2)
    refreshed = price_catalog.load_prices("FR", url=url, directory=tmp_path, now=later)
    assert refreshed.date == "2026-12-04"
    assert json.loads((tmp_path / "catalog-FR.json").read_text())["fetchedAt"] == later.isoformat()


def test_the_currency_follows_the_subsidiary(emulator: RunningEmulator, tmp_path: Path) -> None:
    prices = price_catalog.load_prices(
        "GB", url=pricing.catalog_url("GB", override=emulator.base_url), directory=tmp_path)
    assert prices.currency == "GBP" and prices.subsidiary == "GB"
    assert prices.per_gpu_hour()["l40s-1-gpu"] == pytest.approx(1.40 * 0.85, rel=1e-5)


def test_an_unreachable_catalog_falls_back_to_the_built_in_estimates_and_says_so(tmp_path: Path) -> None:
    url = pricing.catalog_url("FR", override=closed_port_url())
    prices = price_catalog.load_prices("FR", url=url, directory=tmp_path)
    assert prices.source == "built-in estimates" and prices.date is None
    assert prices.reason is not None and url in prices.reason and "ConnectError" in prices.reason
    assert "not the catalog (catalog unreachable at" in pricing.source_line(prices)
    assert not (tmp_path / "catalog-FR.json").exists()


def test_an_unreachable_catalog_uses_a_stale_cached_copy_with_its_date(
    emulator: RunningEmulator, tmp_path: Path
) -> None:
    url = pricing.catalog_url("DE", override=emulator.base_url)
    price_catalog.load_prices("DE", url=url, directory=tmp_path, now=T0)
    seen: list[httpx.Request] = []
    stale = price_catalog.load_prices("DE", url=url, directory=tmp_path, now=T0 + timedelta(days=10),
                                      transport=failing_transport(seen))
    assert len(seen) == 1 and stale.source == "OVHcloud public catalog" and stale.date == "2026-12-02"
    assert stale.reason is not None and "the copy cached on 2026-12-02 is used" in stale.reason
    assert "fetched 2026-12-02" in pricing.source_line(stale)


def test_an_api_error_is_named_with_its_status_and_message(emulator: RunningEmulator, tmp_path: Path) -> None:
    url = f"{emulator.base_url}/1.0/order/catalog/public/cloud?ovhSubsidiary=EU"
    prices = price_catalog.load_prices("FR", url=url, directory=tmp_path)
    assert prices.source == "built-in estimates"
    assert prices.reason is not None
    assert "HTTP 400 Client::BadRequest: invalid ovhSubsidiary" in prices.reason


def test_an_unknown_subsidiary_is_refused_before_any_request(tmp_path: Path) -> None:
    with pytest.raises(pricing.UnknownSubsidiary, match="ovhSubsidiary"):
        price_catalog.load_prices("XX", directory=tmp_path, transport=failing_transport([]))
    assert price_catalog.prices_for_config({"ovhSubsidiary": "XX"}, environ={}, directory=tmp_path) is None


# --- the stack program: estimatedHourlyCost names the source and the date ---------------------------


def _run(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, **overrides: str) -> dict[str, object]:
    monkeypatch.setenv("HF_TOKEN", "hf_pricing_test")
    monkeypatch.setenv("VLLM_AI_DEPLOY_CACHE_DIR", str(tmp_path))
    config = stack_config(REPO, "dev")
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    run = run_program(REPO / "__main__.py", project=PROJECT, stack="dev", config=config)
    cost = run.outputs["estimatedHourlyCost"]
    assert isinstance(cost, dict)
    assert any(cost["sourceNote"] in line for line in run.logs)  # the line under the planner's table
    return cost


def test_the_stack_prices_from_the_catalog_at_preview(
    emulator: RunningEmulator, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    today = datetime.now(UTC).date().isoformat()
    cost = _run(monkeypatch, tmp_path, priceCatalogUrl=emulator.base_url, ovhSubsidiary="GB")
    assert (cost["source"], cost["date"], cost["currency"], cost["subsidiary"]) == (
        "OVHcloud public catalog", today, "GBP", "GB")
    assert cost["perReplica"] == pytest.approx(2 * 1.40 * 0.85, rel=1e-4)  # 2 x l40s-1-gpu
    assert f"OVHcloud public catalog (GB, catalog 4242, fetched {today})" in str(cost["sourceNote"])
    assert (tmp_path / "catalog-GB.json").exists()


def test_the_stack_says_when_the_catalog_was_unreachable(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    cost = _run(monkeypatch, tmp_path, priceCatalogUrl=closed_port_url())
    assert (cost["source"], cost["date"], cost["currency"]) == ("built-in estimates", None, "EUR")
    assert cost["perReplica"] == pytest.approx(2.8) and "catalog unreachable at" in str(cost["sourceNote"])


def test_the_stack_refuses_an_unknown_subsidiary_before_any_request(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("VLLM_AI_DEPLOY_PRICE_CATALOG", closed_port_url())
    with pytest.raises(Exception, match=r"vllm-ai-deploy:ovhSubsidiary.*unknown OVHcloud subsidiary 'XX'"):
        _run(monkeypatch, tmp_path, ovhSubsidiary="XX")
    assert list(tmp_path.iterdir()) == []


# --- the real Pulumi CLI: `pulumi preview` prices from the emulator's catalog ------------------------


def _cli_project(tmp_path: Path, emulator: RunningEmulator) -> PulumiProject:
    cli = require_pulumi()
    env = {"OVHAI_TOKEN": emulator.admin_token, "HF_TOKEN": "hf_pricing_cli_test",
           "VLLM_AI_DEPLOY_CACHE_DIR": str(tmp_path / "cache")}
    proj = main_stack(tmp_path, cli, **env)
    proj.env.pop("VLLM_AI_DEPLOY_PRICE_CATALOG", None)  # as a user runs it: the catalog is asked
    proj.config_set("ovhai:endpoint", emulator.base_url)  # the catalog comes from the same address
    return proj


def test_pulumi_preview_names_the_catalog_and_its_date_under_the_table(
    tmp_path: Path, fresh_emulator: RunningEmulator
) -> None:
    proj = _cli_project(tmp_path, fresh_emulator)
    result = proj.run("preview", "--diff")
    printed = result.stdout + result.stderr
    today = datetime.now(UTC).date().isoformat()
    assert f"Prices: OVHcloud public catalog (FR, catalog 4242, fetched {today}), EUR" in printed, printed
    assert (tmp_path / "cache" / "catalog-FR.json").exists()


def test_pulumi_preview_refuses_an_unknown_subsidiary_before_asking_the_catalog(
    tmp_path: Path, fresh_emulator: RunningEmulator
) -> None:
    proj = _cli_project(tmp_path, fresh_emulator)
    proj.config_set("vllm-ai-deploy:ovhSubsidiary", "XX")
    result = proj.run("preview", ok=False)
    printed = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in printed
    assert "vllm-ai-deploy:ovhSubsidiary" in printed and "unknown OVHcloud subsidiary 'XX'" in printed
    assert "pulumi config set vllm-ai-deploy:ovhSubsidiary FR" in printed
    assert not (tmp_path / "cache").exists()  # no catalog was fetched


def test_the_plan_cli_prices_from_the_catalog_in_its_currency(
    emulator: RunningEmulator,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from components.plan import main

    monkeypatch.setenv("VLLM_AI_DEPLOY_CACHE_DIR", str(tmp_path))
    argv = ["mistral-small-24b", "--flavor", "l40s-1-gpu", "--subsidiary", "GB"]
    argv += ["--catalog-url", emulator.base_url]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "GBP/h" in out and "EUR/h" not in out
    assert "Prices: OVHcloud public catalog (GB" in out
    assert "pulumi config set vllm-ai-deploy:ovhSubsidiary GB" in out
