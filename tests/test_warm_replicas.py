"""New replicas pay for their weights too: scaling, rolling updates (issue 12, `warm` follow-up).

Over HTTP: a fresh emulator process on a free loopback port with its download model on (scale
0.01, the model size set by the `emulator/model-bytes` label: a Hub download lasts 4 s here, a
pull from the bucket 0.4 s). A scale-up of a fixed-replica app, a rolling update (a new image):
each new replica pulls the pushed prefix or downloads from the Hub, the rollout's SCALING lasts
until it serves, the app keeps answering meanwhile, and `GET /_emulator/app/{id}/starts` records
the replica start. The autoscaler's own scale-up goes through the same hook: driven as a plain
function (backend.autoscale with a metric text) so that the test needs no load generator.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from components import cache
from emulator import backend, datastore
from emulator.auth import OPERATOR, Principal
from emulator.runner import start_emulator
from emulator.store import Store
from emulator.timings import FAST

ADMIN = "warm-replicas-admin-3f9a"
SCALE = 0.01
MODEL_BYTES = 20e9
HUB_S = MODEL_BYTES / cache.HUB_BYTES_PER_SECOND * SCALE  # 4 s
PULL_S = MODEL_BYTES / cache.BUCKET_PULL_BYTES_PER_SECOND * SCALE  # 0.4 s


@pytest.fixture(scope="module")
def api() -> Iterator[httpx.Client]:
    with start_emulator(admin_token=ADMIN) as emu, httpx.Client(
        base_url=emu.base_url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
    ) as c:
        assert c.post("/_emulator/datastore", json={"hubDownloads": True, "scale": SCALE}).status_code == 200
        yield c


def spec(prefix: str | None, replicas: int = 1) -> dict[str, Any]:
    volume: dict[str, Any] = {"mountPath": "/hub", "permission": "RW", "volumeSource": {"standalone": {}}}
    if prefix is not None:
        volume = {"mountPath": "/hub", "permission": "RW", "cache": True, "volumeSource": {
            "dataStore": {"alias": "S3GRA", "container": "vllm-model-cache-gra", "prefix": prefix}}}
    return {
        "name": "replicas-" + uuid.uuid4().hex[:6],
        "image": "vllm/vllm-openai:v0.11.0",
        "command": ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "org/model-20B"],
        "defaultHttpPort": 8000,
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
        "labels": {"emulator/startup-seconds": "0.3", datastore.MODEL_BYTES_LABEL: str(MODEL_BYTES)},
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "scalingStrategy": {"fixed": {"replicas": replicas}},
        "volumes": [volume],
        "unsecureHttp": True,
    }


def state(api: httpx.Client, app_id: str) -> str:
    value: str = api.get(f"/v1/app/{app_id}").json()["status"]["state"]
    return value


def serving_app(api: httpx.Client, prefix: str | None, *, pushed: bool) -> str:
    """An app serving (its first start's download done), its /hub pushed when asked."""
    response = api.post("/v1/app", json=spec(prefix))
    assert response.status_code == 200, response.text
    app_id: str = response.json()["id"]
    deadline = time.monotonic() + 30
    while api.get(f"/app/{app_id}/health").status_code != 200:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    if pushed:
        sync = api.post(f"/v1/app/{app_id}/datasync", json={"direction": "push"}).json()
        while next(s for s in api.get(f"/v1/app/{app_id}").json()["status"]["dataSync"]
                   if s["id"] == sync["id"])["status"]["state"] != "DONE":
            assert time.monotonic() < deadline
            time.sleep(0.05)
    return app_id


def until_running(api: httpx.Client, app_id: str) -> tuple[float, bool]:
    """Seconds until the rollout is RUNNING again, and whether /health answered 200 throughout."""
    started, served = time.monotonic(), True
    while state(api, app_id) != "RUNNING":
        served = served and api.get(f"/app/{app_id}/health").status_code == 200
        assert time.monotonic() - started < 30
        time.sleep(0.05)
    return time.monotonic() - started, served


def last_start(api: httpx.Client, app_id: str) -> dict[str, Any]:
    found: dict[str, Any] = api.get(f"/_emulator/app/{app_id}/starts").json()["starts"][-1]
    return found


def test_a_new_replica_pulls_the_pushed_prefix(api: httpx.Client) -> None:
    app_id = serving_app(api, f"models/{uuid.uuid4().hex[:8]}", pushed=True)
    assert api.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": 2}}).status_code == 204
    seconds, served = until_running(api, app_id)
    start = last_start(api, app_id)
    assert start["kind"] == datastore.SCALE_UP and start["replicas"] == 1
    assert start["hubBytes"] == 0 and start["storeBytes"] == MODEL_BYTES
    assert start["pullSeconds"] == pytest.approx(PULL_S) and start["downloadSeconds"] == 0
    assert served and PULL_S <= seconds < HUB_S
    assert api.get(f"/v1/app/{app_id}").json()["status"]["availableReplicas"] == 2


def test_a_new_replica_without_the_cache_downloads_from_the_hub(api: httpx.Client) -> None:
    app_id = serving_app(api, None, pushed=False)
    assert api.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": 2}}).status_code == 204
    seconds, served = until_running(api, app_id)
    start = last_start(api, app_id)
    assert start["kind"] == datastore.SCALE_UP and start["hubBytes"] == MODEL_BYTES
    assert start["downloadSeconds"] == pytest.approx(HUB_S)
    assert served and seconds >= HUB_S
    # A scale-down starts nothing.
    count = len(api.get(f"/_emulator/app/{app_id}/starts").json()["starts"])
    assert api.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": 1}}).status_code == 204
    until_running(api, app_id)
    assert len(api.get(f"/_emulator/app/{app_id}/starts").json()["starts"]) == count


def test_a_rolling_update_starts_every_replica_from_the_bucket(api: httpx.Client) -> None:
    app_id = serving_app(api, f"models/{uuid.uuid4().hex[:8]}", pushed=True)
    assert api.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": 2}}).status_code == 204
    until_running(api, app_id)
    response = api.put(f"/v1/app/{app_id}/image", json={"url": "vllm/vllm-openai:v0.11.1"})
    assert response.status_code == 200, response.text
    _, served = until_running(api, app_id)
    start = last_start(api, app_id)
    assert start["kind"] == datastore.ROLLING_UPDATE and start["replicas"] == 2 and start["hubBytes"] == 0
    assert served
    # A PUT of the spec (an env var) rolls the same way.
    body = {"envVars": [{"name": "HF_HOME", "value": "/hub"}, {"name": "X", "value": "1"}]}
    assert api.put(f"/v1/app/{app_id}", json=body).status_code == 200
    until_running(api, app_id)
    assert last_start(api, app_id)["kind"] == datastore.ROLLING_UPDATE


def test_the_autoscalers_scale_up_downloads_per_new_replica() -> None:
    rules = backend.Rules(Store(None), timings=FAST)
    rules.store.datastore[datastore.CONFIG_KEY] = {"hubDownloads": True, "scale": SCALE}
    body = spec(None)
    body["scalingStrategy"] = {"automatic": {
        "replicasMin": 1, "replicasMax": 3, "scaleUpStabilizationWindowSeconds": 0,
        "customMetrics": {"apiUrl": "http://<SELF>:8000/metrics", "format": "PROMETHEUS",
                          "valueLocation": "vllm:num_requests_running", "targetValue": 2,
                          "aggregationType": "AVERAGE"}}}
    now = time.time()
    app = backend.create_app(rules, Principal("admin", OPERATOR, is_admin=True), body, now)
    later = now + 60
    backend.autoscale(rules, app, "vllm:num_requests_running 6\n", later)
    start = app["cacheStarts"][-1]
    assert start["kind"] == datastore.SCALE_UP and start["replicas"] == 2
    assert start["hubBytes"] == 2 * MODEL_BYTES
    running = [e for e in app["schedule"] if e["at"] > later]
    assert running[-1]["state"] == "RUNNING"
    assert running[-1]["at"] == pytest.approx(later + FAST.rescaling + HUB_S)
    # The first start's gate is not moved: the app serves from its first replica meanwhile.
    assert datastore.serving_after(app) == app["cacheStarts"][0]["servingAt"]


def test_the_emulator_and_the_bench_see_the_same_kinds(api: httpx.Client) -> None:
    """A create records a `start` (the kind the cold-start bench reads)."""
    app_id = serving_app(api, None, pushed=False)
    assert last_start(api, app_id)["kind"] == datastore.START
