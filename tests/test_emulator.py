"""The emulator over real loopback HTTP: lifecycle, validation, quota, tokens, stand-in, faults."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from emulator.runner import RunningEmulator, start_emulator
from tests.conftest import ADMIN_TOKEN

FAST_START = {"emulator/startup-seconds": "0.3"}
CPU_RESOURCES = {"flavor": "ai1-1-cpu", "cpu": 1}
COMMAND = [
    "bash",
    "-c",
    "python3 -m vllm.entrypoints.openai.api_server --model org/base --served-model-name chat",
]


def items(response: httpx.Response) -> list[dict[str, Any]]:
    """The items of a `{items, metadata}` list answer."""
    assert response.status_code == 200, response.text
    result: list[dict[str, Any]] = response.json()["items"]
    return result


def client(emulator: RunningEmulator, token: str | None = ADMIN_TOKEN) -> httpx.Client:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    return httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10)


@pytest.fixture
def admin(emulator: RunningEmulator) -> Iterator[httpx.Client]:
    with client(emulator) as c:
        yield c


def spec(**overrides: Any) -> dict[str, Any]:
    """A CPU app (the shared emulator's GPU quota is left to other tests) that starts in 0.3 s."""
    base: dict[str, Any] = {
        "name": "t-" + uuid.uuid4().hex[:6],
        "image": "vllm/vllm-openai:latest",
        "command": COMMAND,
        "defaultHttpPort": 8000,
        "labels": {**FAST_START, "run": uuid.uuid4().hex[:10]},
        "resources": CPU_RESOURCES,
    }
    base.update(overrides)
    return base


def create(c: httpx.Client, **overrides: Any) -> dict[str, Any]:
    response = c.post("/v1/app", json=spec(**overrides))
    assert response.status_code == 200, response.text
    app: dict[str, Any] = response.json()
    return app


def wait_state(c: httpx.Client, app_id: str, want: str, timeout: float = 10) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        app: dict[str, Any] = c.get(f"/v1/app/{app_id}").json()
        if app["status"]["state"] == want:
            return app
        assert time.monotonic() < deadline, f"still {app['status']['state']}, wanted {want}"
        time.sleep(0.05)


def states(app: dict[str, Any]) -> list[str]:
    return [h["state"] for h in app["status"]["history"]]


def cleanup(c: httpx.Client, app_id: str) -> None:
    c.delete(f"/v1/app/{app_id}", params={"force": "true"})


# --- auth -----------------------------------------------------------------------------------


def test_bearer_required_and_not_echoed(emulator: RunningEmulator) -> None:
    with client(emulator, None) as anonymous:
        assert anonymous.get("/v1/app").status_code == 401
    with client(emulator, "secret-guess-123") as wrong:
        response = wrong.get("/v1/app")
        assert response.status_code == 401
        assert "secret-guess-123" not in response.text
        assert response.json()["message"]


# --- lifecycle ------------------------------------------------------------------------------


def test_create_runs_through_states_with_platform_labels(
    admin: httpx.Client, emulator: RunningEmulator
) -> None:
    labels = {**FAST_START, "ovh/id": "mine", "ovh/type": "job", "team": "a"}
    app = create(admin, labels=labels)
    app_id = app["id"]
    assert app["status"]["state"] == "QUEUED"
    assert app["spec"]["labels"] == {**FAST_START, "team": "a", "ovh/id": app_id, "ovh/type": "app"}
    assert app["status"]["url"] == f"{emulator.base_url}/app/{app_id}"
    assert app["spec"]["resources"]["cpu"] == 1 and app["spec"]["resources"]["memory"] == 4 * 1024**3
    running = wait_state(admin, app_id, "RUNNING")
    assert states(running) == ["QUEUED", "INITIALIZING", "SCALING", "RUNNING"]
    assert running["status"]["availableReplicas"] == 1
    assert running["status"]["info"]["code"] == "APP_RUNNING"
    assert running["status"]["lastTransitionDate"] == running["status"]["history"][-1]["date"]
    cleanup(admin, app_id)


def test_stop_start_and_delete(admin: httpx.Client) -> None:
    app_id = create(admin)["id"]
    wait_state(admin, app_id, "RUNNING")
    assert admin.put(f"/v1/app/{app_id}/start").status_code == 400  # already running (no 409: see backend)
    conflict = admin.delete(f"/v1/app/{app_id}")
    assert conflict.status_code == 409 and "force" in conflict.json()["message"]
    assert admin.put(f"/v1/app/{app_id}/stop").status_code == 204
    assert admin.get(f"/v1/app/{app_id}").json()["status"]["state"] == "STOPPING"
    stopped = wait_state(admin, app_id, "STOPPED")
    assert stopped["status"]["availableReplicas"] == 0
    assert admin.put(f"/v1/app/{app_id}/start").status_code == 204
    restarted = wait_state(admin, app_id, "RUNNING")
    assert states(restarted)[-6:] == ["STOPPING", "STOPPED", "QUEUED", "INITIALIZING", "SCALING", "RUNNING"]
    assert admin.delete(f"/v1/app/{app_id}", params={"force": "true"}).status_code == 204
    assert admin.get(f"/v1/app/{app_id}").json()["status"]["state"] == "DELETING"
    deadline = time.monotonic() + 5
    while admin.get(f"/v1/app/{app_id}").status_code != 404:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert app_id not in {a["id"] for a in items(admin.get("/v1/app"))}


def test_delete_stopped_app_without_force(admin: httpx.Client) -> None:
    app_id = create(admin)["id"]
    admin.put(f"/v1/app/{app_id}/stop")
    wait_state(admin, app_id, "STOPPED")
    assert admin.delete(f"/v1/app/{app_id}").status_code == 204
    assert admin.get(f"/v1/app/{app_id}").json()["status"]["state"] == "DELETING"


def test_scaling_and_image_changes_go_through_scaling(admin: httpx.Client) -> None:
    app_id = create(admin)["id"]
    wait_state(admin, app_id, "RUNNING")
    assert admin.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": 2}}).status_code == 204
    scaling = admin.get(f"/v1/app/{app_id}").json()
    assert scaling["status"]["state"] == "SCALING"
    assert scaling["spec"]["scalingStrategy"] == {"fixed": {"replicas": 2}}
    running = wait_state(admin, app_id, "RUNNING")
    assert running["status"]["availableReplicas"] == 2
    assert states(running)[-3:] == ["RUNNING", "SCALING", "RUNNING"]
    image = admin.put(f"/v1/app/{app_id}/image", json={"url": "vllm/vllm-openai:v0.9.2"})
    assert image.status_code == 200 and image.json()["message"]  # the schema's GenericResponse
    changed = admin.get(f"/v1/app/{app_id}").json()
    assert changed["status"]["state"] == "SCALING" and changed["spec"]["image"] == "vllm/vllm-openai:v0.9.2"
    wait_state(admin, app_id, "RUNNING")
    bad = admin.put(f"/v1/app/{app_id}/scalingstrategy", json={"fixed": {"replicas": 11}})
    assert bad.status_code == 400 and bad.json()["message"].startswith("scalingStrategy.fixed.replicas:")
    cleanup(admin, app_id)


def test_put_update_flat_and_wrapped(admin: httpx.Client) -> None:
    app_id = create(admin)["id"]
    wrapped = admin.put(f"/v1/app/{app_id}", json={"appUpdate": {"envVars": [{"name": "A", "value": "1"}]}})
    assert wrapped.status_code == 200 and wrapped.json()["spec"]["envVars"] == [{"name": "A", "value": "1"}]
    flat = admin.put(f"/v1/app/{app_id}", json={"defaultHttpPort": 9000, "cpu": 2})
    assert flat.status_code == 200
    assert flat.json()["spec"]["defaultHttpPort"] == 9000 and flat.json()["spec"]["resources"]["cpu"] == 2
    assert flat.json()["spec"]["labels"]["ovh/id"] == app_id
    bad = admin.put(f"/v1/app/{app_id}", json={"defaultHttpPort": 0})
    assert bad.status_code == 400 and bad.json()["message"].startswith("spec.defaultHttpPort:")
    cleanup(admin, app_id)


def test_label_route(admin: httpx.Client) -> None:
    app_id = create(admin)["id"]
    assert admin.put(f"/v1/app/{app_id}/label", json={"name": "tier", "value": "gold"}).status_code == 204
    assert admin.get(f"/v1/app/{app_id}").json()["spec"]["labels"]["tier"] == "gold"
    assert admin.put(f"/v1/app/{app_id}/label", json={"name": "tier"}).status_code == 204
    assert "tier" not in admin.get(f"/v1/app/{app_id}").json()["spec"]["labels"]
    platform = admin.put(f"/v1/app/{app_id}/label", json={"name": "ovh/id", "value": "x"})
    assert platform.status_code == 400 and platform.json()["message"].startswith("name:")
    cleanup(admin, app_id)


def test_list_filters_and_pages(admin: httpx.Client) -> None:
    run = uuid.uuid4().hex[:10]
    ids = [create(admin, labels={**FAST_START, "run": run})["id"] for _ in range(3)]
    selector = {"labelSelector": f"run={run}"}
    body = admin.get("/v1/app", params=selector).json()
    listed = body["items"]
    assert sorted(a["id"] for a in listed) == sorted(ids)
    assert body["metadata"] == {"currentPage": 1, "pageCount": 1, "total": 3, "links": {}}
    page_one = admin.get("/v1/app", params={**selector, "page": 1, "size": 2}).json()
    assert page_one["metadata"]["pageCount"] == 2 and page_one["metadata"]["links"]["next"].endswith(
        "page=2&size=2"
    )
    first = page_one["items"]
    second = items(admin.get("/v1/app", params={**selector, "page": 2, "size": 2}))
    assert len(first) == 2 and len(second) == 1
    assert {a["id"] for a in first + second} == set(ids)
    admin.put(f"/v1/app/{ids[0]}/stop")
    wait_state(admin, ids[0], "STOPPED")
    stopped = items(admin.get("/v1/app", params={**selector, "statusState": "STOPPED"}))
    assert [a["id"] for a in stopped] == [ids[0]]
    assert admin.get("/v1/app", params={"statusState": "NAPPING"}).status_code == 400
    for app_id in ids:
        cleanup(admin, app_id)


def test_failure_marker_ends_failed_with_info_and_logs(admin: httpx.Client) -> None:
    app_id = create(admin, image="example/emulator-fail:1")["id"]
    failed = wait_state(admin, app_id, "FAILED")
    assert states(failed) == ["QUEUED", "INITIALIZING", "FAILED"]
    assert failed["status"]["info"]["code"] == "APP_FAILED" and "CUDA" in failed["status"]["info"]["message"]
    log = admin.get(f"/v1/app/{app_id}/log")
    assert log.headers["content-type"].startswith("text/plain")
    assert "Engine core initialization failed" in log.text.splitlines()[-2]
    assert admin.put(f"/v1/app/{app_id}/start").status_code == 204  # FAILED can be started again
    assert admin.get(f"/v1/app/{app_id}").json()["status"]["state"] == "QUEUED"
    cleanup(admin, app_id)


def test_log_lines_look_like_vllm(admin: httpx.Client) -> None:
    app_id = create(admin)["id"]
    wait_state(admin, app_id, "RUNNING")
    text = admin.get(f"/v1/app/{app_id}/log").text
    for needle in (
        "Starting vLLM API server",
        "GPU KV cache size:",
        "Uvicorn running on http://0.0.0.0:8000",
    ):
        assert needle in text
    tail = admin.get(f"/v1/app/{app_id}/log", params={"tail": 1}).text
    assert tail.startswith("INFO:     Uvicorn running") and tail.count("\n") == 1
    cleanup(admin, app_id)


# --- validation -----------------------------------------------------------------------------

GPU = {"flavor": "l40s-1-gpu", "gpu": 1}
INVALID_SPECS: list[tuple[str, dict[str, Any], str]] = [
    ("missing image", {"image": None}, "spec.image:"),
    ("unknown flavor", {"resources": {"flavor": "z9-1-gpu", "gpu": 1}}, "spec.resources.flavor:"),
    ("too many gpus", {"resources": {"flavor": "a100-1-gpu", "gpu": 3}}, "spec.resources.gpu:"),
    ("cpu on a gpu flavor", {"resources": {"flavor": "l40s-1-gpu", "cpu": 4}}, "spec.resources.cpu:"),
    ("gpu on the cpu flavor", {"resources": {"flavor": "ai1-1-cpu", "gpu": 1}}, "spec.resources.gpu:"),
    (
        "both scalings",
        {"scalingStrategy": {"fixed": {"replicas": 1}, "automatic": {}}},
        "spec.scalingStrategy:",
    ),
    ("replicas 0", {"scalingStrategy": {"fixed": {"replicas": 0}}}, "spec.scalingStrategy.fixed.replicas:"),
    ("replicas 11", {"scalingStrategy": {"fixed": {"replicas": 11}}}, "spec.scalingStrategy.fixed.replicas:"),
    (
        "replicasMax 11",
        {"scalingStrategy": {"automatic": {"replicasMin": 0, "replicasMax": 11}}},
        "spec.scalingStrategy.automatic.replicasMax:",
    ),
    (
        "usage target 0",
        {"scalingStrategy": {"automatic": {"averageUsageTarget": 0}}},
        "spec.scalingStrategy.automatic.averageUsageTarget:",
    ),
    (
        "usage target 101",
        {"scalingStrategy": {"automatic": {"averageUsageTarget": 101}}},
        "spec.scalingStrategy.automatic.averageUsageTarget:",
    ),
    (
        "window 3601",
        {"scalingStrategy": {"automatic": {"scaleDownStabilizationWindowSeconds": 3601}}},
        "spec.scalingStrategy.automatic.scaleDownStabilizationWindowSeconds:",
    ),
    (
        "window -1",
        {"scalingStrategy": {"automatic": {"scaleUpStabilizationWindowSeconds": -1}}},
        "spec.scalingStrategy.automatic.scaleUpStabilizationWindowSeconds:",
    ),
    ("relative mount", {"volumes": [{"mountPath": "hub", "permission": "RW"}]}, "spec.volumes[0].mountPath:"),
    (
        "duplicate mount",
        {"volumes": [{"mountPath": "/hub", "permission": "RW"}, {"mountPath": "/hub", "permission": "RO"}]},
        "spec.volumes[1].mountPath:",
    ),
    (
        "bad permission",
        {"volumes": [{"mountPath": "/hub", "permission": "RX"}]},
        "spec.volumes[0].permission:",
    ),
    (
        "unknown source kind",
        {"volumes": [{"mountPath": "/d", "permission": "RO", "volumeSource": {"nfs": {}}}]},
        "spec.volumes[0].volumeSource.nfs:",
    ),
    ("env name", {"envVars": [{"name": "HF-TOKEN", "value": "x"}]}, "spec.envVars[0].name:"),
    ("http port 0", {"defaultHttpPort": 0}, "spec.defaultHttpPort:"),
    ("http port 65536", {"defaultHttpPort": 65536}, "spec.defaultHttpPort:"),
    ("grpc port", {"grpcPort": 70000}, "spec.grpcPort:"),
    ("probe port", {"probe": {"path": "/health", "port": 0}}, "spec.probe.port:"),
    ("label name", {"labels": {"bad name!": "x"}}, "spec.labels.bad name!:"),
    ("unknown field", {"imagee": "typo"}, "spec.imagee:"),
]


@pytest.mark.parametrize(("case", "overrides", "field"), INVALID_SPECS, ids=[c[0] for c in INVALID_SPECS])
def test_invalid_specs_answer_400_naming_the_field(
    admin: httpx.Client, case: str, overrides: dict[str, Any], field: str
) -> None:
    body = {k: v for k, v in spec(**overrides).items() if v is not None}
    response = admin.post("/v1/app", content=json.dumps(body), headers={"content-type": "application/json"})
    assert response.status_code == 400, (case, response.text)
    assert response.json()["message"].startswith(field), response.json()["message"]


def test_deprecated_volume_form_is_normalised(admin: httpx.Client) -> None:
    volumes = [
        {"mountPath": "/hub", "permission": "RW", "standalone": {}},
        {"mountPath": "/data", "permission": "RO", "dataStore": {"alias": "GRA", "container": "c"}},
    ]
    app = create(admin, volumes=volumes, scalingStrategy={"automatic": {"replicasMin": 0, "replicasMax": 2}})
    assert [v["volumeSource"] for v in app["spec"]["volumes"]] == [
        {"standalone": {}},
        {"dataStore": {"alias": "GRA", "container": "c"}},
    ]
    assert "standalone" not in app["spec"]["volumes"][0]
    cleanup(admin, app["id"])


def test_gpu_quota_answers_402(fresh_emulator: RunningEmulator) -> None:
    with client(fresh_emulator) as c:
        first = create(c, resources={"flavor": "l40s-1-gpu", "gpu": 2})["id"]
        second = create(c, resources={"flavor": "l40s-1-gpu", "gpu": 2})["id"]
        over = c.post("/v1/app", json=spec(resources=GPU))
        assert over.status_code == 402 and "quota" in over.json()["message"]
        assert c.put(f"/v1/app/{second}/scalingstrategy", json={"fixed": {"replicas": 2}}).status_code == 402
        assert c.put(f"/v1/app/{first}", json={"gpu": 3}).status_code == 402
        c.put(f"/v1/app/{second}/stop")
        wait_state(c, second, "STOPPED")
        third = create(c, resources=GPU)["id"]  # the stopped app released its GPUs
        assert c.put(f"/v1/app/{second}/start").status_code == 402
        assert c.get("/v1/capabilities/quota").json()["resources"]["GPU"] == 4
        assert third


# --- tokens ---------------------------------------------------------------------------------


def test_token_lifecycle(admin: httpx.Client, emulator: RunningEmulator) -> None:
    created = admin.post("/v1/token", json={"name": "ci", "role": "ai_training_read"})
    assert created.status_code == 200
    token = created.json()
    value = token["status"]["value"]
    assert token["spec"]["role"] == "ai_training_read" and token["status"]["version"] == 1 and len(value) > 30
    fetched = admin.get(f"/v1/token/{token['id']}").json()
    assert "value" not in fetched["status"]
    assert all("value" not in t["status"] for t in items(admin.get("/v1/token")))
    renewed = admin.post(f"/v1/token/{token['id']}/renew").json()
    assert renewed["status"]["version"] == 2 and renewed["status"]["value"] != value
    with client(emulator, value) as old, client(emulator, renewed["status"]["value"]) as new:
        assert old.get("/v1/app").status_code == 401
        assert new.get("/v1/app").status_code == 200
        assert admin.delete(f"/v1/token/{token['id']}").status_code == 204
        assert new.get("/v1/app").status_code == 401
    assert admin.get(f"/v1/token/{token['id']}").status_code == 404
    bad_role = admin.post("/v1/token", json={"name": "x", "role": "god"})
    assert bad_role.status_code == 400 and bad_role.json()["message"].startswith("role:")


def test_read_role_cannot_write(admin: httpx.Client, emulator: RunningEmulator) -> None:
    value = admin.post("/v1/token", json={"name": "ro", "role": "ai_training_read"}).json()["status"]["value"]
    app_id = create(admin)["id"]
    with client(emulator, value) as reader:
        assert reader.get(f"/v1/app/{app_id}").status_code == 200
        assert reader.post("/v1/app", json=spec()).status_code == 403
        assert reader.put(f"/v1/app/{app_id}/stop").status_code == 403
        assert reader.delete(f"/v1/app/{app_id}", params={"force": "true"}).status_code == 403
        assert reader.post("/v1/token", json={"name": "x", "role": "ai_training_read"}).status_code == 403
        assert reader.get("/v1/me").json()["role"] == "ai_training_read"
    cleanup(admin, app_id)


def test_scoped_token_sees_only_its_apps(admin: httpx.Client, emulator: RunningEmulator) -> None:
    scope = uuid.uuid4().hex[:8]
    body = {"name": "scoped", "role": "ai_training_operator", "labelSelector": f"team={scope}"}
    value = admin.post("/v1/token", json=body).json()["status"]["value"]
    outside = create(admin)["id"]
    with client(emulator, value) as scoped:
        mine = create(scoped)
        assert mine["spec"]["labels"]["team"] == scope  # the selector's labels are added
        assert scoped.get(f"/v1/app/{outside}").status_code == 404
        assert scoped.put(f"/v1/app/{outside}/stop").status_code == 404
        assert [a["id"] for a in items(scoped.get("/v1/app"))] == [mine["id"]]
        wider = scoped.post("/v1/token", json={"name": "w", "role": "ai_training_read"})
        assert wider.status_code == 403
        narrower = {"name": "n", "role": "ai_training_read", "labelSelector": f"team={scope},x=y"}
        assert scoped.post("/v1/token", json=narrower).status_code == 200
        cleanup(scoped, mine["id"])
    cleanup(admin, outside)


# --- the vLLM stand-in ----------------------------------------------------------------------


def test_standin_serves_openai_api(admin: httpx.Client, emulator: RunningEmulator) -> None:
    scope = uuid.uuid4().hex[:8]
    app = create(admin, labels={**FAST_START, "techlab/vllm": scope})
    url = app["status"]["url"]
    reader = admin.post(
        "/v1/token", json={"name": "r", "role": "ai_training_read", "labelSelector": f"techlab/vllm={scope}"}
    ).json()["status"]["value"]
    other = admin.post(
        "/v1/token", json={"name": "o", "role": "ai_training_read", "labelSelector": "techlab/vllm=other"}
    ).json()["status"]["value"]
    auth = {"Authorization": f"Bearer {reader}"}
    assert httpx.get(f"{url}/health", headers=auth).status_code == 503  # not RUNNING yet
    wait_state(admin, app["id"], "RUNNING")
    assert httpx.get(f"{url}/health").status_code == 401
    assert httpx.get(f"{url}/health", headers={"Authorization": f"Bearer {other}"}).status_code == 401
    health = httpx.get(f"{url}/health", headers=auth)
    assert health.status_code == 200 and health.content == b""
    models = httpx.get(f"{url}/v1/models", headers=auth).json()
    assert [m["id"] for m in models["data"]] == ["chat"]

    question = {"model": "chat", "messages": [{"role": "user", "content": "Who founded OVHcloud?"}]}
    answer = httpx.post(f"{url}/v1/chat/completions", headers=auth, json=question).json()
    assert answer["object"] == "chat.completion" and answer["model"] == "chat"
    assert "Octave Klaba" in answer["choices"][0]["message"]["content"]
    usage = answer["usage"]
    assert usage["total_tokens"] == usage["prompt_tokens"] + usage["completion_tokens"] > 0

    short = httpx.post(f"{url}/v1/chat/completions", headers=auth, json={**question, "max_tokens": 2}).json()
    assert short["usage"]["completion_tokens"] == 2 and short["choices"][0]["finish_reason"] == "length"
    wrong = httpx.post(f"{url}/v1/chat/completions", headers=auth, json={**question, "model": "gpt-4"})
    assert wrong.status_code == 404 and "gpt-4" in wrong.json()["error"]["message"]  # vLLM >= 0.10.1 shape

    completion = httpx.post(
        f"{url}/v1/completions", headers=auth, json={"model": "chat", "prompt": "Hello"}
    ).json()
    assert completion["object"] == "text_completion" and completion["choices"][0]["text"]

    with httpx.stream(
        "POST", f"{url}/v1/chat/completions", headers=auth, json={**question, "stream": True}
    ) as r:
        assert r.headers["content-type"].startswith("text/event-stream")
        events = [line.removeprefix("data: ") for line in r.iter_lines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert "Octave Klaba" in text and chunks[-1]["choices"][0]["finish_reason"] == "stop"
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    cleanup(admin, app["id"])


def test_standin_unsecure_and_never_ready(admin: httpx.Client) -> None:
    open_app = create(admin, unsecureHttp=True)
    never = create(admin, image="example/emulator-never-ready:1")
    wait_state(admin, open_app["id"], "RUNNING")
    assert httpx.get(f"{open_app['status']['url']}/v1/models").status_code == 200
    wait_state(admin, never["id"], "RUNNING")
    headers = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
    assert httpx.get(f"{never['status']['url']}/health", headers=headers).status_code == 503
    cleanup(admin, open_app["id"])
    cleanup(admin, never["id"])


# --- faults and control routes --------------------------------------------------------------


def test_fault_script(fresh_emulator: RunningEmulator) -> None:
    with client(fresh_emulator) as c:
        script = {"faults": [{"status": 429, "retryAfter": 1, "message": "slow down"}, {"status": 503}]}
        assert c.post("/_emulator/faults", json=script).status_code == 200
        limited = c.get("/v1/me")
        assert limited.status_code == 429 and limited.headers["retry-after"] == "1"
        assert limited.json()["message"] == "slow down"
        assert c.get("/v1/me").status_code == 503
        assert c.get("/v1/me").status_code == 200

        c.post("/_emulator/faults", json={"faults": [{"delaySeconds": 0.4}], "match": {"method": "GET"}})
        assert (
            c.post("/v1/token", json={"name": "a", "role": "ai_training_read"}).status_code == 200
        )  # no match
        started = time.monotonic()
        assert c.get("/v1/me").status_code == 200
        assert time.monotonic() - started >= 0.4

        c.post("/_emulator/faults", json={"faults": [{"drop": True}], "match": {"pathPrefix": "/v1/token"}})
        with pytest.raises(httpx.RemoteProtocolError):
            c.post("/v1/token", json={"name": "dropped", "role": "ai_training_read"})
        assert "dropped" in {t["spec"]["name"] for t in items(c.get("/v1/token"))}  # the server acted

        c.post("/_emulator/faults", json={"faults": [{"status": 500}]})
        assert c.delete("/_emulator/faults").status_code == 204
        assert c.get("/v1/me").status_code == 200

        counts = c.get("/_emulator/requests").json()
        assert counts["byRoute"]["GET /v1/me"] == 5 and counts["byRoute"]["GET /v1/token"] == 1
        assert counts["count"] == sum(counts["byRoute"].values())
        c.get(f"/v1/app/{uuid.uuid4()}")
        assert c.get("/_emulator/requests").json()["byRoute"]["GET /v1/app/{id}"] == 1
        assert c.delete("/_emulator/requests").status_code == 204
        assert c.get("/_emulator/requests").json() == {"count": 0, "byRoute": {}}
    with client(fresh_emulator, None) as anonymous:
        assert anonymous.post("/_emulator/reset").status_code == 401


def test_reset_and_persistence_across_restart(fresh_emulator: RunningEmulator, tmp_path: Any) -> None:
    state_file = tmp_path / "state.json"
    with client(fresh_emulator) as c:
        app = create(c, labels={"emulator/startup-seconds": "1.5"})
        token = c.post("/v1/token", json={"name": "keep", "role": "ai_training_operator"}).json()
        volume = c.post("/v1/volume", json={"standalone": {}}).json()
    fresh_emulator.stop()
    assert json.loads(state_file.read_text())["apps"][app["id"]]
    assert token["status"]["value"] not in state_file.read_text()  # only a hash is kept
    with start_emulator(admin_token=ADMIN_TOKEN, state_file=state_file) as again, client(again) as c:
        assert c.get(f"/v1/volume/{volume['id']}").status_code == 200
        with client(again, token["status"]["value"]) as same_token:
            assert same_token.get(f"/v1/app/{app['id']}").status_code == 200
        running = wait_state(c, app["id"], "RUNNING")  # the schedule carries on after the restart
        assert running["status"]["url"] == f"{again.base_url}/app/{app['id']}"
        assert c.post("/_emulator/reset").status_code == 204
        assert items(c.get("/v1/app")) == [] and items(c.get("/v1/token")) == []


def test_timings_option_and_capabilities(tmp_path: Any) -> None:
    timings = json.dumps({"QUEUED": 0.1, "INITIALIZING": 0.1, "SCALING": 0.1, "DELETING": 0.1})
    with start_emulator(admin_token=ADMIN_TOKEN, extra_args=["--timings", timings]) as em, client(em) as c:
        labels = {"run": "t"}
        started = time.monotonic()
        app = create(c, labels=labels)
        wait_state(c, app["id"], "RUNNING", timeout=3)
        assert time.monotonic() - started < 1.5
        flavors = {f["id"]: f for f in c.get("/v1/capabilities/flavor").json()}
        assert set(flavors) >= {
            "ai1-1-cpu",
            "l4-1-gpu",
            "l40s-1-gpu",
            "a100-1-gpu",
            "h100-1-gpu",
            "ai1-1-gpu",
        }
        assert (
            flavors["a100-1-gpu"]["max"] == 2
            and flavors["l40s-1-gpu"]["gpuInformation"]["gpuModel"] == "L40S"
        )
        assert c.get("/v1/capabilities/flavor/h100-1-gpu").json()["resourcesPerUnit"]["cpu"] == 28
        assert c.get("/v1/capabilities/flavor/nope").status_code == 404
        me = c.get("/v1/me").json()
        assert me["name"] == "admin" and me["role"] == "administrator" and me["tokenKind"] == "oauth"
    with pytest.raises(RuntimeError, match="timings"):
        start_emulator(admin_token=ADMIN_TOKEN, extra_args=["--timings", '{"NAPPING": 1}'])


def test_volumes_crud_and_error_shapes(admin: httpx.Client) -> None:
    git = {"url": "https://github.com/ovh/ai-training-examples.git"}
    volume = admin.post("/v1/volume", json={"publicGit": git, "cache": False}).json()
    assert volume["publicGit"] == git and volume["cache"] is False and volume["createdAt"]
    assert volume["id"] in {v["id"] for v in items(admin.get("/v1/volume"))}
    assert admin.delete(f"/v1/volume/{volume['id']}").status_code == 204
    assert admin.get(f"/v1/volume/{volume['id']}").status_code == 404
    assert "standalone" in admin.post("/v1/volume", json={}).json()  # no source: a standalone disk
    two = admin.post("/v1/volume", json={"standalone": {}, "publicGit": git})
    assert two.status_code == 400 and two.json()["message"].startswith("body: at most one of")
    assert admin.get("/v1/nothing-here").json()["message"]
    assert admin.patch("/v1/app").status_code == 405
    assert admin.post("/v1/app", content=b"{not json").json()["message"].startswith("body:")


def test_error_marker_ends_in_error(admin: httpx.Client) -> None:
    app_id = create(admin, image="example/emulator-error:1")["id"]
    errored = wait_state(admin, app_id, "ERROR")
    assert errored["status"]["info"]["code"] == "APP_ERROR"
    assert admin.delete(f"/v1/app/{app_id}").status_code == 204  # not running: no force needed
