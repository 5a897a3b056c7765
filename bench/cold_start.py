"""Cold starts of the seed's model with and without the model cache (issue 12).

Run: `python -m bench.cold_start` (about a minute; `--json PATH` also writes the figures).

Against a real emulator process over HTTP on a free loopback port (fast timings, its Hub download
model turned on: `POST /_emulator/datastore`), with the dev stack's app spec as the program builds
it (Pulumi.dev.yaml: Mistral-Small-24B on 2 x L40S). For each variant - `/hub` standalone (today)
and `/hub` from the platform stack's bucket (`cacheStack`) - the app is created and timed until
the vLLM stand-in's /health answers, then stopped and started again and timed the same way, then
scaled by one replica and timed until the rollout is RUNNING (the new replica pulled the prefix or
downloaded from the Hub first); the emulator reports the bytes each start fetched from the Hub
(`GET /_emulator/app/{id}/starts`).
With the cache, the AiCachePush provider pushes /hub back between the two starts (its time is
printed too). Emulated seconds are the fast timings' (the download model's scale is 1/90 of real
time); the real-cloud figures are estimates from the model's size and the bandwidths stated in
components/cache.py.
"""

from __future__ import annotations

import argparse
import json
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from pulumi.dynamic import Config, ConfigureRequest

from components import cache
from components.deployment import build_app_spec, build_launch
from components.platform_stack import plan_platform
from components.resources.datasync import AiCachePushProvider
from components.settings import Settings, load_settings
from components.sizing import checkpoint_bytes
from emulator import datastore
from emulator.runner import start_emulator
from emulator.timings import FAST
from tests.program_harness import REPO, stack_config

ADMIN = "bench-cold-start-admin"
PROJECT = "vllm-ai-deploy"


@dataclass
class Variant:
    name: str
    seed_cpu_seconds: float | None  # a CPU app that downloaded and pushed before the GPU app
    first_seconds: float
    first_hub_bytes: float
    push_seconds: float | None
    second_seconds: float
    second_hub_bytes: float
    second_bucket_bytes: float
    replica_seconds: float  # a scale-up by one replica of the serving app, until it serves
    replica_hub_bytes: float
    replica_bucket_bytes: float


def seed_settings() -> Settings:
    config = stack_config(REPO, "dev")
    prefix = f"{PROJECT}:"
    raw = {k[len(prefix):]: v for k, v in config.items() if k.startswith(prefix)}
    return load_settings(raw, stack="dev", environ={"HF_TOKEN": "hf_bench_placeholder"})


def app_spec(settings: Settings, source: cache.CacheSource | None) -> dict[str, Any]:
    spec = build_app_spec(settings, build_launch(settings))
    if source is not None:
        spec["volumes"] = [source.to_volume(settings.cache_path) if v["mountPath"] == settings.cache_path
                           else v for v in spec["volumes"]]
    spec["name"] = f"{spec['name']}-{'cache' if source else 'hub'}"
    spec["labels"] = {**spec["labels"], datastore.MODEL_BYTES_LABEL: str(checkpoint_bytes(settings.model))}
    return spec


def gra_source(settings: Settings) -> cache.CacheSource:
    """What the model stack reads from platform/Pulumi.gra.yaml's outputs (platform/__main__.py)."""
    plan = plan_platform({"region": "GRA", "cachePrefix": "models"}, stack="gra")
    outputs = {"bucket": plan.bucket, "region": plan.region, "alias": plan.alias,
               "cachePrefix": plan.cache_prefix, "s3Endpoint": plan.s3_endpoint}
    return cache.resolve_source(outputs, stack="organization/platform/gra", app_region="GRA",
                                model_prefix=cache.model_prefix(settings.model.hf_id))


def wait(api: httpx.Client, app_id: str, *, state: str | None = None, health: bool = False,
         timeout: float = 120) -> float:
    started = time.monotonic()
    while True:
        if health and api.get(f"/app/{app_id}/health").status_code == 200:
            return time.monotonic() - started
        if state and api.get(f"/v1/app/{app_id}").json()["status"]["state"] == state:
            return time.monotonic() - started
        if time.monotonic() - started > timeout:
            raise SystemExit(f"app {app_id} not {state or 'serving'} within {timeout} s")
        time.sleep(0.02)


