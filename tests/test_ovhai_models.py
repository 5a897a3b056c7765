"""The API models: conformance with OVHcloud's official schema, parsing, validation, wire form."""

from __future__ import annotations

import json
import re
from enum import Enum
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from components.ovhai import models as m
from tests.shared_reference import shared_file

PREFIX = "cloud.project.ai."

# The official definitions the issue names (AppSpecInput, App, AppStatus, Volume, ScalingStrategy*,
# Probe*, DeploymentStrategy, Token*) and their building blocks, each held to one of our classes.
REQUIRED = re.compile(
    r"^(app\.(AppSpecInput|AppSpec|App|AppStatus|AppStateEnum|AppStateHistory|Scaling\w*|Probe\w*"
    r"|DeploymentStrategy)|volume\.Volume\w*|token\.Token\w*|TokenRoleEnum|VolumePermissionEnum)$"
)
MAPPING: dict[str, type[BaseModel] | type[Enum] | None] = {
    "app.AppSpecInput": m.AppSpec,
    "app.AppSpec": m.AppSpec,
    "app.App": m.App,
    "app.AppStatus": m.AppStatus,
    "app.AppStateEnum": m.AppState,
    "app.AppStateHistory": m.AppStateHistory,
    "app.ScalingStrategy": m.ScalingStrategy,
    "app.ScalingStrategyInput": m.ScalingStrategy,
    "app.ScalingFixedStrategy": m.FixedScaling,
    "app.ScalingFixedStrategyInput": m.FixedScaling,
    "app.ScalingAutomaticStrategy": m.AutomaticScaling,
    "app.ScalingAutomaticStrategyInput": m.AutomaticScaling,
    "app.ScalingAutomaticStrategyResourceTypeEnum": m.ScalingResourceType,
    "app.AutomaticScalingStrategyCustomMetrics": m.CustomMetrics,
    "app.AutomaticScalingStrategyCustomMetricsInput": m.CustomMetrics,
    "app.CustomMetricsFormatEnum": m.CustomMetricsFormat,
    "app.CustomMetricsAggregationTypeEnum": m.CustomMetricsAggregation,
    "app.Probe": m.Probe,
    "app.ProbeInput": m.Probe,
    "app.DeploymentStrategy": m.DeploymentStrategy,
    "app.UpdateInput": m.AppUpdate,
    "app.AppImageInput": m.ImageUpdate,
    "Label": m.LabelUpdate,
    "Resources": m.Resources,
    "ResourcesInput": m.Resources,
    "Env": m.EnvVar,
    "job.JobEnv": m.EnvVar,
    "Info": m.Info,
    "volume.Volume": m.Volume,
    "volume.VolumeSource": m.VolumeSource,
    "volume.VolumeStatus": m.VolumeStatus,
    "volume.VolumeTarget": None,  # see UNSUPPORTED_DEFINITIONS
    "volume.DataStore": m.DataStoreSource,
    "volume.PublicGit": m.PublicGitSource,
    "volume.PublicSwift": m.PublicSwiftSource,
    "volume.Standalone": m.StandaloneSource,
    "VolumePermissionEnum": m.VolumePermission,
    "token.Token": m.Token,
    "token.TokenSpec": m.TokenSpec,
    "token.TokenStatus": m.TokenStatus,
    "TokenRoleEnum": m.TokenRole,
    "capabilities.Flavor": m.Flavor,
    "capabilities.FlavorTypeEnum": m.FlavorType,
    "capabilities.flavor.GpuInformation": m.GpuInformation,
    "capabilities.flavor.ResourcesPerUnit": m.ResourcesPerUnit,
    "capabilities.ProjectQuotas": m.Quotas,
}
UNSUPPORTED_DEFINITIONS = {
    "volume.VolumeTarget": "push targets sync data back to Object Storage at the end of a job; an app "
    "serving a model never pushes, and unknown keys still pass through unchanged (extra='allow')",
}
# Properties accepted on input but normalised into another field.
NORMALISED = {
    ("volume.Volume", key): "deprecated top-level source, moved into volumeSource on input"
    for key in ("dataStore", "publicGit", "publicSwift", "standalone")
}
UNSUPPORTED = {
    ("volume.Volume", "container"): "pre-datastore Swift form; use volumeSource.dataStore (kept as extra)",
    ("volume.Volume", "region"): "pre-datastore Swift form; use volumeSource.dataStore (kept as extra)",
    ("volume.Volume", "prefix"): "pre-datastore Swift form; use volumeSource.dataStore.prefix",
    ("volume.Volume", "targetDataStore"): "push sync target, jobs only (see VolumeTarget)",
    ("volume.Volume", "volumeTarget"): "push sync target, jobs only (see VolumeTarget)",
}


