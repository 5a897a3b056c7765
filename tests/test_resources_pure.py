"""The pure parts of the dynamic resources: credentials, fingerprints, check, diff, pickling."""

from __future__ import annotations

import base64
import pickle
from typing import Any

import dill
import pytest
from pulumi.dynamic import Config, ConfigureRequest
from pulumi.runtime import rpc

from components.resources import AiAppProvider, AiTokenProvider, MissingCredentials
from components.resources.credentials import resolve
from components.resources.fingerprint import fingerprint, fingerprints, new_key, redact
from components.resources.spec_diff import DEPLOYMENT_LABEL, diff_app, gpu_count, project_live
from components.resources.validation import check_app, check_token
from tests.provider_harness import provider_blob


class _Unknown:  # stands for pulumi's Unknown (matched by class name, as the provider sees it)
    pass


_Unknown.__name__ = "Unknown"

HF = "hf_abcdefghijklmnopqrstuvwxyz0123"


def seed_inputs(**changes: Any) -> dict[str, Any]:
    spec = {
        "name": "techlab-ai-vllm-mistral-small",
        "image": "vllm/vllm-openai:latest",
        "command": ["bash", "-c", "python3 -m vllm.entrypoints.openai.api_server --model m"],
        "defaultHttpPort": 8000.0,
        "labels": {"techlab/vllm": "mistral"},
        "resources": {"flavor": "l40s-1-gpu", "gpu": 2.0},
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
        "volumes": [
            {"mountPath": "/hub", "permission": "RW", "volumeSource": {"standalone": {}}},
            {"mountPath": "/workspace", "permission": "RW", "volumeSource": {"standalone": {}}},
        ],
        "scalingStrategy": {"fixed": {"replicas": 1.0}},
    }
    spec.update(changes.pop("spec", {}))
    base = {
        "spec": spec,
        "secretEnv": {"HF_TOKEN": HF},
        "readiness": {"path": "/health"},
        "deploymentKey": "seed",
    }
    return {**base, **changes}


def as_floats(value: Any) -> Any:
    """What the engine sends back: every number a float."""
    if isinstance(value, dict):
        return {k: as_floats(v) for k, v in value.items()}
    if isinstance(value, list):
        return [as_floats(v) for v in value]
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def checked(**changes: Any) -> dict[str, Any]:
    inputs, failures = check_app(seed_inputs(**changes))
    assert failures == []
    return inputs


def as_outputs(inputs: dict[str, Any], key: str = "ab" * 32) -> dict[str, Any]:
    """What create returns for these inputs (the part diff reads)."""
    return {
        **inputs,
        "secretEnv": fingerprints(key, inputs["secretEnv"]),
        "fingerprintKey": key,
        "state": "RUNNING",
    }


# -- credentials ---------------------------------------------------------------------------------


def test_stack_config_wins_over_environment() -> None:
    config = {"ovhai:endpoint": "http://127.0.0.1:1/", "ovhai:token": "from-config"}
    creds = resolve(config, {"OVHAI_ENDPOINT": "http://env", "OVHAI_TOKEN": "from-env"})
    assert (creds.endpoint, creds.token) == ("http://127.0.0.1:1", "from-config")
    assert "from-config" not in repr(creds)


def test_environment_is_the_fallback_and_region_makes_an_endpoint() -> None:
    creds = resolve({"ovhai:region": "GRA"}, {"OVHAI_TOKEN": "t0ken"})
    assert creds.endpoint == "https://gra.ai.cloud.ovh.net" and creds.token == "t0ken"


def test_missing_credentials_name_both_ways() -> None:
    with pytest.raises(MissingCredentials) as caught:
        resolve({}, {})
    message = str(caught.value)
    for needle in (
        "ovhai:endpoint",
        "OVHAI_ENDPOINT",
        "pulumi config set --secret ovhai:token",
        "OVHAI_TOKEN",
    ):
        assert needle in message


def test_configure_reads_namespaced_keys_through_pulumi_config() -> None:
    provider = AiAppProvider()
    config = Config({"ovhai:endpoint": "http://e", "ovhai:token": "tok-123456"}, "vllm-ai-deploy")
    provider.configure(ConfigureRequest(config))
    assert provider.credentials().endpoint == "http://e"


# -- fingerprints --------------------------------------------------------------------------------


