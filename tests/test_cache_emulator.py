"""The emulator's datastore volumes, Hub downloads and datasync push, over real HTTP (issue 12).

A fresh emulator process on a free loopback port; nothing mocked. The download model is turned on
through its control route with a scale of 0.01 (a real second lasts 10 ms) and the app's model
size set by the `emulator/model-bytes` label, so that a start from the Hub lasts 2 s here. Then
AiCachePush runs through the real dynamic-provider process against the same emulator.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from components import cache
from components.resources.datasync import AiCachePushProvider, sync_state
from emulator import datastore
from emulator.runner import RunningEmulator, start_emulator
from tests.provider_harness import ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "cache-admin-token-5e7a1c"
SCALE = 0.01
MODEL_BYTES = 10e9  # Hub 200 s -> 2 s here; bucket pull 20 s -> 0.2 s; push 50 s -> 0.5 s
COMMAND = ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", "org/model-5B"]


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(admin_token=ADMIN) as running:
        yield running


@pytest.fixture
def api(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {ADMIN}"},
                      timeout=10) as c:
        assert c.post("/_emulator/datastore", json={"hubDownloads": True, "scale": SCALE}).status_code == 200
        yield c


def hub_volume(prefix: str | None) -> dict[str, Any]:
    if prefix is None:
        return {"mountPath": "/hub", "permission": "RW", "volumeSource": {"standalone": {}}}
    return {"mountPath": "/hub", "permission": "RW", "cache": True, "volumeSource": {
        "dataStore": {"alias": "S3GRA", "container": "vllm-model-cache-gra", "prefix": prefix}}}


def create(api: httpx.Client, prefix: str | None, **labels: str) -> dict[str, Any]:
    spec = {
        "name": "cache-" + uuid.uuid4().hex[:6],
        "image": "vllm/vllm-openai:v0.11.0",
        "command": COMMAND,
        "defaultHttpPort": 8000,
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
        "labels": {"emulator/startup-seconds": "0.3", datastore.MODEL_BYTES_LABEL: str(MODEL_BYTES),
                   **labels},
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "volumes": [hub_volume(prefix)],
        "unsecureHttp": True,
    }
    response = api.post("/v1/app", json=spec)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def serve(api: httpx.Client, app_id: str, timeout: float = 15) -> float:
    """Seconds until the stand-in's /health answers 200."""
    started = time.monotonic()
    while True:
        if api.get(f"/app/{app_id}/health").status_code == 200:
            return time.monotonic() - started
        assert time.monotonic() - started < timeout, api.get(f"/app/{app_id}/health").text
        time.sleep(0.05)