def _schemas() -> dict[str, Any]:
    data = json.loads(shared_file("ovhai/cloud-ai-schema.json").read_text())
    return {
        name.removeprefix(PREFIX): body
        for name, body in data["components"]["schemas"].items()
        if name.startswith(PREFIX)
    }


SCHEMAS = _schemas()


def _wire_names(model: type[BaseModel]) -> set[str]:
    return {field.alias or name for name, field in model.model_fields.items()}


def test_every_required_definition_is_mapped() -> None:
    required = sorted(name for name in SCHEMAS if REQUIRED.match(name))
    assert len(required) >= 20, required  # the regexp still finds the official names
    missing = [name for name in required if name not in MAPPING]
    assert missing == [], f"official definitions with no model: {missing}"


@pytest.mark.parametrize("definition", sorted(MAPPING))
def test_definition_conforms(definition: str) -> None:
    schema = SCHEMAS[definition]
    target = MAPPING[definition]
    if target is None:
        assert definition in UNSUPPORTED_DEFINITIONS
        return
    if "enum" in schema:
        assert issubclass(target, Enum)
        ours = {member.value for member in target}
        assert set(schema["enum"]) <= ours, f"{definition}: missing {set(schema['enum']) - ours}"
        return
    assert issubclass(target, BaseModel)
    ours = _wire_names(target)
    missing = [
        prop
        for prop in schema.get("properties", {})
        if prop not in ours and (definition, prop) not in NORMALISED and (definition, prop) not in UNSUPPORTED
    ]
    assert missing == [], f"{definition} -> {target.__name__}: no field for {missing}"


def test_listed_exceptions_are_real_properties() -> None:
    # An exception list that drifts from the schema hides nothing: each entry must name a real property.
    for definition, prop in [*NORMALISED, *UNSUPPORTED]:
        assert prop in SCHEMAS[definition]["properties"], (definition, prop)
    for definition in UNSUPPORTED_DEFINITIONS:
        assert definition in SCHEMAS


def test_eleven_app_states() -> None:
    assert len(m.AppState) == 11
    assert {s.value for s in m.AppState} == set(SCHEMAS["app.AppStateEnum"]["enum"])
    assert m.AppState.RUNNING == "RUNNING"


# ------------------------------------------------------------------------------------------------
# Parsing what the server sends

SERVER_APP: dict[str, Any] = {
    "id": "7f3c2a9e-1111-2222-3333-444455556666",
    "createdAt": "2025-05-01T10:00:00Z",
    "updatedAt": "2025-05-01T10:00:05.123456+00:00",
    "user": "user-abc",
    "futureTopLevel": {"x": 1},
    "spec": {
        "name": "techlab-ai-vllm-mistral-small",
        "image": "vllm/vllm-openai:latest",
        "command": ["bash", "-c", "python3 -m vllm.entrypoints.openai.api_server --model m"],
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
        "defaultHttpPort": 8000,
        "labels": {"techlab/vllm": "mistral", "ovh/id": "7f3c", "ovh/type": "app"},
        "unsecureHttp": False,
        "region": "GRA",
        "resources": {
            "flavor": "l40s-1-gpu",
            "gpu": 2,
            "cpu": 26,
            "memory": 171798691840,
            "gpuModel": "L40S",
            "gpuBrand": "NVIDIA",
            "gpuMemory": 48318382080,
            "ephemeralStorage": 1,
            "privateNetwork": 1,
            "publicNetwork": 1,
            "flavorCount": 2,
        },
        "volumes": [
            {"mountPath": "/hub", "permission": "RW", "cache": False, "volumeSource": {"standalone": {}}},
            {"mountPath": "/workspace", "permission": "RW", "standalone": {"name": "ws"}},
        ],
        "scalingStrategy": {"fixed": {"replicas": 1}},
        "probe": {"path": "/health", "port": 8000},
        "livenessProbe": {"initialDelaySeconds": 0, "periodSeconds": 10, "timeoutSeconds": 1},
        "deploymentStrategy": {"maxSurge": "25%", "maxUnavailable": "0", "progressDeadlineSeconds": 600},
        "newSpecField": True,
    },
    "status": {
        "state": "RUNNING",
        "availableReplicas": 1,
        "url": "http://127.0.0.1:1/app/7f3c",
        "infoUrl": "http://127.0.0.1:1/info/7f3c",
        "history": [
            {"date": "2025-05-01T10:00:00Z", "state": "QUEUED"},
            {"date": "2025-05-01T10:00:01Z", "state": "INITIALIZING"},
            {"date": "2025-05-01T10:00:02Z", "state": "SCALING"},
            {"date": "2025-05-01T10:00:03Z", "state": "RUNNING"},
        ],
        "info": {"code": "APP_RUNNING", "message": "App is running"},
        "lastTransitionDate": "2025-05-01T10:00:03Z",
        "volumes": [{"id": "v1", "mountPath": "/hub", "userVolumeId": "u1"}],
    },
}


