"""AiApp and AiToken through the real dynamic-provider process, driven the way the engine drives it.

One emulator and one `python -m pulumi.dynamic` process for the module; each test uses its own
deployment key so that counting apps by label is exact. Every response and the provider's stderr
are kept, and the last test asserts that no secret ever appeared in any of them.
"""

from __future__ import annotations

import base64
import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from components.resources import AiAppProvider, AiTokenProvider
from components.resources.spec_diff import DEPLOYMENT_LABEL
from emulator.runner import RunningEmulator
from tests.provider_harness import (
    EmulatorControl,
    ProviderProcess,
    Secret,
    provider_blob,
    with_provider,
)

ADMIN = "proc-admin-token-5f2b9c0e7d"
HF = "hf_processSecretValue_9876543210"
SEEN: list[Any] = []  # every output and error of the provider, for the leak check


@pytest.fixture(scope="module")
def admin_token() -> str:
    """This module's emulator (`emu`, `control` in conftest) runs with ADMIN."""
    return ADMIN


@pytest.fixture(scope="module")
def proc(emu: RunningEmulator) -> Iterator[ProviderProcess]:
    # No OVHAI_* in the environment: the credentials must come through Configure, as from a stack.
    env = {"OVHAI_ENDPOINT": "", "OVHAI_TOKEN": ""}
    with ProviderProcess.start(env=env) as process:
        process.configure(
            {"ovhai:endpoint": emu.base_url, "ovhai:token": Secret(ADMIN), "ovhai:region": "gra"}
        )
        yield process


@pytest.fixture(scope="module")
def app_blob() -> str:
    return provider_blob(AiAppProvider())


def seed(key: str, **spec: Any) -> dict[str, Any]:
    """The seed's deployment (see API.md), with the emulator's start-up and a unique key."""
    base = {
        "name": f"techlab-ai-vllm-{key}",
        "image": "vllm/vllm-openai:latest",
        "command": ["bash", "-c", "python3 -m vllm.entrypoints.openai.api_server --tensor-parallel-size 2"],
        "defaultHttpPort": 8000,
        "labels": {"techlab/vllm": "mistral"},
        "resources": {"flavor": "l40s-1-gpu", "gpu": 2},
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
        "volumes": [
            {"mountPath": "/hub", "permission": "RW", "volumeSource": {"standalone": {}}},
            {"mountPath": "/workspace", "permission": "RW", "volumeSource": {"standalone": {}}},
        ],
    }
    return {
        "spec": {**base, **spec},
        "secretEnv": {"HF_TOKEN": HF},
        "readiness": {"path": "/health", "timeoutSeconds": 60},
        "deploymentKey": key,
    }


def cpu_app(key: str, **spec: Any) -> dict[str, Any]:
    props = seed(key, resources={"flavor": "ai1-1-cpu", "cpu": 1}, **spec)
    props["spec"].pop("volumes")
    return props


def checked(proc: ProviderProcess, blob: str, name: str, props: dict[str, Any]) -> dict[str, Any]:
    # Checked inputs carry the secret (Create needs it); the engine keeps them secret because the
    # program's input was. Only outputs and errors go to SEEN.
    inputs, failures = proc.check(name, with_provider(props, blob))
    assert failures == []
    return inputs