def test_fingerprint_is_keyed_and_hides_the_value() -> None:
    key1, key2 = new_key(), new_key()
    assert fingerprint(key1, "HF_TOKEN", HF) == fingerprint(key1, "HF_TOKEN", HF)
    assert fingerprint(key1, "HF_TOKEN", HF) != fingerprint(key2, "HF_TOKEN", HF)
    assert fingerprint(key1, "HF_TOKEN", HF) != fingerprint(key1, "OTHER", HF)
    assert HF not in fingerprint(key1, "HF_TOKEN", HF)


def test_redact_replaces_every_secret() -> None:
    assert redact(f"bad {HF} and {HF}!", [HF, ""]) == "bad [secret] and [secret]!"


# -- check ---------------------------------------------------------------------------------------


def test_check_restores_ints_and_fills_defaults() -> None:
    inputs = checked()
    assert inputs["spec"]["resources"]["gpu"] == 2 and isinstance(inputs["spec"]["resources"]["gpu"], int)
    assert inputs["spec"]["defaultHttpPort"] == 8000
    assert inputs["deploymentKey"] == "seed"
    inputs, _ = check_app({k: v for k, v in seed_inputs().items() if k != "deploymentKey"})
    assert inputs["deploymentKey"] == "techlab-ai-vllm-mistral-small"  # defaults to the app's name
    assert inputs["readiness"] == {"path": "/health", "timeoutSeconds": 1800}
    assert inputs["gpuQuota"] == 4 and inputs["keepFailedApps"] is False


def test_check_reports_one_failure_per_bad_field() -> None:
    news = seed_inputs(
        spec={
            "resources": {"flavor": "l40s-1-gpu", "gpu": -1.0},
            "volumes": [{"mountPath": "hub", "permission": "RW", "volumeSource": {"standalone": {}}}],
            "defaultHttpPort": 70000.0,
            "labels": {"ovh/id": "x", DEPLOYMENT_LABEL: "y"},
        },
        deploymentKey="not a label!",
        readiness={"path": "health", "timeoutSeconds": -1.0},
    )
    news["secretEnv"]["1BAD"] = "x"
    _, failures = check_app(news)
    paths = [path for path, _ in failures]
    for expected in (
        "spec.resources.gpu",
        "spec.volumes[0].mountPath",
        "spec.defaultHttpPort",
        "spec.labels.ovh/id",
        f"spec.labels.{DEPLOYMENT_LABEL}",
        "deploymentKey",
        "readiness.path",
        "readiness.timeoutSeconds",
        "secretEnv.1BAD",
    ):
        assert expected in paths, (expected, failures)
    assert len(paths) == len(set(paths))
    assert all(reason and "Value error" not in reason for _, reason in failures)


def test_check_rejects_unknown_fields_missing_image_and_duplicated_secrets() -> None:
    news = seed_inputs(spec={"imgae": "typo", "envVars": [{"name": "HF_TOKEN", "value": "x"}]})
    del news["spec"]["image"]
    _, failures = check_app(news)
    text = repr(failures)
    assert "spec.image" in text and "imgae" in text and "secretEnv.HF_TOKEN" in text


def test_check_skips_model_validation_for_unknown_values() -> None:
    _, failures = check_app(seed_inputs(spec={"image": _Unknown()}))
    assert failures == []


def test_check_token_roles() -> None:
    inputs, failures = check_token({"name": "t", "role": "ai_training_operator", "labelSelector": "a=b"})
    assert failures == [] and inputs["role"] == "operator"
    _, failures = check_token({"name": "t", "role": "admin", "labelSelector": "nope"})
    assert {p for p, _ in failures} == {"role", "labelSelector"}