def test_server_app_parses_and_round_trips() -> None:
    app = m.App.model_validate(SERVER_APP)
    assert app.state == "RUNNING"
    assert app.status.state is m.AppState.RUNNING
    assert app.spec.resources is not None and app.spec.resources.cpu == 26  # server-filled cpu+gpu is fine
    assert [h.state for h in app.status.history] == ["QUEUED", "INITIALIZING", "SCALING", "RUNNING"]
    assert app.spec.volumes is not None
    assert app.spec.volumes[1].volume_source == m.VolumeSource(standalone=m.StandaloneSource(name="ws"))
    wire = app.to_wire()
    assert wire["futureTopLevel"] == {"x": 1} and wire["spec"]["newSpecField"] is True
    assert wire["spec"]["volumes"][1] == {
        "mountPath": "/workspace",
        "permission": "RW",
        "volumeSource": {"standalone": {"name": "ws"}},
    }
    assert m.App.model_validate(wire) == m.App.model_validate(wire)


def test_unknown_state_from_a_newer_server_is_kept_as_text() -> None:
    body = {**SERVER_APP, "status": {"state": "HIBERNATING"}}
    app = m.App.model_validate(body)
    assert app.state == "HIBERNATING" and not isinstance(app.status.state, m.AppState)


def test_token_parses_and_hides_its_value_from_repr() -> None:
    token = m.Token.model_validate(
        {
            "id": "t1",
            "createdAt": "2025-05-01T10:00:00Z",
            "spec": {"name": "reader", "role": "ai_training_read", "labelSelector": "techlab/vllm=mistral"},
            "status": {"value": "s3cr3t-value", "version": 1},
        }
    )
    assert token.spec.role is m.TokenRole.READ and token.value == "s3cr3t-value"
    assert "s3cr3t-value" not in repr(token)


@pytest.mark.parametrize(
    ("given", "role", "cli"),
    [
        ("read", m.TokenRole.READ, "read"),
        ("operator", m.TokenRole.OPERATOR, "operator"),
        ("ai_training_read", m.TokenRole.READ, "read"),
        ("ai_training_operator", m.TokenRole.OPERATOR, "operator"),
    ],
)
def test_token_roles_accept_cli_and_wire_names(given: str, role: m.TokenRole, cli: str) -> None:
    assert m.TokenRole(given) is role
    assert role.cli_name == cli
    assert m.TokenSpec.model_validate({"name": "n", "role": given}).to_wire()["role"] == role.value