def starts(api: httpx.Client, app_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(f"/_emulator/app/{app_id}/starts").json()["starts"]
    return found


def push(api: httpx.Client, app_id: str) -> dict[str, Any]:
    response = api.post(f"/v1/app/{app_id}/datasync", json={"direction": "push"})
    assert response.status_code == 200, response.text
    sync: dict[str, Any] = response.json()
    deadline = time.monotonic() + 10
    while sync_state(api.get(f"/v1/app/{app_id}").json(), sync["id"])[0] != "DONE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    return sync


def restart(api: httpx.Client, app_id: str) -> None:
    assert api.put(f"/v1/app/{app_id}/stop").status_code == 204
    deadline = time.monotonic() + 10
    while api.get(f"/v1/app/{app_id}").json()["status"]["state"] != "STOPPED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert api.put(f"/v1/app/{app_id}/start").status_code == 204


def test_the_emulators_bandwidths_are_the_projects() -> None:
    assert datastore.HUB_BYTES_PER_SECOND == cache.HUB_BYTES_PER_SECOND
    assert datastore.BUCKET_PULL_BYTES_PER_SECOND == cache.BUCKET_PULL_BYTES_PER_SECOND
    assert datastore.BUCKET_PUSH_BYTES_PER_SECOND == cache.BUCKET_PUSH_BYTES_PER_SECOND


def test_the_model_size_from_the_name_is_close_to_the_catalogs() -> None:
    from components.catalog import CATALOG
    from components.sizing import checkpoint_bytes

    for key in ("mistral-small-24b", "llama-3.1-8b", "qwen2.5-7b"):
        spec = CATALOG[key]
        guess = datastore.model_bytes({"command": ["vllm", "serve", spec.hf_id]})
        assert guess == pytest.approx(checkpoint_bytes(spec), rel=0.15), key


def test_a_start_without_the_weights_downloads_then_a_push_then_the_bucket(api: httpx.Client) -> None:
    prefix = f"models/{uuid.uuid4().hex[:8]}"
    app = create(api, prefix)
    first = serve(api, app["id"])
    (one,) = starts(api, app["id"])
    assert one["hubBytes"] == MODEL_BYTES and one["storeBytes"] == 0
    assert one["downloadSeconds"] == pytest.approx(MODEL_BYTES / cache.HUB_BYTES_PER_SECOND * SCALE)
    assert first >= one["downloadSeconds"]
    # AI Deploy does not push on its own: a restart now would download again. Push, then restart.
    sync = push(api, app["id"])
    assert sync["spec"]["direction"] == "push" and sync["status"]["state"] in ("QUEUED", "RUNNING")
    store = api.get("/_emulator/datastore").json()["store"]
    assert store[f"S3GRA|vllm-model-cache-gra|{prefix}"] == {"org/model-5B": MODEL_BYTES}
    restart(api, app["id"])
    second = serve(api, app["id"])
    two = starts(api, app["id"])[-1]
    assert two["hubBytes"] == 0 and two["storeBytes"] == MODEL_BYTES
    assert two["pullSeconds"] == pytest.approx(MODEL_BYTES / cache.BUCKET_PULL_BYTES_PER_SECOND * SCALE)
    assert second < first
    # Another app on the same prefix (a new replica, a replacement) pulls too.
    other = create(api, prefix)
    serve(api, other["id"])
    assert starts(api, other["id"])[-1]["hubBytes"] == 0


def test_a_standalone_hub_downloads_on_every_start(api: httpx.Client) -> None:
    app = create(api, None)
    serve(api, app["id"])
    restart(api, app["id"])
    serve(api, app["id"])
    assert [s["hubBytes"] for s in starts(api, app["id"])] == [MODEL_BYTES, MODEL_BYTES]
    # Nothing to push to: the sync is refused with the reason.
    response = api.post(f"/v1/app/{app['id']}/datasync", json={"direction": "push"})
    assert response.status_code == 400 and "no volume from a datastore" in response.text


def test_datasync_takes_the_schemas_body_only(api: httpx.Client) -> None:
    app = create(api, f"models/{uuid.uuid4().hex[:8]}")
    bad: list[tuple[Any, str]] = [({"direction": "up"}, "direction"), ({"direction": "push", "x": 1}, "x"),
                                  ([], "body")]
    for body, field in bad:
        response = api.post(f"/v1/app/{app['id']}/datasync", json=body)
        assert response.status_code == 400 and field in response.text, response.text


def test_the_download_model_is_off_unless_asked(emu: RunningEmulator) -> None:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {ADMIN}"}) as c:
        assert c.post("/_emulator/datastore", json={"hubDownloads": False}).status_code == 200
        app = create(c, None)
        serve(c, app["id"])
        assert starts(c, app["id"]) == []
        assert c.post("/_emulator/datastore", json={"scale": -1}).status_code == 400
        assert httpx.get(emu.base_url + "/_emulator/datastore").status_code == 401


def test_the_cache_push_resource_through_the_provider_process(
    api: httpx.Client, emu: RunningEmulator,
) -> None:
    prefix = f"models/{uuid.uuid4().hex[:8]}"
    app = create(api, prefix)
    serve(api, app["id"])
    blob = provider_blob(AiCachePushProvider())
    with ProviderProcess.start(env={"OVHAI_ENDPOINT": "", "OVHAI_TOKEN": ""}) as proc:
        proc.configure({"ovhai:endpoint": emu.base_url, "ovhai:token": Secret(ADMIN), "ovhai:region": "gra"})
        props = {"appId": app["id"], "prefix": f"vllm-model-cache-gra@S3GRA/{prefix}", "timeoutSeconds": 30}
        inputs, failures = proc.check("push", with_provider(props, blob))
        assert failures == []
        id_, outs = proc.create("push", inputs)
        assert outs["state"] == "DONE" and outs["syncId"] == id_
        assert proc.diff("push", id_, outs, inputs).kind == "none"
        assert proc.diff("push", id_, outs, {**inputs, "appId": "other"}).replaces == ["appId"]
        proc.delete("push", id_, outs)  # the pushed weights stay: the cache outlives the app
        assert "kept the pushed weights" in proc.stderr()
        assert ADMIN not in proc.stderr()
        _, refused = proc.check("push", with_provider({**props, "timeoutSeconds": 0}, blob))
        assert [f for f, _ in refused] == ["timeoutSeconds"]
    store = api.get("/_emulator/datastore").json()["store"]
    assert store[f"S3GRA|vllm-model-cache-gra|{prefix}"] == {"org/model-5B": MODEL_BYTES}


def test_the_cache_survives_an_emulator_restart(tmp_path: Path) -> None:
    state = tmp_path / "state.json"
    prefix = f"models/{uuid.uuid4().hex[:8]}"
    with start_emulator(admin_token=ADMIN, state_file=state) as first, httpx.Client(
        base_url=first.base_url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
    ) as c:
        c.post("/_emulator/datastore", json={"hubDownloads": True, "scale": SCALE}).raise_for_status()
        app = create(c, prefix)
        serve(c, app["id"])
        push(c, app["id"])
    with start_emulator(admin_token=ADMIN, state_file=state) as second, httpx.Client(
        base_url=second.base_url, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10
    ) as c:
        assert c.get("/_emulator/datastore").json()["store"][f"S3GRA|vllm-model-cache-gra|{prefix}"]
        fresh = create(c, prefix)
        serve(c, fresh["id"])
        assert starts(c, fresh["id"])[-1]["hubBytes"] == 0