def last_start(api: httpx.Client, app_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/_emulator/app/{app_id}/starts").json()["starts"][-1]
    return found


def push(base_url: str, app_id: str, prefix: str) -> float:
    provider = AiCachePushProvider()
    provider.configure(ConfigureRequest(Config({"ovhai:endpoint": base_url, "ovhai:token": ADMIN},
                                               PROJECT)))
    started = time.monotonic()
    provider.create({"appId": app_id, "prefix": prefix, "timeoutSeconds": 120})
    return time.monotonic() - started


def delete(api: httpx.Client, app_id: str) -> None:
    api.delete(f"/v1/app/{app_id}", params={"force": "true"}).raise_for_status()
    deadline = time.monotonic() + 30  # its GPUs back before the next variant starts
    while api.get(f"/v1/app/{app_id}").status_code != 404 and time.monotonic() < deadline:
        time.sleep(0.05)


def preseed(api: httpx.Client, base_url: str, settings: Settings, source: cache.CacheSource) -> float:
    """The alternative to a push from the GPU app: a CPU app with the same /hub downloads the
    weights and pushes them before any GPU app starts. Seconds it ran."""
    spec = app_spec(settings, source)
    spec.update(name=f"{spec['name']}-seed", resources={"flavor": "ai1-1-cpu", "cpu": 2})
    started = time.monotonic()
    response = api.post("/v1/app", json=spec)
    response.raise_for_status()
    app_id = response.json()["id"]
    wait(api, app_id, health=True)
    push(base_url, app_id, source.volume_source)
    seconds = time.monotonic() - started
    delete(api, app_id)
    return seconds


def run_variant(api: httpx.Client, base_url: str, settings: Settings,
                source: cache.CacheSource | None, *, seed: bool = False) -> Variant:
    seeded = preseed(api, base_url, settings, source) if seed and source is not None else None
    response = api.post("/v1/app", json=app_spec(settings, source))
    response.raise_for_status()
    app_id = response.json()["id"]
    first = wait(api, app_id, health=True)
    one = last_start(api, app_id)
    pushed = push(base_url, app_id, source.volume_source) if source is not None and not seed else None
    api.put(f"/v1/app/{app_id}/stop").raise_for_status()
    wait(api, app_id, state="STOPPED")
    api.put(f"/v1/app/{app_id}/start").raise_for_status()
    second = wait(api, app_id, health=True)
    two = last_start(api, app_id)
    replica, three = add_replica(api, app_id)
    delete(api, app_id)
    name = "pre-seed" if seeded is not None else "push" if source else "no cache"
    return Variant(name, seeded, first, one["hubBytes"], pushed, second, two["hubBytes"], two["storeBytes"],
                   replica, three["hubBytes"], three["storeBytes"])


def add_replica(api: httpx.Client, app_id: str) -> tuple[float, dict[str, Any]]:
    """Scale the serving app by one replica; seconds until the rollout is RUNNING (the new replica
    serves: it pulled the prefix or downloaded from the Hub first), and its start record."""
    strategy = api.get(f"/v1/app/{app_id}").json()["spec"]["scalingStrategy"]
    count = int((strategy.get("fixed") or {}).get("replicas", 1))
    started = time.monotonic()
    api.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": count + 1}}).raise_for_status()
    while api.get(f"/v1/app/{app_id}").json()["status"]["state"] != "RUNNING":
        if time.monotonic() - started > 120:
            raise SystemExit(f"app {app_id}: the new replica did not serve within 120 s")
        time.sleep(0.02)
    seconds = time.monotonic() - started
    record = last_start(api, app_id)
    if record.get("kind") != datastore.SCALE_UP:
        raise SystemExit(f"app {app_id}: no replica start recorded ({record})")
    return seconds, record


def _gb(value: float) -> str:
    return f"{value / 1e9:.1f} GB"


def report(settings: Settings, variants: list[Variant]) -> str:
    est = cache.estimate_starts(settings.model)
    gpus = settings.plan.gpus
    rate = float(settings.plan.hourly_cost)
    lines = [
        f"model {settings.model.hf_id}, {gpus} x {settings.plan.flavor}, checkpoint "
        f"{_gb(est.weights_bytes)}; emulator (fast timings, download scale "
        f"{datastore.scale(FAST):.4f}), over HTTP",
        "",
        "(GPU app: 1st and 2nd start; push: AiCachePush from the GPU app after its 1st start;",
        " pre-seed: a CPU app downloads and pushes before the GPU app is created)",
        f"{'variant':10} {'CPU seed s':>10} {'1st start s':>11} {'1st Hub':>9} {'push s':>7} "
        f"{'2nd start s':>11} {'2nd Hub':>8} {'2nd bucket':>10}",
    ]
    for v in variants:
        pushed = f"{v.push_seconds:7.2f}" if v.push_seconds is not None else f"{'-':>7}"
        seeded = f"{v.seed_cpu_seconds:10.2f}" if v.seed_cpu_seconds is not None else f"{'-':>10}"
        second = f"{v.second_seconds:11.2f} {_gb(v.second_hub_bytes):>8} {_gb(v.second_bucket_bytes):>10}"
        lines.append(f"{v.name:10} {seeded} {v.first_seconds:11.2f} {_gb(v.first_hub_bytes):>9} {pushed} "
                     f"{second}")
    lines += ["", "(new replica: the serving app scaled by one replica, until the rollout is RUNNING and",
              " the new replica serves; the others serve meanwhile)",
              f"{'variant':10} {'new replica s':>13} {'its Hub':>8} {'its bucket':>10}"]
    for v in variants:
        lines.append(f"{v.name:10} {v.replica_seconds:13.2f} {_gb(v.replica_hub_bytes):>8} "
                     f"{_gb(v.replica_bucket_bytes):>10}")
    mb = {name: value / 1e6 for name, value in (("hub", cache.HUB_BYTES_PER_SECOND),
          ("pull", cache.BUCKET_PULL_BYTES_PER_SECOND), ("push", cache.BUCKET_PUSH_BYTES_PER_SECOND))}
    currency = settings.plan.currency
    hub_cost = est.first_start / 3600 * rate
    bucket_cost = est.later_start / 3600 * rate
    lines += [
        "",
        f"Real cloud, estimates (components/cache.py: Hub {mb['hub']:.0f} MB/s, bucket pull "
        f"{mb['pull']:.0f} MB/s, push {mb['push']:.0f} MB/s; load {est.load_seconds:.0f} s):",
        f"  start from the Hub:    {est.hub_seconds:6.0f} s download + {est.load_seconds:.0f} s load = "
        f"{est.first_start / 60:5.1f} min, {_gb(est.weights_bytes)} from the Hub, about {hub_cost:.2f} "
        f"{currency} of GPU time",
        f"  start from the bucket: {est.bucket_seconds:6.0f} s pull     + {est.load_seconds:.0f} s load = "
        f"{est.later_start / 60:5.1f} min, 0 GB from the Hub, about {bucket_cost:.2f} {currency}",
        f"  push after the first start: {est.push_seconds:.0f} s while serving (no GPU time added)",
        f"  pre-seed instead: a CPU app for {(est.hub_seconds + est.push_seconds) / 60:.1f} min saves the "
        f"first GPU start {(est.first_start - est.later_start) / 60:.1f} min of {gpus} GPUs "
        f"(about {hub_cost - bucket_cost:.2f} {currency}), once per model and region",
        f"  saved per later start: {(est.first_start - est.later_start) / 60:.1f} min of "
        f"{gpus} GPUs, {_gb(est.weights_bytes)} of Hub traffic",
        f"  a new replica (scale-up, rolling update, wake from zero): {est.first_start / 60:.1f} min "
        f"from the Hub, {est.later_start / 60:.1f} min from the bucket (each new replica fetches its "
        f"own copy; the requests it should take wait or go to the others meanwhile)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", type=Path, help="also write the figures as JSON")
    args = parser.parse_args(argv)
    settings = seed_settings()
    with start_emulator(admin_token=ADMIN) as emu, httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    ) as api:
        api.post("/_emulator/datastore", json={"hubDownloads": True}).raise_for_status()
        source = gra_source(settings)
        variants = [run_variant(api, emu.base_url, settings, None),
                    run_variant(api, emu.base_url, settings, source)]
        # The pre-seed needs an empty prefix: the same bucket, another container name.
        seeded = cache.CacheSource(f"{source.bucket}-seeded", source.region, source.alias, source.prefix,
                                   source.s3_endpoint)
        variants.append(run_variant(api, emu.base_url, settings, seeded, seed=True))
    print(report(settings, variants))
    if args.json:
        args.json.write_text(json.dumps([asdict(v) for v in variants], indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