def test_capabilities_and_errors_parse_leniently() -> None:
    flavor = m.Flavor.model_validate(
        {
            "id": "l40s-1-gpu",
            "type": "gpu",
            "max": 4,
            "resourcesPerUnit": {"cpu": 13, "gpu": 1, "memory": 85899345920},
            "gpuInformation": {"gpuModel": "L40S", "gpuMemory": 48318382080, "gpuBrand": "NVIDIA"},
            "newThing": 1,
        }
    )
    assert flavor.type is m.FlavorType.GPU and flavor.max == 4
    assert m.Flavor.model_validate({"id": "q", "type": "qpu"}).type == "qpu"
    assert m.Quotas.model_validate({"resources": {"GPU": 4, "CPU": 12}}).resources == {"GPU": 4, "CPU": 12}
    assert m.Me.model_validate({"name": "admin", "whatever": [1]}).name == "admin"
    assert m.ErrorBody.model_validate({"class": "Client::BadRequest", "message": "x"}).error_class
    volume = m.UserVolume.model_validate({"id": "v", "standalone": {"name": "hub"}, "cache": False})
    assert volume.standalone == m.StandaloneSource(name="hub")


# ------------------------------------------------------------------------------------------------
# Input validation (what `check` reports before any API call)

SEED_SPEC: dict[str, Any] = {
    "name": "techlab-ai-vllm-mistral-small",
    "image": "vllm/vllm-openai:latest",
    "command": ["bash", "-c", "python3 -m vllm.entrypoints.openai.api_server --model m"],
    "defaultHttpPort": 8000,
    "labels": {"techlab/vllm": "mistral"},
    "resources": {"flavor": "l40s-1-gpu", "gpu": 2},
    "envVars": [{"name": "HF_TOKEN", "value": "hf_x"}, {"name": "HF_HOME", "value": "/hub"}],
    "volumes": [
        {"mountPath": "/hub", "permission": "RW", "volumeSource": {"standalone": {}}},
        {"mountPath": "/workspace", "permission": "RW", "volumeSource": {"standalone": {}}},
    ],
}


def _with(path: str, value: Any) -> dict[str, Any]:
    """A deep copy of SEED_SPEC with `value` set at a dotted path (ints index lists)."""
    spec: dict[str, Any] = json.loads(json.dumps(SEED_SPEC))
    node: Any = spec
    parts = [int(p) if p.isdigit() else p for p in path.split(".")]
    for part in parts[:-1]:
        node = node[part]
    if value is _DELETE:
        del node[parts[-1]]
    else:
        node[parts[-1]] = value
    return spec


_DELETE = object()
AUTO = {"replicasMin": 1, "replicasMax": 3, "averageUsageTarget": 75, "resourceType": "CPU"}


def test_seed_spec_is_valid_and_wire_form_is_stable() -> None:
    spec = m.AppSpec.from_input(SEED_SPEC)
    assert spec.to_wire() == SEED_SPEC
    assert "hf_x" not in repr(spec)


@pytest.mark.parametrize(
    ("spec", "where"),
    [
        (_with("image", _DELETE), "image"),
        (_with("image", " "), "image"),
        (_with("resources.cpu", 4), "resources"),
        (_with("resources.gpu", -1), "resources.gpu"),
        (_with("scalingStrategy", {"fixed": {"replicas": 1}, "automatic": AUTO}), "scalingStrategy"),
        (_with("scalingStrategy", {}), "scalingStrategy"),
        (_with("scalingStrategy", {"fixed": {"replicas": 0}}), "scalingStrategy.fixed.replicas"),
        (_with("scalingStrategy", {"fixed": {"replicas": 11}}), "scalingStrategy.fixed.replicas"),
        (
            _with("scalingStrategy", {"automatic": {**AUTO, "averageUsageTarget": 0}}),
            "scalingStrategy.automatic.averageUsageTarget",
        ),
        (
            _with("scalingStrategy", {"automatic": {**AUTO, "averageUsageTarget": 101}}),
            "scalingStrategy.automatic.averageUsageTarget",
        ),
        (
            _with("scalingStrategy", {"automatic": {**AUTO, "scaleDownStabilizationWindowSeconds": 3601}}),
            "scalingStrategy.automatic.scaleDownStabilizationWindowSeconds",
        ),
        (
            _with("scalingStrategy", {"automatic": {**AUTO, "replicasMin": 4}}),
            "scalingStrategy.automatic",
        ),
        (_with("volumes.0.mountPath", "hub"), "volumes[0].mountPath"),
        (_with("volumes.1.mountPath", "/hub/"), "volumes"),
        (_with("envVars.1.name", "HF_TOKEN"), "envVars"),
        (_with("envVars.0.name", "HF.TOKEN"), "envVars[0].name"),
        (_with("labels", {"bad label": "x"}), "labels"),
        (_with("labels", {"techlab/vllm": "no spaces"}), "labels"),
        (_with("probe", {"path": "health"}), "probe.path"),
        (_with("resources", _DELETE), "resources"),
        (_with("volumes.0.permission", "RWX"), "volumes[0].permission"),
        (_with("volumes.0.volumeSource", {}), "volumes[0].volumeSource"),
        (_with("envVars.0.name", "1BAD"), "envVars[0].name"),
        (_with("envVars.0.name", "BAD NAME"), "envVars[0].name"),
        (_with("defaultHttpPort", 0), "defaultHttpPort"),
        (_with("defaultHttpPort", 70000), "defaultHttpPort"),
        (_with("probe", {"path": "/health", "port": 65536}), "probe.port"),
        (_with("deploymentStrategy", {"maxSurge": "lots"}), "deploymentStrategy.maxSurge"),
        (_with("defaultHtttpPort", 8000), "(root)"),  # a typo is an unknown field on input
        (_with("resources.flavour", "l4-1-gpu"), "resources"),
    ],
)
def test_invalid_input_is_rejected_with_its_location(spec: dict[str, Any], where: str) -> None:
    with pytest.raises(ValidationError) as caught:
        m.AppSpec.from_input(spec)
    locations = [loc for loc, _ in m.field_errors(caught.value)]
    assert where in locations, m.field_errors(caught.value)