# -- diff ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "kind", "path"),
    [
        ({"spec": {"image": "vllm/vllm-openai:v0.9"}}, "update", "spec.image"),
        ({"spec": {"scalingStrategy": {"fixed": {"replicas": 2}}}}, "update", "spec.scalingStrategy"),
        ({"spec": {"labels": {"techlab/vllm": "other"}}}, "update", "spec.labels"),
        ({"spec": {"command": ["bash"]}}, "update", "spec.command"),
        ({"spec": {"resources": {"flavor": "h100-1-gpu", "gpu": 1}}}, "update", "spec.resources"),
        ({"spec": {"probe": {"path": "/health", "port": 8000}}}, "update", "spec.probe"),
        ({"spec": {"name": "renamed"}}, "replace", "spec.name"),
        ({"spec": {"volumes": []}}, "replace", "spec.volumes"),
        ({"spec": {"unsecureHttp": True}}, "replace", "spec.unsecureHttp"),
        ({"spec": {"grpcPort": 9000}}, "replace", "spec.grpcPort"),
        ({"deploymentKey": "other-key"}, "replace", "deploymentKey"),
    ],
)
def test_diff_classifies_each_field(change: dict[str, Any], kind: str, path: str) -> None:
    olds = as_outputs(checked())
    news = checked(**change)
    changes = diff_app(olds, news)
    assert (changes.replaces if kind == "replace" else changes.updates) == [path]
    if kind == "update":
        assert changes.replaces == []


def test_diff_compares_secrets_by_fingerprint_and_ignores_float_ints() -> None:
    olds = as_outputs(checked())
    assert not diff_app(as_floats(olds), as_floats(checked())).changed  # floats equal the stored ints
    news = checked()
    news["secretEnv"] = {"HF_TOKEN": HF + "x"}
    assert diff_app(olds, news).updates == ["secretEnv"]
    news["secretEnv"] = {"HF_TOKEN": _Unknown()}
    assert diff_app(olds, news).updates == ["secretEnv"]


def test_diff_ignores_platform_labels_and_provider_key() -> None:
    olds = as_outputs(checked())
    olds["spec"] = {
        **olds["spec"],
        "labels": {**olds["spec"]["labels"], "ovh/id": "1", DEPLOYMENT_LABEL: "k"},
    }
    news = {**checked(), "__provider": "blob"}
    assert not diff_app(olds, news).changed


def test_unknown_values_update_or_replace() -> None:
    olds = as_outputs(checked())
    assert diff_app(olds, checked(spec={"image": _Unknown()})).updates == ["spec.image"]
    assert diff_app(olds, checked(spec={"volumes": _Unknown()})).replaces == ["spec.volumes"]


def test_delete_before_replace_when_both_would_exceed_the_gpu_quota() -> None:
    olds = as_outputs(checked())  # 2 GPUs
    assert diff_app(olds, checked(spec={"name": "b"})).delete_before_replace is False  # 2 + 2 <= 4
    bigger = checked(spec={"name": "b", "resources": {"flavor": "l40s-1-gpu", "gpu": 3}})
    assert diff_app(olds, bigger).delete_before_replace is True
    assert diff_app(olds, {**bigger, "gpuQuota": 8}).delete_before_replace is False
    auto = {"automatic": {"replicasMin": 1, "replicasMax": 3}}
    assert gpu_count({"resources": {"gpu": 2}, "scalingStrategy": auto}) == 6


def test_stopped_app_seen_by_refresh_is_an_update() -> None:
    olds = {**as_outputs(checked()), "state": "STOPPED"}
    assert diff_app(olds, checked()).updates == ["state"]


def test_project_live_keeps_input_shape() -> None:
    wanted = checked()["spec"]
    live = {
        **wanted,
        "labels": {**wanted["labels"], "ovh/id": "x", DEPLOYMENT_LABEL: "k"},
        "resources": {**wanted["resources"], "cpu": 26, "memory": 1234},
        "envVars": [*wanted["envVars"], {"name": "HF_TOKEN", "value": HF}],
        "probe": {"path": "/", "port": 8000},
        "image": "drifted:1",
    }
    projected = project_live(wanted, live, {"HF_TOKEN"})
    assert projected == {**wanted, "image": "drifted:1"}


# -- pickling --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", [AiAppProvider, AiTokenProvider])
def test_pickled_provider_is_small_by_reference_and_holds_no_credential(cls: type) -> None:
    provider = cls()
    provider.configure(ConfigureRequest(Config({"ovhai:endpoint": "http://e", "ovhai:token": HF}, "p")))
    blob = provider_blob(provider)
    raw = base64.b64decode(blob)
    assert len(raw) < 20_000, len(raw)
    assert HF.encode() not in raw and b"http://e" not in raw
    assert cls.__module__.encode() in raw  # the class travels by reference, not by value
    clone = dill.loads(raw)
    assert type(clone) is cls and not hasattr(clone, "_credentials")
    assert pickle.dumps(clone)  # and a plain pickle works too
    assert rpc.UNKNOWN not in blob
