"""OvhAiClient against the real emulator over loopback HTTP: lifecycle, tokens, validation, quota,
pagination, persistence, and the seed's deployment answering a chat completion."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from pydantic import ValidationError

from components.ovhai import (
    Conflict,
    Forbidden,
    InvalidRequest,
    NotFound,
    OvhAiClient,
    PaymentRequired,
    Unauthorized,
    WaitTimeout,
)
from components.ovhai.models import (
    AppSpec,
    AppUpdate,
    EnvVar,
    FixedScaling,
    Resources,
    ScalingStrategy,
    StandaloneSource,
    TokenRole,
    UserVolumeSpec,
    Volume,
    VolumeSource,
)
from emulator.runner import RunningEmulator, start_emulator
from tests.conftest import ADMIN_TOKEN

WAIT = 30.0


def client_for(emu: RunningEmulator, token: str = ADMIN_TOKEN, **options: Any) -> OvhAiClient:
    return OvhAiClient(emu.base_url, token, **options)


@pytest.fixture
def admin(emulator: RunningEmulator) -> Iterator[OvhAiClient]:
    with client_for(emulator) as client:
        yield client


def unique(prefix: str = "t") -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


def cpu_spec(name: str | None = None, **overrides: Any) -> dict[str, Any]:
    spec: dict[str, Any] = {
        "name": name or unique("app"),
        "image": "ghcr.io/example/echo:1",
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "defaultHttpPort": 8080,
    }
    spec.update(overrides)
    return spec


def requests_by_route(emu: RunningEmulator) -> dict[str, int]:
    answer = httpx.get(
        f"{emu.base_url}/_emulator/requests", headers={"Authorization": f"Bearer {ADMIN_TOKEN}"}
    )
    answer.raise_for_status()
    return dict(answer.json()["byRoute"])


# ------------------------------------------------------------------------------------------------
# Lifecycle


@pytest.mark.slow
def test_app_lifecycle(admin: OvhAiClient) -> None:
    label = unique("life")
    seen: list[tuple[str | None, str]] = []
    app = admin.create_app(cpu_spec(labels={"test/life": label}))
    assert app.state == "QUEUED"
    assert app.spec.labels is not None and app.spec.labels["ovh/id"] == app.id
    assert app.spec.labels["ovh/type"] == "app" and app.spec.labels["test/life"] == label

    app = admin.wait_for_app(app.id, timeout=WAIT, on_change=lambda old, new, _t: seen.append((old, new)))
    assert app.state == "RUNNING" and app.status.available_replicas == 1
    assert [new for _, new in seen][-1] == "RUNNING" and seen[0][0] is None
    assert [h.state for h in app.status.history][:1] == ["QUEUED"]

    with pytest.raises(Conflict) as conflict:  # a running app is not deleted without force
        admin.delete_app(app.id)
    assert conflict.value.status == 409 and f"DELETE /v1/app/{app.id}: 409 Conflict" in str(conflict.value)

    admin.stop_app(app.id)
    assert admin.wait_for_app(app.id, until=("STOPPED",), timeout=WAIT).state == "STOPPED"
    admin.start_app(app.id)
    assert admin.wait_for_app(app.id, timeout=WAIT).state == "RUNNING"

    admin.set_app_scaling(app.id, ScalingStrategy(fixed=FixedScaling(replicas=2)))
    assert admin.get_app(app.id).state == "SCALING"
    app = admin.wait_for_app(app.id, timeout=WAIT)
    assert app.status.available_replicas == 2
    assert app.spec.scaling_strategy == ScalingStrategy.fixed_replicas(2)

    admin.set_app_image(app.id, "ghcr.io/example/echo:2")
    app = admin.wait_for_app(app.id, timeout=WAIT)
    assert app.spec.image == "ghcr.io/example/echo:2" and app.state == "RUNNING"

    admin.set_app_label(app.id, "team", "llm")
    assert admin.get_app(app.id).labels["team"] == "llm"
    assert [a.id for a in admin.list_apps(label_selector=f"test/life={label},team=llm")] == [app.id]
    admin.set_app_label(app.id, "team", None)
    assert "team" not in admin.get_app(app.id).labels

    updated = admin.update_app(
        app.id, AppUpdate(env_vars=[EnvVar(name="MODE", value="fast")], command=["serve"])
    )
    assert updated.spec.command == ["serve"]
    assert [(e.name, e.value) for e in updated.spec.env_vars or []] == [("MODE", "fast")]
    admin.wait_for_app(app.id, timeout=WAIT)

    assert any(line for line in admin.get_app_logs(app.id))
    assert len(admin.get_app_logs(app.id, tail=2)) <= 2

    admin.delete_app(app.id, force=True)
    gone: list[str] = []
    admin.wait_for_app_gone(app.id, timeout=WAIT, on_change=lambda _o, new, _t: gone.append(new))
    with pytest.raises(NotFound):
        admin.get_app(app.id)
    assert app.id not in {a.id for a in admin.list_apps(label_selector=f"test/life={label}")}


def test_failed_image_ends_in_failed_with_info_and_logs(admin: OvhAiClient) -> None:
    app = admin.create_app(cpu_spec(image="ghcr.io/example/emulator-fail:1"))
    app = admin.wait_for_app(app.id, timeout=WAIT)  # FAILED is terminal: returned, not waited past
    assert app.state == "FAILED"
    assert app.status.info is not None and app.status.info.message
    assert admin.get_app_logs(app.id, tail=5)
    admin.delete_app(app.id, force=True)


def test_wait_times_out_with_the_last_state(admin: OvhAiClient) -> None:
    app = admin.create_app(cpu_spec(labels={"emulator/startup-seconds": "30"}))
    with pytest.raises(WaitTimeout) as caught:
        admin.wait_for_app(app.id, timeout=1.0, initial_interval=0.2)
    assert caught.value.app_id == app.id and caught.value.last_state in {"QUEUED", "INITIALIZING", "SCALING"}
    assert 1.0 <= caught.value.elapsed < 3.0
    admin.delete_app(app.id, force=True)


# ------------------------------------------------------------------------------------------------
# Tokens: roles and scopes


def test_token_roles_and_scopes(emulator: RunningEmulator, admin: OvhAiClient) -> None:
    scope = unique("scope")
    selector = f"test/scope={scope}"
    reader = admin.create_token(unique("reader"), "read", selector)
    operator = admin.create_token(unique("op"), TokenRole.OPERATOR, selector)
    assert reader.spec.role is TokenRole.READ and reader.value and reader.spec.label_selector == selector
    assert operator.spec.role is TokenRole.OPERATOR and operator.value
    inside = admin.create_app(cpu_spec(labels={"test/scope": scope}))
    outside = admin.create_app(cpu_spec())

    with client_for(emulator, reader.value or "") as read, client_for(emulator, operator.value or "") as op:
        assert [a.id for a in read.list_apps()] == [inside.id]
        assert read.get_app(inside.id).id == inside.id
        with pytest.raises(NotFound):  # out of scope: never reveal existence
            read.get_app(outside.id)
        with pytest.raises(Forbidden) as forbidden:
            read.create_app(cpu_spec(labels={"test/scope": scope}))
        assert forbidden.value.status == 403 and "POST /v1/app: 403 Forbidden" in str(forbidden.value)
        with pytest.raises(Forbidden):
            read.stop_app(inside.id)
        with pytest.raises(Forbidden):
            read.create_token(unique("x"), "read")
        read.me()

        created = op.create_app(cpu_spec())  # a scoped operator's app gets its selector label
        assert created.labels["test/scope"] == scope
        with pytest.raises(NotFound):
            op.stop_app(outside.id)
        assert {a.id for a in op.list_apps()} == {inside.id, created.id}

    listed = {t.id: t for t in admin.list_tokens()}
    assert reader.id in listed and listed[reader.id].value is None  # the value is shown only once
    fetched = admin.get_token(reader.id)
    assert fetched.spec.name == reader.spec.name and fetched.value is None

    renewed = admin.renew_token(reader.id)
    assert renewed.value and renewed.value != reader.value
    assert (renewed.status.version or 0) > (reader.status.version or 0)
    with client_for(emulator, reader.value or "") as old, pytest.raises(Unauthorized):
        old.list_apps()
    admin.delete_token(reader.id)
    with client_for(emulator, renewed.value or "") as deleted, pytest.raises(Unauthorized):
        deleted.list_apps()
    with pytest.raises(NotFound):
        admin.get_token(reader.id)
    admin.delete_token(operator.id)
    for app_id in (inside.id, outside.id, created.id):
        admin.delete_app(app_id, force=True)


def test_bad_token_is_unauthorized_and_never_echoed(emulator: RunningEmulator) -> None:
    secret = "sk-" + uuid.uuid4().hex
    with client_for(emulator, secret) as client, pytest.raises(Unauthorized) as caught:
        client.get_app("whatever")
    error = caught.value
    assert error.status == 401 and error.method == "GET" and error.path == "/v1/app/whatever"
    for text in (str(error), repr(error), error.message, repr(client)):
        assert secret not in text
    with httpx.Client() as raw:  # the Bearer header is what the server checks
        assert raw.get(f"{emulator.base_url}/v1/app").status_code == 401


# ------------------------------------------------------------------------------------------------
# Validation: the server answers 400 naming the field; our models reject the same input


def _bad(**overrides: Any) -> dict[str, Any]:
    return cpu_spec(**overrides)


def _without(key: str) -> dict[str, Any]:
    spec = cpu_spec()
    del spec[key]
    return spec


AUTO = {"replicasMin": 1, "replicasMax": 3, "resourceType": "CPU", "averageUsageTarget": 70}
GPU = {"flavor": "l40s-1-gpu", "gpu": 1}
VOL = {"permission": "RW", "volumeSource": {"standalone": {}}}

# (id, spec, field named in the message, whether our model can catch it without the flavor table)
INVALID: list[tuple[str, dict[str, Any], str, bool]] = [
    ("missing image", _without("image"), "spec.image", True),
    ("missing resources", _without("resources"), "spec.resources", True),
    ("unknown flavor", _bad(resources={"flavor": "z9-1-gpu", "gpu": 1}), "spec.resources.flavor", False),
    ("too many gpus", _bad(resources={**GPU, "gpu": 5}), "spec.resources.gpu", False),
    ("cpu on gpu flavor", _bad(resources={**GPU, "cpu": 2}), "spec.resources", True),
    ("gpu on cpu flavor", _bad(resources={"flavor": "ai1-1-cpu", "gpu": 1}), "spec.resources.gpu", False),
    (
        "fixed and automatic",
        _bad(scalingStrategy={"fixed": {"replicas": 1}, "automatic": AUTO}),
        "spec.scalingStrategy",
        True,
    ),
    (
        "replicas 0",
        _bad(scalingStrategy={"fixed": {"replicas": 0}}),
        "spec.scalingStrategy.fixed.replicas",
        True,
    ),
    (
        "replicas 11",
        _bad(scalingStrategy={"fixed": {"replicas": 11}}),
        "spec.scalingStrategy.fixed.replicas",
        True,
    ),
    (
        "usage target 0",
        _bad(scalingStrategy={"automatic": {**AUTO, "averageUsageTarget": 0}}),
        "averageUsageTarget",
        True,
    ),
    (
        "usage target 101",
        _bad(scalingStrategy={"automatic": {**AUTO, "averageUsageTarget": 101}}),
        "averageUsageTarget",
        True,
    ),
    (
        "window 3601",
        _bad(scalingStrategy={"automatic": {**AUTO, "scaleUpStabilizationWindowSeconds": 3601}}),
        "scaleUpStabilizationWindowSeconds",
        True,
    ),
    (
        "window -1",
        _bad(scalingStrategy={"automatic": {**AUTO, "scaleDownStabilizationWindowSeconds": -1}}),
        "scaleDownStabilizationWindowSeconds",
        True,
    ),
    ("mount path relative", _bad(volumes=[{**VOL, "mountPath": "hub"}]), "spec.volumes[0].mountPath", True),
    (
        "duplicate mount paths",
        _bad(volumes=[{**VOL, "mountPath": "/hub"}, {**VOL, "mountPath": "/hub"}]),
        "spec.volumes[1].mountPath",
        True,
    ),
    (
        "bad permission",
        _bad(volumes=[{**VOL, "mountPath": "/hub", "permission": "RWX"}]),
        "spec.volumes[0].permission",
        True,
    ),
    ("bad env name", _bad(envVars=[{"name": "1BAD-NAME", "value": "x"}]), "spec.envVars[0].name", True),
    ("port 0", _bad(defaultHttpPort=0), "spec.defaultHttpPort", True),
    ("port 70000", _bad(defaultHttpPort=70000), "spec.defaultHttpPort", True),
    ("probe port", _bad(probe={"path": "/health", "port": 0}), "spec.probe.port", True),
    ("unknown field", _bad(defaultHtttpPort=8000), "spec.defaultHtttpPort", True),
]


@pytest.mark.parametrize(
    ("spec", "field", "model_catches"), [c[1:] for c in INVALID], ids=[c[0] for c in INVALID]
)
def test_invalid_spec_is_400_naming_the_field(
    admin: OvhAiClient, spec: dict[str, Any], field: str, model_catches: bool
) -> None:
    with pytest.raises(InvalidRequest) as caught:
        admin.create_app(spec)  # a plain dict is sent as given: the server validates it
    error = caught.value
    assert error.status == 400 and field in error.message, error.message
    assert str(error).startswith("POST /v1/app: 400 Bad Request: ")
    if model_catches:
        with pytest.raises(ValidationError):
            AppSpec.from_input(spec)


# ------------------------------------------------------------------------------------------------
# Quota, pagination, capabilities, volumes (each on an emulator of its own)


def test_gpu_quota_is_402(fresh_emulator: RunningEmulator) -> None:
    with client_for(fresh_emulator) as client:
        quotas = client.get_quotas()
        assert quotas.resources == {"GPU": 4, "CPU": 48} and quotas.model_extra == {}
        first = client.create_app(cpu_spec(resources={"flavor": "l40s-1-gpu", "gpu": 4}))
        with pytest.raises(PaymentRequired) as caught:
            client.create_app(cpu_spec(resources={"flavor": "l4-1-gpu", "gpu": 1}))
        assert caught.value.status == 402 and "402 Payment Required" in str(caught.value)
        client.create_app(cpu_spec())  # CPU apps do not count against the GPU quota
        client.delete_app(first.id, force=True)
        client.wait_for_app_gone(first.id, timeout=WAIT)
        client.create_app(cpu_spec(resources={"flavor": "l4-1-gpu", "gpu": 1}))  # room again


def test_pagination_returns_every_app(fresh_emulator: RunningEmulator) -> None:
    with client_for(fresh_emulator, page_size=5) as client:
        label = unique("page")
        created = {client.create_app(cpu_spec(labels={"test/page": label})).id for _ in range(12)}
        httpx.delete(
            f"{fresh_emulator.base_url}/_emulator/requests",
            headers={"Authorization": f"Bearer {ADMIN_TOKEN}"},
        )
        listed = client.list_apps(label_selector=f"test/page={label}")
        assert {a.id for a in listed} == created and len(listed) == 12
        assert requests_by_route(fresh_emulator)["GET /v1/app"] == 3  # 5 + 5 + 2
        assert {a.id for a in client.list_apps(state="QUEUED")} <= created


def test_capabilities_me_and_user_volumes(admin: OvhAiClient) -> None:
    flavors = {f.id: f for f in admin.list_flavors()}
    assert {"ai1-1-cpu", "l4-1-gpu", "l40s-1-gpu", "a100-1-gpu", "h100-1-gpu"} <= set(flavors)
    assert flavors["l40s-1-gpu"].max == 4 and flavors["a100-1-gpu"].max == 2
    assert admin.get_flavor("h100-1-gpu").id == "h100-1-gpu"
    with pytest.raises(NotFound):
        admin.get_flavor("nope-1-gpu")
    me = admin.me()
    assert me.role == "administrator" and me.token_kind == "oauth" and me.quotas is not None
    assert me.model_extra == {}  # every field the emulator sends is one the model names

    volume = admin.create_volume(UserVolumeSpec(cache=False, standalone=StandaloneSource()))
    assert volume.standalone is not None and volume.cache is False and volume.model_extra == {}
    assert volume.id in {v.id for v in admin.list_volumes()}
    assert admin.get_volume(volume.id).id == volume.id
    admin.delete_volume(volume.id)
    with pytest.raises(NotFound):
        admin.get_volume(volume.id)


# ------------------------------------------------------------------------------------------------
# Persistence across a restart


def test_state_survives_a_restart(fresh_emulator: RunningEmulator, tmp_path: Path) -> None:
    state_file = tmp_path / "state.json"
    with client_for(fresh_emulator) as client:
        app = client.create_app(cpu_spec(labels={"emulator/startup-seconds": "0.5"}))
        client.wait_for_app(app.id, timeout=WAIT)
        token = client.create_token(unique("keep"), "read")
    assert state_file.exists()
    fresh_emulator.stop()

    with start_emulator(admin_token=ADMIN_TOKEN, state_file=state_file) as restarted:
        with client_for(restarted) as client:
            again = client.get_app(app.id)
            assert again.spec.name == app.spec.name and again.state == "RUNNING"
            assert token.id in {t.id for t in client.list_tokens()}
        with client_for(restarted, token.value or "") as reader:  # the token's value still works
            assert reader.get_app(app.id).id == app.id


# ------------------------------------------------------------------------------------------------
# The seed's deployment


def seed_spec() -> AppSpec:
    command = (
        "python3 -m vllm.entrypoints.openai.api_server --model mistralai/Mistral-Small-24B-Instruct-2501 "
        "--tensor-parallel-size 2 --tokenizer_mode mistral --load_format mistral --config_format mistral "
        "--dtype half"
    )
    standalone = VolumeSource(standalone=StandaloneSource())
    return AppSpec(
        name="techlab-ai-vllm-mistral-small",
        image="vllm/vllm-openai:latest",
        command=["bash", "-c", command],
        default_http_port=8000,
        labels={"techlab/vllm": "mistral"},
        resources=Resources(flavor="l40s-1-gpu", gpu=2),
        env_vars=[EnvVar(name="HF_TOKEN", value="hf_dummy"), EnvVar(name="HF_HOME", value="/hub")],
        volumes=[
            Volume(mount_path="/hub", permission="RW", volume_source=standalone),
            Volume(mount_path="/workspace", permission="RW", volume_source=standalone),
        ],
    )


@pytest.mark.slow
def test_seed_deployment_serves_chat_with_a_scoped_read_token(fresh_emulator: RunningEmulator) -> None:
    with client_for(fresh_emulator) as client:
        spec = seed_spec()
        assert AppSpec.from_input(spec.to_wire()) == spec
        app = client.create_app(spec)
        app = client.wait_for_app(app.id, timeout=60)
        assert app.state == "RUNNING" and app.url == f"{fresh_emulator.base_url}/app/{app.id}"
        assert app.spec.resources.gpu == 2 and app.spec.resources.flavor == "l40s-1-gpu"
        reader = client.create_token("techlab-reader", "read", "techlab/vllm=mistral")
    assert app.url is not None and reader.value

    auth = {"Authorization": f"Bearer {reader.value}"}
    with httpx.Client(timeout=30) as http:
        assert http.get(f"{app.url}/health", headers=auth).status_code == 200
        models = http.get(f"{app.url}/v1/models", headers=auth).json()
        assert models["data"][0]["id"] == "mistralai/Mistral-Small-24B-Instruct-2501"
        body = {
            "model": "mistralai/Mistral-Small-24B-Instruct-2501",
            "messages": [{"role": "user", "content": "Say hello"}],
            "max_tokens": 16,
        }
        answer = http.post(f"{app.url}/v1/chat/completions", json=body, headers=auth)
        assert answer.status_code == 200, answer.text
        payload = answer.json()
        assert payload["choices"][0]["message"]["content"]
        assert payload["usage"]["completion_tokens"] >= 1
        assert http.post(f"{app.url}/v1/chat/completions", json=body).status_code == 401