def test_field_errors_use_wire_paths_with_a_prefix() -> None:
    with pytest.raises(ValidationError) as caught:
        m.AppSpec.from_input(_with("volumes.1.mountPath", "workspace"))
    assert m.field_errors(caught.value, "spec") == [
        ("spec.volumes[1].mountPath", "mount path 'workspace' must start with '/'")
    ]


def test_deprecated_top_level_source_is_normalised() -> None:
    volume = m.Volume.model_validate(
        {"mountPath": "/data", "permission": "ro", "dataStore": {"alias": "GRA", "container": "c"}}
    )
    assert volume.to_wire() == {
        "mountPath": "/data",
        "permission": "RO",
        "volumeSource": {"dataStore": {"alias": "GRA", "container": "c"}},
    }
    with pytest.raises(ValidationError, match="volumeSource only"):
        m.Volume.model_validate(
            {"mountPath": "/d", "permission": "RW", "standalone": {}, "volumeSource": {"standalone": {}}}
        )


def test_snake_case_and_numbers_from_pulumi_are_accepted() -> None:
    spec = m.AppSpec.from_input(
        {
            "image": "i",
            "resources": {"flavor": "ai1-1-cpu", "cpu": 2.0},
            "default_http_port": 8000.0,
            "scaling_strategy": {"automatic": {**AUTO, "replicasMin": 0.0}},
            "deployment_strategy": {"max_surge": 1.0, "progressDeadlineSeconds": 600.0},
            "labels": {"n": 1},
        }
    )
    wire = spec.to_wire()
    assert wire["defaultHttpPort"] == 8000 and wire["scalingStrategy"]["automatic"]["replicasMin"] == 0
    assert wire["deploymentStrategy"] == {"maxSurge": "1", "progressDeadlineSeconds": 600}
    assert wire["labels"] == {"n": "1"}


def test_custom_metrics_scaling() -> None:
    strategy = m.ScalingStrategy.model_validate(
        {
            "automatic": {
                "replicasMin": 1,
                "replicasMax": 4,
                "customMetrics": {
                    "apiUrl": "http://localhost:8000/metrics",
                    "format": "PROMETHEUS",
                    "valueLocation": "vllm:num_requests_waiting",
                    "targetValue": 5,
                    "aggregationType": "AVERAGE",
                },
            }
        }
    )
    assert strategy.automatic is not None and strategy.automatic.custom_metrics is not None
    assert strategy.to_wire()["automatic"]["customMetrics"]["format"] == "PROMETHEUS"
    assert m.ScalingStrategy.fixed_replicas(2).to_wire() == {"fixed": {"replicas": 2}}


def test_update_keeps_an_empty_command_to_reset_it() -> None:
    assert m.AppUpdate(command=[], url="img:2").to_wire() == {"command": [], "url": "img:2"}