def create(proc: ProviderProcess, blob: str, name: str, props: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    id_, outs = proc.create(name, checked(proc, blob, name, props))
    SEEN.append(outs)
    return id_, outs


def key() -> str:
    return "k" + uuid.uuid4().hex[:10]


def test_replace_creates_the_successor_before_the_old_app_goes(
    proc: ProviderProcess, app_blob: str, control: EmulatorControl
) -> None:
    # The engine's create-before-delete replacement: Create with the new inputs while the old app
    # still runs (and still carries the deployment label), then Delete of the old id.
    name, k = "renamed", key()
    old_id, old_outs = create(proc, app_blob, name, cpu_app(k))
    renamed = checked(proc, app_blob, name, cpu_app(k, name=f"renamed-{k}"))
    assert proc.diff(name, old_id, old_outs, renamed).replaces == ["spec.name"]
    new_id, new_outs = proc.create(name, renamed)
    SEEN.append(new_outs)
    assert new_id != old_id and new_outs["state"] == "RUNNING"
    states = {a["id"]: a["status"]["state"] for a in control.apps(f"{DEPLOYMENT_LABEL}={k}")}
    assert states == {old_id: "RUNNING", new_id: "RUNNING"}  # the old one served until now
    assert "left alone (the app being replaced" in proc.stderr()
    proc.delete(name, old_id, old_outs)
    assert [a["id"] for a in control.apps(f"{DEPLOYMENT_LABEL}={k}")] == [new_id]
    proc.delete(name, new_id, new_outs)


def test_seed_deployment_lifecycle(proc: ProviderProcess, app_blob: str, control: EmulatorControl) -> None:
    name, k = "mistral-small", key()
    inputs = checked(proc, app_blob, name, seed(k))
    assert inputs["spec"]["resources"]["gpu"] == 2  # floats from the wire came back as ints
    id_, outs = proc.create(name, inputs)
    SEEN.append(outs)
    assert id_ and outs["appId"] == id_ and outs["state"] == "RUNNING"
    assert outs["url"].endswith(f"/app/{id_}") and outs["availableReplicas"] == 1
    assert outs["secretEnv"]["HF_TOKEN"].startswith("hmac-sha256:")
    assert [a["id"] for a in control.apps(f"{DEPLOYMENT_LABEL}={k}")] == [id_]

    # No change: none. Image: update in place. Name: replace.
    assert proc.diff(name, id_, outs, inputs).kind == "none"
    new_image = checked(proc, app_blob, name, seed(k, image="vllm/vllm-openai:v0.9.2"))
    assert proc.diff(name, id_, outs, new_image).kind == "update"
    renamed = checked(proc, app_blob, name, seed(k, name="renamed-app"))
    answer = proc.diff(name, id_, outs, renamed)
    assert answer.kind == "replace" and answer.replaces == ["spec.name"]

    outs = proc.update(name, id_, outs, new_image)
    SEEN.append(outs)
    assert outs["spec"]["image"] == "vllm/vllm-openai:v0.9.2" and outs["state"] == "RUNNING"
    live = control.apps(f"{DEPLOYMENT_LABEL}={k}")[0]
    assert live["spec"]["image"] == "vllm/vllm-openai:v0.9.2"
    assert {"name": "HF_TOKEN", "value": HF} in live["spec"]["envVars"]  # the secret reached the app

    # Refresh: no drift; then an out-of-band stop is drift; an out-of-band delete drops the app.
    read_id, read_outs, _ = proc.read(name, id_, outs, new_image)
    SEEN.append(read_outs)
    assert read_id == id_ and proc.diff(name, id_, read_outs, new_image).kind == "none"
    control.stop_app(id_)
    _, stopped, _ = proc.read(name, id_, outs, new_image)
    assert stopped["state"] in ("STOPPING", "STOPPED")
    control.delete_app(id_)
    gone_id, gone, _ = proc.read(name, id_, outs, new_image)
    assert gone_id == "" and set(gone) <= {"__provider"}
    proc.delete(name, id_, outs)  # deleting what is gone succeeds


def test_dropped_create_response_adopts_on_retry(
    proc: ProviderProcess, app_blob: str, control: EmulatorControl
) -> None:
    k = key()
    control.faults([{"drop": True}], method="POST", path_prefix="/v1/app")
    id_, outs = create(proc, app_blob, "dropped", cpu_app(k))
    apps = control.apps(f"{DEPLOYMENT_LABEL}={k}")
    assert [a["id"] for a in apps] == [id_] and outs["state"] == "RUNNING"
    # A retried `pulumi up` (the create sent again) adopts the same app instead of making a second one.
    again_id, _ = create(proc, app_blob, "dropped", cpu_app(k))
    assert again_id == id_ and len(control.apps(f"{DEPLOYMENT_LABEL}={k}")) == 1
    proc.delete("dropped", id_, outs)
    assert control.apps(f"{DEPLOYMENT_LABEL}={k}") == []


def test_failed_create_leaves_no_app(proc: ProviderProcess, app_blob: str, control: EmulatorControl) -> None:
    k = key()
    with pytest.raises(grpc.RpcError) as caught:
        create(proc, app_blob, "broken", cpu_app(k, image="vllm/vllm-openai:emulator-fail"))
    details = caught.value.details()
    SEEN.append(details)
    assert "FAILED" in details and "CUDA out of memory" in details and "log lines" in details
    assert control.apps(f"{DEPLOYMENT_LABEL}={k}") == []


def test_four_creates_at_once_take_about_one_start_up(
    proc: ProviderProcess, app_blob: str, control: EmulatorControl
) -> None:
    startup = {"labels": {"techlab/vllm": "mistral", "emulator/startup-seconds": "3"}}
    started = time.monotonic()
    id_, outs = create(proc, app_blob, "solo", cpu_app(key(), **startup))
    single = time.monotonic() - started
    proc.delete("solo", id_, outs)

    props = [checked(proc, app_blob, f"par{i}", cpu_app(key(), **startup)) for i in range(4)]
    results: list[tuple[str, dict[str, Any]]] = []
    errors: list[BaseException] = []

    def run(i: int) -> None:
        try:
            results.append(proc.create(f"par{i}", props[i]))
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(4)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    together = time.monotonic() - started
    assert not errors, errors
    assert len({r[0] for r in results}) == 4
    assert together < 2 * single, (together, single)
    for i, (id_, outs) in enumerate(results):
        SEEN.append(outs)
        proc.delete(f"par{i}", id_, outs)


def test_token_lifecycle(proc: ProviderProcess, control: EmulatorControl) -> None:
    blob = provider_blob(AiTokenProvider())
    props = {"name": "consumer", "role": "read", "labelSelector": "techlab/vllm=mistral", "rotation": "1"}
    inputs, failures = proc.check("consumer", with_provider(props, blob))
    assert failures == []
    id_, outs = proc.create("consumer", inputs)
    first = outs["value"]
    assert outs["tokenId"] == id_ and first and outs["role"] == "read"
    assert proc.diff("consumer", id_, outs, {**inputs, "rotation": "2"}).kind == "update"
    assert proc.diff("consumer", id_, outs, {**inputs, "role": "operator"}).replaces == ["role"]
    renewed = proc.update("consumer", id_, outs, {**inputs, "rotation": "2"})
    assert renewed["value"] != first and renewed["version"] > outs.get("version", 0)
    read_id, read_outs, _ = proc.read("consumer", id_, renewed)
    assert read_id == id_ and read_outs["value"] == renewed["value"]
    proc.delete("consumer", id_, renewed)
    assert proc.read("consumer", id_, renewed)[0] == ""
    stderr = proc.stderr()
    assert first not in stderr and renewed["value"] not in stderr


def test_no_secret_anywhere(proc: ProviderProcess, app_blob: str) -> None:
    raw = base64.b64decode(app_blob)
    assert len(raw) < 20_000
    stderr = proc.stderr()
    assert "techlab-ai-vllm-k" in stderr and " -> RUNNING after " in stderr  # progress is logged
    for secret in (HF, ADMIN):
        assert secret.encode() not in raw
        assert secret not in stderr
        for answer in SEEN:
            assert secret not in repr(answer)
