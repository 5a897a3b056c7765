"""The emulator as OVHcloud's official generated client (`ovhai` on PyPI, pinned) reads it.

Every route the emulator serves is called through the official client's generated function over
real HTTP, with `raise_on_unexpected_status=True` (a status the client does not declare raises),
and every answer must parse into the official models with no field left in
`additional_properties` - except the fields that the official client does not name but OVHcloud's
schema (`../shared/ovhai/cloud-ai-schema.json`) does: there the emulator follows the schema, and
SCHEMA_OVER_CLIENT lists each such disagreement, checked against the schema itself.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import attrs
import pytest
from ovhai.api.app import (
    app_edit,
    app_edit_label,
    app_log,
    app_start,
    app_stop,
    app_update,
    app_update_image,
    delete_v1_app_id,
    get_v1_app,
    get_v1_app_id,
    post_v1_app,
)
from ovhai.api.capabilities import (
    get_v1_capabilities_flavor,
    get_v1_capabilities_flavor_id,
    get_v1_capabilities_quota,
)
from ovhai.api.me import me as me_api
from ovhai.api.token import token_delete, token_get, token_get_all, token_new, token_renew
from ovhai.api.volume import delete_v1_volume_id, get_v1_volume, get_v1_volume_id, post_v1_volume
from ovhai.client import AuthenticatedClient
from ovhai.errors import UnexpectedStatus
from ovhai.models import (
    App,
    AppList,
    AppSpec,
    AppUpdate,
    AppUpdateImage,
    AppUpdateRequest,
    CreateVolume,
    FixedScalingStrategy,
    Flavor,
    LabelUpdate,
    Me,
    ProjectQuotas,
    ScalingStrategy,
    StandaloneVolumeSource,
    Token,
    TokenList,
    TokenSpec,
    UserVolume,
    VolumeList,
)
from ovhai.models import PublicGitVolumeSource as PublicGit
from ovhai.models import Resources as OfficialResources
from ovhai.models.app_spec_labels_type_0 import AppSpecLabelsType0
from ovhai.models.project_quotas_resources import ProjectQuotasResources
from ovhai.ovhai_types import Response

from emulator.runner import RunningEmulator
from tests.shared_reference import shared_file

# Official models that are maps by design: their entries live in additional_properties.
MAP_MODELS = (AppSpecLabelsType0, ProjectQuotasResources, StandaloneVolumeSource)
# Disagreements: (official model, wire field) the official client does not name and the schema's
# model (value) does. The emulator sends them because the schema says so.
SCHEMA_OVER_CLIENT: dict[tuple[str, str], str] = {
    ("AppSpec", "region"): "cloud.project.ai.app.AppSpec",
    ("AppSpec", "livenessProbe"): "cloud.project.ai.app.AppSpec",
    ("AppSpec", "partnerId"): "cloud.project.ai.app.AppSpec",
    ("Resources", "flavorCount"): "cloud.project.ai.Resources",
    ("Volume", "volumeSource"): "cloud.project.ai.volume.Volume",
    ("TokenSpec", "region"): "cloud.project.ai.token.TokenSpec",
    ("ResourcesPerUnit", "gpu"): "cloud.project.ai.capabilities.flavor.ResourcesPerUnit",
}


def schema() -> dict[str, Any]:
    path: Path = shared_file("ovhai/cloud-ai-schema.json")
    schemas: dict[str, Any] = json.loads(path.read_text())["components"]["schemas"]
    return schemas


def extras(value: Any, where: str = "") -> Iterator[tuple[str, str, str]]:
    """(path, official model, key) for every key an official model left in additional_properties."""
    if isinstance(value, list):
        for index, item in enumerate(value):
            yield from extras(item, f"{where}[{index}]")
        return
    if not attrs.has(type(value)):
        return
    name = type(value).__name__
    if not isinstance(value, MAP_MODELS):
        for key in value.additional_properties:
            yield where, name, key
    for field in attrs.fields(type(value)):
        if field.name != "additional_properties":
            yield from extras(getattr(value, field.name), f"{where}.{field.name}")


def assert_parsed(parsed: Any, kind: type) -> Any:
    """The answer parsed into `kind` with nothing lost beyond SCHEMA_OVER_CLIENT."""
    assert isinstance(parsed, kind), parsed
    lost = [
        (path, model, key) for path, model, key in extras(parsed) if (model, key) not in SCHEMA_OVER_CLIENT
    ]
    assert lost == [], lost
    return parsed


@pytest.fixture(scope="module")
def official(emulator: RunningEmulator) -> Iterator[AuthenticatedClient]:
    with AuthenticatedClient(
        base_url=emulator.base_url, token=emulator.admin_token, raise_on_unexpected_status=True
    ) as client:
        yield client


def status(response: Response[Any], code: int) -> Any:
    assert response.status_code == code, (response.status_code, response.content)
    return response.parsed


def cpu_spec(name: str) -> AppSpec:
    labels = AppSpecLabelsType0.from_dict({"contract": name, "emulator/startup-seconds": "0.3"})
    return AppSpec(
        image="vllm/vllm-openai:latest",
        name=name,
        default_http_port=8000,
        labels=labels,
        resources=OfficialResources(flavor="ai1-1-cpu", cpu=1),
        scaling_strategy=ScalingStrategy(fixed=FixedScalingStrategy(replicas=1)),
    )


def wait_state(client: AuthenticatedClient, app_id: str, state: str) -> App:
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        app = assert_parsed(status(get_v1_app_id.sync_detailed(app_id, client=client), 200), App)
        if app.status.state == state:
            return app
        time.sleep(0.1)
    raise AssertionError(f"app {app_id} never {state}")


def test_the_disagreements_are_the_schemas_fields() -> None:
    schemas = schema()
    for (_, key), model in SCHEMA_OVER_CLIENT.items():
        assert key in schemas[model]["properties"], (model, key)


def test_app_routes(official: AuthenticatedClient) -> None:
    created = assert_parsed(
        status(post_v1_app.sync_detailed(client=official, body=cpu_spec("contract-app")), 200), App
    )
    app_id = created.id
    assert created.spec.resources.cpu == 1 and created.status.state == "QUEUED"

    listed = assert_parsed(
        status(get_v1_app.sync_detailed(client=official, label_selector="contract=contract-app"), 200),
        AppList,
    )
    assert [a.id for a in listed.items] == [app_id]
    assert (
        listed.metadata.total == 1 and listed.metadata.current_page == 1 and listed.metadata.page_count == 1
    )
    running = wait_state(official, app_id, "RUNNING")
    assert running.status.url.endswith(f"/app/{app_id}") and running.status.history

    update = AppUpdateRequest(app_update=AppUpdate(default_http_port=8080), id=app_id)
    updated = assert_parsed(status(app_update.sync_detailed(app_id, client=official, body=update), 200), App)
    assert updated.spec.default_http_port == 8080

    image = status(
        app_update_image.sync_detailed(
            app_id, client=official, body=AppUpdateImage(url="vllm/vllm-openai:v0.9.2")
        ),
        200,
    )
    assert "message" in json.loads(image)  # the schema's GenericResponse; the client reads text
    scaling = ScalingStrategy(fixed=FixedScalingStrategy(replicas=2))
    status(app_edit.sync_detailed(app_id, client=official, body=scaling), 204)
    status(
        app_edit_label.sync_detailed(app_id, client=official, body=LabelUpdate(name="team", value="ml")), 204
    )
    status(app_edit_label.sync_detailed(app_id, client=official, body=LabelUpdate(name="team")), 204)
    labels = wait_state(official, app_id, "RUNNING").spec.labels.additional_properties
    assert "team" not in labels and labels["ovh/id"] == app_id
    status(app_log.sync_detailed(app_id, client=official, tail=5), 200)

    # Start/stop races answer the statuses the official client declares (no 409 for either).
    status(app_start.sync_detailed(app_id, client=official), 400)  # already running
    status(app_stop.sync_detailed(app_id, client=official), 204)
    status(app_stop.sync_detailed(app_id, client=official), 204)  # the second stop changes nothing
    wait_state(official, app_id, "STOPPED")
    status(app_start.sync_detailed(app_id, client=official), 204)
    status(delete_v1_app_id.sync_detailed(app_id, client=official, force=True), 204)
    status(get_v1_app_id.sync_detailed("no-such-app", client=official), 404)


def test_token_routes(official: AuthenticatedClient) -> None:
    spec = TokenSpec(name="contract-token", role="ai_training_read", label_selector="contract=x")
    made = assert_parsed(status(token_new.sync_detailed(client=official, body=spec), 200), Token)
    assert made.status.value and made.status.version == 1 and made.spec.label_selector == "contract=x"
    listed = assert_parsed(status(token_get_all.sync_detailed(client=official, size=100), 200), TokenList)
    assert made.id in {t.id for t in listed.items} and listed.metadata.total >= 1
    assert not any(isinstance(t.status.value, str) for t in listed.items)  # never listed
    got = assert_parsed(status(token_get.sync_detailed(made.id, client=official), 200), Token)
    assert not got.status.value  # the value is shown only by create and renew
    renewed = assert_parsed(status(token_renew.sync_detailed(made.id, client=official), 200), Token)
    assert renewed.status.value != made.status.value and renewed.status.version == 2
    status(token_delete.sync_detailed(made.id, client=official), 204)
    with pytest.raises(UnexpectedStatus):  # the official client declares no 404 for a token
        token_get.sync_detailed(made.id, client=official)


def test_volume_routes(official: AuthenticatedClient) -> None:
    git = CreateVolume(
        public_git=PublicGit(url="https://github.com/ovh/ai-training-examples.git"), cache=False
    )
    made = assert_parsed(status(post_v1_volume.sync_detailed(client=official, body=git), 200), UserVolume)
    assert made.public_git.url.endswith(".git") and made.cache is False and made.id
    disk = CreateVolume(standalone=StandaloneVolumeSource())
    standalone = assert_parsed(
        status(post_v1_volume.sync_detailed(client=official, body=disk), 200), UserVolume
    )
    listed = assert_parsed(status(get_v1_volume.sync_detailed(client=official), 200), VolumeList)
    assert {made.id, standalone.id} <= {v.id for v in listed.items}
    assert assert_parsed(status(get_v1_volume_id.sync_detailed(made.id, client=official), 200), UserVolume).id
    for volume in (made, standalone):
        status(delete_v1_volume_id.sync_detailed(volume.id, client=official), 204)
    status(get_v1_volume_id.sync_detailed(made.id, client=official), 404)


def test_capabilities_and_me(official: AuthenticatedClient) -> None:
    flavors = status(get_v1_capabilities_flavor.sync_detailed(client=official), 200)
    assert {f.id for f in flavors} >= {"ai1-1-cpu", "l40s-1-gpu", "h100-1-gpu"}
    for flavor in flavors:
        assert_parsed(flavor, Flavor)
    one = assert_parsed(
        status(get_v1_capabilities_flavor_id.sync_detailed("l40s-1-gpu", client=official), 200), Flavor
    )
    assert one.gpu_information.gpu_model == "L40S" and one.max_ == 4
    me = assert_parsed(status(me_api.sync_detailed(client=official), 200), Me)
    assert me.role == "administrator" and me.token_kind == "oauth" and me.quotas.resources["GPU"] >= 1


def test_quota_follows_the_schema_not_the_client(official: AuthenticatedClient) -> None:
    # Disagreement: the official client reads `GET /v1/capabilities/quota` as a list of
    # ProjectQuotas; the schema answers one `cloud.project.ai.capabilities.ProjectQuotas` object.
    reference = schema()["cloud.project.ai.capabilities.ProjectQuotas"]
    assert reference["type"] == "object" and set(reference["properties"]) == {"resources", "storage"}
    raw = get_v1_capabilities_quota._get_kwargs()
    response = official.get_httpx_client().request(**raw)
    assert response.status_code == 200
    body = response.json()
    assert isinstance(body, dict)
    quotas = assert_parsed(ProjectQuotas.from_dict(body), ProjectQuotas)
    assert quotas.resources["GPU"] >= 1 and quotas.storage > 0
    with pytest.raises((AttributeError, TypeError)):  # the official function iterates an object's keys
        get_v1_capabilities_quota.sync_detailed(client=official)
