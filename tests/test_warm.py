"""The readiness deadline follows where the weights come from (issue 12, the `warm` follow-up).

Pure: `readiness.choose_deadline` (the evidence rules), the validation of `readiness.fromBucket`,
the settings' bucket figure and the preview report. Over HTTP: the real `python -m pulumi.dynamic`
process (tests/provider_harness.py) against a fresh emulator on a free loopback port, nothing
mocked: a first start of a fresh prefix runs under the Hub deadline (and takes longer than the
bucket one), the push, then a replacement on the pushed prefix runs under the bucket deadline
(and a slow one fails naming `readiness.fromBucket.timeoutSeconds`).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from components import cache, catalog
from components.resources import AiAppProvider
from components.resources.datasync import AiCachePushProvider
from components.resources.readiness import choose_deadline, datastore_source
from components.resources.validation import check_app
from components.settings.rules_lifecycle import bucket_readiness
from emulator import datastore
from emulator.runner import RunningEmulator, start_emulator
from tests.provider_harness import ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "warm-admin-token-7c1d2e"
SCALE = 0.01
MODEL = "org/model-20B"
MODEL_BYTES = 40e9  # Hub 800 s -> 8 s here; bucket pull 80 s -> 0.8 s; push 200 s -> 2 s
HUB_DEADLINE, BUCKET_DEADLINE = 60.0, 6.0
ALIAS, BUCKET = "S3GRA", "vllm-model-cache-gra"


def hub_volume(prefix: str) -> dict[str, Any]:
    return {"mountPath": "/hub", "permission": "RW", "cache": True, "volumeSource": {
        "dataStore": {"alias": ALIAS, "container": BUCKET, "prefix": prefix}}}


def spec_of(prefix: str, name: str = "", startup: str = "0.3", model: str = MODEL) -> dict[str, Any]:
    return {
        "name": name or "warm-" + uuid.uuid4().hex[:6],
        "image": "vllm/vllm-openai:v0.11.0",
        "command": ["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", model],
        "defaultHttpPort": 8000,
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
        "labels": {"emulator/startup-seconds": startup, datastore.MODEL_BYTES_LABEL: str(MODEL_BYTES)},
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "volumes": [hub_volume(prefix)],
        "unsecureHttp": True,
    }


READINESS = {"path": "/health", "timeoutSeconds": HUB_DEADLINE,
             "fromBucket": {"timeoutSeconds": BUCKET_DEADLINE, "mountPath": "/hub", "model": MODEL}}


def pushed(sync_id: str = "s1", state: str = "DONE") -> list[dict[str, Any]]:
    return [{"id": sync_id, "spec": {"direction": "push", "manual": True}, "status": {"state": state}}]


# ------------------------------------------------------------------------------------- pure


def test_a_fresh_prefix_keeps_the_hub_deadline() -> None:
    spec = spec_of("models/a")
    deadline = choose_deadline(READINESS, spec, [("app-1", spec, [])])
    assert (deadline.seconds, deadline.source) == (HUB_DEADLINE, "hub")
    assert "no push of vllm-model-cache-gra/models/a is DONE" in deadline.describe()


def test_a_done_push_of_the_same_prefix_and_model_gives_the_bucket_deadline() -> None:
    spec = spec_of("models/a")
    deadline = choose_deadline(READINESS, spec, [("new", spec, []), ("old", spec_of("models/a"), pushed())])
    assert (deadline.seconds, deadline.source) == (BUCKET_DEADLINE, "bucket")
    assert "app old pushed" in deadline.reason and "s1 DONE" in deadline.reason


@pytest.mark.parametrize("other, syncs", [
    (spec_of("models/b"), pushed()),  # another prefix
    (spec_of("models/a", model="org/other-20B"), pushed()),  # the same prefix, another model
    (spec_of("models/a"), pushed(state="FAILED")),  # a failed push
    (spec_of("models/a"), pushed(state="RUNNING")),  # a push not finished
    (spec_of("models/a"), [{"id": "p", "spec": {"direction": "pull"}, "status": {"state": "DONE"}}]),
])
def test_no_evidence_falls_back_to_the_hub_deadline(
    other: dict[str, Any], syncs: list[dict[str, Any]],
) -> None:
    deadline = choose_deadline(READINESS, spec_of("models/a"), [("old", other, syncs)])
    assert (deadline.seconds, deadline.source) == (HUB_DEADLINE, "hub")


def test_without_from_bucket_or_a_datastore_volume_the_hub_deadline() -> None:
    plain = {"path": "/health", "timeoutSeconds": 90}
    assert choose_deadline(plain, spec_of("models/a"), []).seconds == 90
    standalone = {**spec_of("models/a"),
                  "volumes": [{"mountPath": "/hub", "volumeSource": {"standalone": {}}}]}
    assert datastore_source(standalone, "/hub") is None
    assert choose_deadline(READINESS, standalone, [("x", spec_of("models/a"), pushed())]).source == "hub"


def test_the_bucket_deadline_is_never_longer_than_the_hubs() -> None:
    short_hub = {**READINESS, "timeoutSeconds": 4.0}
    spec = spec_of("models/a")
    assert choose_deadline(short_hub, spec, [("old", spec, pushed())]).seconds == 4.0


def test_from_bucket_is_validated_at_check() -> None:
    def failures(bucket: Any) -> list[str]:
        props = {"spec": spec_of("models/a"), "deploymentKey": "k",
                 "readiness": {"path": "/health", "timeoutSeconds": 60, "fromBucket": bucket}}
        return [path for path, _ in check_app(props)[1]]

    assert failures({"timeoutSeconds": 30, "mountPath": "/hub", "model": MODEL}) == []
    assert failures({"timeoutSeconds": 0}) == ["readiness.fromBucket.timeoutSeconds"]
    assert failures({"timeoutSeconds": 90}) == ["readiness.fromBucket.timeoutSeconds"]  # > the Hub's
    assert failures({"timeoutSeconds": 30, "mountPath": "hub"}) == ["readiness.fromBucket.mountPath"]
    assert failures({"timeoutSeconds": 30, "ttl": 1}) == ["readiness.fromBucket"]
    assert failures("soon") == ["readiness.fromBucket"]


def test_the_settings_bucket_figure_is_the_estimate_with_a_margin() -> None:
    model = catalog.resolve_model("mistralai/Mistral-Small-24B-Instruct-2501")
    estimate = cache.estimate_starts(model)
    seconds = bucket_readiness(model, 1800)
    assert estimate.later_start * 1.5 <= seconds < estimate.first_start
    assert seconds == 720
    assert bucket_readiness(model, 300) == 300  # never longer than the Hub deadline
    assert bucket_readiness(catalog.resolve_model("mistral-7b"), 1800) == 600  # the floor


# ------------------------------------------------------------------------------------- over HTTP


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(admin_token=ADMIN) as running:
        yield running


@pytest.fixture(scope="module")
def api(emu: RunningEmulator) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=emu.base_url, headers={"Authorization": f"Bearer {ADMIN}"},
                      timeout=10) as c:
        assert c.post("/_emulator/datastore", json={"hubDownloads": True, "scale": SCALE}).status_code == 200
        yield c


@pytest.fixture(scope="module")
def proc(emu: RunningEmulator) -> Iterator[ProviderProcess]:
    with ProviderProcess.start(env={"OVHAI_ENDPOINT": "", "OVHAI_TOKEN": ""}) as process:
        process.configure({"ovhai:endpoint": emu.base_url, "ovhai:token": Secret(ADMIN),
                           "ovhai:region": "gra"})
        yield process


def app_props(key: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {"spec": spec, "secretEnv": {}, "readiness": READINESS, "deploymentKey": key,
            "keepFailedApps": False}


def checked(proc: ProviderProcess, blob: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    inputs, failures = proc.check(name, with_provider(props, blob))
    assert failures == []
    return inputs


def starts(api: httpx.Client, app_id: str) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = api.get(f"/_emulator/app/{app_id}/starts").json()["starts"]
    return found


def test_first_start_under_the_hub_deadline_then_a_replacement_under_the_buckets(
    api: httpx.Client, proc: ProviderProcess,
) -> None:
    key, prefix = "warm-" + uuid.uuid4().hex[:8], f"models/{uuid.uuid4().hex[:8]}"
    blob = provider_blob(AiAppProvider())
    # 1. A fresh prefix: the start downloads (8 s here, longer than the 6 s bucket deadline) and
    # succeeds, because the Hub deadline applies.
    began = time.monotonic()
    first_id, first = proc.create("app", checked(proc, blob, "app", app_props(key, spec_of(prefix))))
    first_seconds = time.monotonic() - began
    assert first["state"] == "RUNNING" and first_seconds > BUCKET_DEADLINE
    assert starts(api, first_id)[-1]["hubBytes"] == MODEL_BYTES
    assert "a start from the Hugging Face Hub: no push of" in proc.stderr()

    # 2. The AiCachePush, through the same provider process.
    push_blob = provider_blob(AiCachePushProvider())
    push_props = {"appId": first_id, "prefix": f"{BUCKET}@{ALIAS}/{prefix}", "timeoutSeconds": 30}
    inputs, failures = proc.check("push", with_provider(push_props, push_blob))
    assert failures == []
    assert proc.create("push", inputs)[1]["state"] == "DONE"

    # 3. A replacement (a new name: created before the old app is deleted) on the pushed prefix:
    # the old app's DONE push is the evidence, the bucket deadline applies and is met.
    began = time.monotonic()
    second_id, second = proc.create("app", checked(proc, blob, "app", app_props(key, spec_of(prefix))))
    assert second["state"] == "RUNNING" and time.monotonic() - began < BUCKET_DEADLINE
    assert starts(api, second_id)[-1]["hubBytes"] == 0
    assert f"a start from the bucket: app {first_id} pushed" in proc.stderr()

    # 4. The bucket deadline is a real deadline: a replacement that starts slower fails under it,
    # and the error names the input and what to do.
    slow = app_props(key, spec_of(prefix, startup=str(BUCKET_DEADLINE + 4)))
    with pytest.raises(Exception) as failed:
        proc.create("app", checked(proc, blob, "app", slow))
    text = str(failed.value)
    assert f"readiness.fromBucket.timeoutSeconds={BUCKET_DEADLINE:g}" in text
    assert "raise it to readiness.timeoutSeconds" in text
    assert ADMIN not in proc.stderr()


def test_an_update_of_a_pushed_app_runs_under_the_bucket_deadline(
    api: httpx.Client, proc: ProviderProcess,
) -> None:
    """The same app, a new image: a rolling update whose replicas pull the pushed prefix; its own
    `status.dataSync` is the evidence."""
    key, prefix = "warm-" + uuid.uuid4().hex[:8], f"models/{uuid.uuid4().hex[:8]}"
    blob = provider_blob(AiAppProvider())
    props = app_props(key, spec_of(prefix))
    app_id, outs = proc.create("app", checked(proc, blob, "app", props))
    assert api.post(f"/v1/app/{app_id}/datasync", json={"direction": "push"}).status_code == 200
    deadline = time.monotonic() + 20
    while "DONE" not in str(api.get(f"/v1/app/{app_id}").json()["status"].get("dataSync")):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    same = spec_of(prefix, name=props["spec"]["name"])
    newer = app_props(key, {**same, "image": "vllm/vllm-openai:v0.11.1"})
    news = checked(proc, blob, "app", newer)
    assert proc.diff("app", app_id, outs, news).replaces == []
    updated = proc.update("app", app_id, outs, news)
    assert updated["state"] == "RUNNING"
    start = starts(api, app_id)[-1]
    assert start["kind"] == datastore.ROLLING_UPDATE and start["hubBytes"] == 0
    assert f"a start from the bucket: app {app_id} pushed" in proc.stderr()


def test_the_preview_report_and_the_apps_readiness_carry_both_deadlines() -> None:
    from components.deployment import build_launch, planner_report, readiness
    from components.settings import load_settings

    base = {"model": "mistral-small-24b", "gpuFlavor": "l40s-1-gpu", "gpuCount": "2", "dtype": "half"}
    cached = load_settings({**base, "cacheStack": "organization/platform/gra"}, stack="x-dev",
                           environ={"HF_TOKEN": "hf_x"})
    report = planner_report(cached)
    assert (f"readiness deadline {cached.readiness_timeout_seconds} s for a start from the Hub" in report
            and "720 s for a start from the bucket" in report and "(estimates)" in report)
    wait = readiness(cached, build_launch(cached))
    assert wait["fromBucket"] == {"timeoutSeconds": 720, "mountPath": "/hub",
                                  "model": "mistralai/Mistral-Small-24B-Instruct-2501"}
    plain = load_settings(base, stack="x-dev", environ={"HF_TOKEN": "hf_x"})
    assert "fromBucket" not in readiness(plain, build_launch(plain))
    assert "covers a start from the Hub" in planner_report(plain)
