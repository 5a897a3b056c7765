"""The settings layer: every rule on a stack's config, checked before any API call.

Each bad configuration must fail with its config key named (`vllm-ai-deploy:<key>`) and a command
that fixes it (`pulumi config set ...`), all problems at once, with no network access at all.
"""

from __future__ import annotations

import socket
from typing import Any

import pytest

from components import settings as s
from components.settings import SettingsError, load_settings

NS = "vllm-ai-deploy"
SEED = {"model": "mistral-small-24b", "gpuFlavor": "l40s-1-gpu", "gpuCount": "2"}
ENV = {"HF_TOKEN": "hf_env_token"}


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test: the rules must hold offline."""

    def refuse(*args: Any, **kwargs: Any) -> None:
        raise AssertionError(f"network access during settings checks: {args!r}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def load(overrides: dict[str, str], *, stack: str = "x-dev", base: dict[str, str] | None = None,
         secret: tuple[str, ...] = (), environ: dict[str, str] | None = None,
         provider: dict[str, str] | None = None) -> s.Settings:
    raw = {**(SEED if base is None else base), **overrides}
    raw = {k: v for k, v in raw.items() if v is not None}
    return load_settings(raw, stack=stack, secret_keys=secret, environ=ENV if environ is None else environ,
                         provider_config=provider or {})


# (id, overrides, stack, key expected in the error, extra load kwargs)
BAD: list[tuple[str, dict[str, Any], str, str, dict[str, Any]]] = [
    ("no model", {"model": ""}, "x-dev", "model", {}),
    ("unknown model", {"model": "mistral-smal"}, "x-dev", "model", {}),
    ("model description not JSON", {"modelSpec": "{oops"}, "x-dev", "modelSpec", {}),
    ("model description incomplete", {"model": "acme/tiny", "modelSpec": '{"hfId": "acme/tiny"}'},
     "x-dev", "modelSpec", {}),
    ("unknown environment", {"environment": "production"}, "x-dev", "environment", {}),
    ("environment not in stack name", {}, "playground", "environment", {}),
    ("unknown flavor", {"gpuFlavor": "a10-1-gpu"}, "x-dev", "gpuFlavor", {}),
    ("too many GPUs", {"gpuCount": "5"}, "x-dev", "gpuCount", {}),
    ("above the flavor's GPU limit", {"gpuFlavor": "a100-1-gpu", "gpuCount": "3"}, "x-dev", "gpuCount", {}),
    ("TP not dividing the heads", {"gpuCount": "3"}, "x-dev", "gpuCount", {}),
    ("context above the model's", {"maxModelLen": "200000"}, "x-dev", "maxModelLen", {}),
    ("context that fits no GPU", {"model": "llama-3.1-8b", "gpuFlavor": "l4-1-gpu", "gpuCount": "1"},
     "x-dev", "maxModelLen", {}),
    ("weights that fit no L4", {"gpuFlavor": "l4-1-gpu", "gpuCount": "1"}, "x-dev", "gpuFlavor", {}),
    ("context too short", {"maxModelLen": "100"}, "x-dev", "maxModelLen", {}),
    ("unknown dtype", {"dtype": "int4"}, "x-dev", "dtype", {}),
    ("bfloat16 on V100S", {"model": "mistral-7b", "dtype": "bfloat16", "gpuFlavor": "ai1-1-gpu",
                           "gpuCount": "1", "maxModelLen": "8192"}, "x-dev", "dtype", {}),
    ("unknown KV cache dtype", {"kvCacheDtype": "fp4"}, "x-dev", "kvCacheDtype", {}),
    ("GPU memory share too high", {"gpuMemoryUtilization": "0.99"}, "x-dev", "gpuMemoryUtilization", {}),
    ("GPU memory share not a number", {"gpuMemoryUtilization": "lots"}, "x-dev", "gpuMemoryUtilization", {}),
    ("latest in prod", {"vllmImage": "vllm/vllm-openai:latest"}, "x-prod", "vllmImage", {}),
    ("no tag in prod", {"vllmImage": "vllm/vllm-openai"}, "x-prod", "vllmImage", {}),
    ("not an image", {"vllmImage": "Not An Image!"}, "x-dev", "vllmImage", {}),
    ("unsecureHttp in prod", {"unsecureHttp": "true"}, "x-prod", "unsecureHttp", {}),
    ("replicas above 10", {"replicas": "11"}, "x-dev", "replicas", {}),
    ("replicas not a number", {"replicas": "two"}, "x-dev", "replicas", {}),
    ("fixed and automatic scaling", {"replicas": "2", "maxReplicas": "3"}, "x-dev", "replicas", {}),
    ("autoscaling max above 10", {"maxReplicas": "11"}, "x-dev", "maxReplicas", {}),
    ("autoscaling min above max", {"minReplicas": "3", "maxReplicas": "2"}, "x-dev", "minReplicas", {}),
    ("scale to zero without a max", {"minReplicas": "0"}, "x-dev", "minReplicas", {}),
    ("unknown scaling metric", {"maxReplicas": "2", "scalingMetric": "GPU"}, "x-dev", "scalingMetric", {}),
    ("scaling target 0", {"maxReplicas": "2", "scalingTarget": "0"}, "x-dev", "scalingTarget", {}),
    ("cooldown above an hour", {"maxReplicas": "2", "cooldownSeconds": "7200"}, "x-dev",
     "cooldownSeconds", {}),
    ("relative cache path", {"cachePath": "hub"}, "x-dev", "cachePath", {}),
    ("cache over a system directory", {"cachePath": "/etc/hf"}, "x-dev", "cachePath", {}),
    ("workspace inside the cache", {"workspacePath": "/hub/work"}, "x-dev", "workspacePath", {}),
    ("two volumes at one path", {"extraVolumes": '["data@GRA:/hub:ro"]'}, "x-dev", "extraVolumes", {}),
    ("volume source without alias", {"extraVolumes": '["data:/data"]'}, "x-dev", "extraVolumes", {}),
    ("volume permission unknown", {"extraVolumes": '["standalone:/data:rx"]'}, "x-dev", "extraVolumes", {}),
    ("volumes not a list", {"extraVolumes": "oops"}, "x-dev", "extraVolumes", {}),
    ("cache container without alias", {"cacheVolume": "bucket@"}, "x-dev", "cacheVolume", {}),
    ("unknown token role", {"tokenRole": "admin"}, "x-dev", "tokenRole", {}),
    ("readiness under a minute", {"readinessTimeoutSeconds": "30"}, "x-dev", "readinessTimeoutSeconds", {}),
    ("readiness shorter than the download", {"readinessTimeoutSeconds": "600"}, "x-dev",
     "readinessTimeoutSeconds", {}),
    ("keepFailedApps not a boolean", {"keepFailedApps": "maybe"}, "x-dev", "keepFailedApps", {}),
    ("platform label", {"labels": '["ovh/id=x"]'}, "x-dev", "labels", {}),
    ("label without value", {"labels": '["team"]'}, "x-dev", "labels", {}),
    ("the deployment label itself", {"labels": '["vllm-ai-deploy/deployment=x"]'}, "x-dev", "labels", {}),
    ("gated model without HF token", {}, "x-dev", "hfToken", {"environ": {}}),
    ("HF token in plain text", {"hfToken": "hf_plain"}, "x-dev", "hfToken", {}),
    ("HF token of the wrong form", {"hfToken": "abc"}, "x-dev", "hfToken", {"secret": ("hfToken",)}),
    ("tool calling without a parser", {"model": "deepseek-r1-distill-llama-70b", "gpuFlavor": "",
                                       "gpuCount": "0", "toolCalling": "true"}, "x-dev", "toolCalling", {}),
    ("vLLM flag the plan sets", {"vllmArgs": '["--max-model-len=4096"]'}, "x-dev", "vllmArgs", {}),
    ("replicas above the GPU quota", {"replicas": "3"}, "x-dev", "replicas", {}),
    ("typo in a key", {"maxModelLength": "4096"}, "x-dev", "maxModelLength", {}),
    ("price override malformed", {"prices": '["l40s-1-gpu=abc"]'}, "x-dev", "prices", {}),
    ("app name with capitals", {"appName": "Bad_Name"}, "x-dev", "appName", {}),
    ("served name with a space", {"servedModelName": "my model"}, "x-dev", "servedModelName", {}),
    ("API token in plain text", {}, "x-dev", "ovhai:token", {"provider": {"ovhai:token": "abc"}}),
    ("prod API over http", {"vllmImage": s.PINNED_VLLM_IMAGE}, "x-prod", "ovhai:endpoint",
     {"provider": {"ovhai:endpoint": "http://127.0.0.1:19080"}}),
    ("GPU quota 0", {"gpuQuota": "0"}, "x-dev", "gpuQuota", {}),
]


def test_there_are_at_least_twenty_bad_configurations() -> None:
    assert len(BAD) >= 20


@pytest.mark.parametrize(
    ("overrides", "stack", "key", "kwargs"), [b[1:] for b in BAD], ids=[b[0] for b in BAD]
)
def test_bad_configuration_names_the_key_and_the_fix(
    overrides: dict[str, Any], stack: str, key: str, kwargs: dict[str, Any]
) -> None:
    with pytest.raises(SettingsError) as raised:
        load(overrides, stack=stack, **kwargs)
    full = key if ":" in key else f"{NS}:{key}"
    problems = [p for p in raised.value.problems if p.key == full]
    assert problems, f"{full} not named in:\n{raised.value}"
    for problem in problems:
        assert problem.fix.startswith(("pulumi config set ", "pulumi config rm ")), problem.fix
        assert full.split("[")[0] in problem.fix or "pulumi config set" in problem.fix
    text = str(raised.value)
    assert full in text and "fix: pulumi config" in text


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(SettingsError) as raised:
        load({"replicas": "12", "vllmImage": "vllm/vllm-openai:latest", "unsecureHttp": "true",
              "cachePath": "hub", "tokenRole": "admin", "maxModelLength": "1"}, stack="x-prod", environ={})
    keys = set(raised.value.keys)
    expected = {"replicas", "vllmImage", "unsecureHttp", "cachePath", "tokenRole", "maxModelLength",
                "hfToken"}
    assert {f"{NS}:{k}" for k in expected} <= keys


def test_fix_commands_are_the_ones_to_type() -> None:
    with pytest.raises(SettingsError) as raised:
        load({"model": "llama-3.1-8b", "gpuFlavor": "l4-1-gpu", "gpuCount": "1"}, environ={})
    fixes = {p.key: p.fix for p in raised.value.problems}
    assert fixes[f"{NS}:maxModelLen"].startswith(f"pulumi config set {NS}:maxModelLen ")
    planned = int(fixes[f"{NS}:maxModelLen"].rsplit(" ", 1)[1])
    assert 8192 <= planned < 131072
    assert fixes[f"{NS}:hfToken"] == f"pulumi config set --secret {NS}:hfToken hf_..."
    # the proposed context really fits
    ok = load({"model": "llama-3.1-8b", "gpuFlavor": "l4-1-gpu", "gpuCount": "1",
               "maxModelLen": str(planned)})
    assert ok.plan.fits and ok.plan.max_model_len == planned


def test_a_tiny_context_is_not_the_proposed_fix() -> None:
    with pytest.raises(SettingsError) as raised:
        # vLLM 0.10's memory model: on 0.21+ a 9k context fits (smaller sampler peak) and is proposed
        load({"model": "llama-3.3-70b", "gpuFlavor": "h100-1-gpu", "gpuCount": "2", "maxModelLen": "32768",
              "vllmImage": "vllm/vllm-openai:v0.10.1.1"})
    assert [p.key for p in raised.value.problems] == [f"{NS}:dtype"]
    assert raised.value.problems[0].fix == f"pulumi config set {NS}:dtype fp8"


def test_gpu_count_fix_divides_the_heads() -> None:
    with pytest.raises(SettingsError) as raised:
        load({"gpuCount": "3"})
    (problem,) = [p for p in raised.value.problems if p.key == f"{NS}:gpuCount"]
    assert problem.fix == f"pulumi config set {NS}:gpuCount 2"
    assert "does not divide" in problem.message


def test_environment_defaults() -> None:
    dev = load({}, stack="dev")
    assert dev.environment == "dev" and dev.scaling.replicas == 1 and dev.keep_failed_apps
    assert dev.image == "vllm/vllm-openai:latest"
    prod = load({}, stack="mistral-small-prod")
    assert prod.environment == "prod" and prod.scaling.replicas == 2 and not prod.keep_failed_apps
    assert prod.image == s.PINNED_VLLM_IMAGE and prod.readiness_timeout_seconds == 3600
    staging = load({}, stack="x-staging")
    assert staging.scaling.replicas == 1 and staging.readiness_timeout_seconds == 2700
    explicit = load({"environment": "staging"}, stack="anything")
    assert explicit.environment == "staging"


def test_readiness_never_shorter_than_the_model_download() -> None:
    big = load({"model": "llama-3.3-70b", "gpuFlavor": "h100-1-gpu", "gpuCount": "4", "maxModelLen": "32768"})
    assert big.readiness_timeout_seconds > 1800  # dev's default, raised to the progress deadline


def test_pinned_images_pass_in_prod() -> None:
    pinned = "vllm/vllm-openai:v0.10.1.1"
    assert load({"vllmImage": pinned}, stack="x-prod").image == pinned
    # A custom tag or a digest does not say its release: vllmVersion does.
    for image in ("registry.example.com:5000/team/vllm:2025.06", "vllm/vllm-openai@sha256:" + "a" * 64):
        with pytest.raises(s.SettingsError) as raised:
            load({"vllmImage": image}, stack="x-prod")
        assert raised.value.keys == ["vllm-ai-deploy:vllmVersion"]
        assert "pulumi config set vllm-ai-deploy:vllmVersion" in str(raised.value)
        settings = load({"vllmImage": image, "vllmVersion": "0.30.0"}, stack="x-prod")
        assert settings.image == image and settings.engine.release is not None
        assert settings.engine.release.label == "0.30.0"


def test_staging_warns_about_a_floating_image() -> None:
    settings = load({"vllmImage": "vllm/vllm-openai:latest"}, stack="x-staging")
    assert any("not pinned" in w for w in settings.warnings)


def test_autoscaling_and_cost_range() -> None:
    settings = load({"minReplicas": "0", "maxReplicas": "2", "cooldownSeconds": "600"})
    assert settings.scaling.to_wire() == {"automatic": {
        "replicasMin": 0, "replicasMax": 2, "resourceType": "CPU", "averageUsageTarget": 75,
        "cooldownPeriodSeconds": 600}}
    cost = settings.estimated_hourly_cost()
    assert cost["amount"] == 0 and cost["maxAmount"] == pytest.approx(5.6) and "estimate" in cost["note"]


def test_volumes_and_labels() -> None:
    settings = load({"cacheVolume": "hf@S3GRA/models", "workspacePath": "",
                     "extraVolumes": '["data@GRA/set1:/data:ro:cache", "standalone:/scratch"]',
                     "labels": '["team=ml", "example.com/owner=alice"]'})
    wire = [v.to_wire() for v in settings.volumes]
    cache = {"dataStore": {"alias": "S3GRA", "container": "hf", "prefix": "models"}}
    assert wire[0] == {"mountPath": "/hub", "permission": "RW", "cache": False, "volumeSource": cache}
    assert wire[1]["permission"] == "RO" and wire[1]["cache"] is True
    assert wire[2]["volumeSource"] == {"standalone": {}}
    assert settings.labels == {"team": "ml", "example.com/owner": "alice"}


def test_model_description_outside_the_catalog() -> None:
    spec = ('{"hfId": "acme/tiny-chat", "hiddenSize": 2048, "intermediateSize": 5632, "numHiddenLayers": 22,'
            ' "numAttentionHeads": 32, "numKeyValueHeads": 4, "headDim": 64, "vocabSize": 32000,'
            ' "maxPositionEmbeddings": 4096, "paramsB": 1.1}')
    settings = load({"model": "acme/tiny-chat", "modelSpec": spec, "gpuFlavor": "", "gpuCount": "0"})
    assert settings.model.hf_id == "acme/tiny-chat" and settings.hf_token is None
    assert settings.plan.flavor == "l4-1-gpu"


def test_hf_token_from_secret_config_and_never_in_repr() -> None:
    settings = load({"hfToken": "hf_from_config"}, secret=("hfToken",), environ={})
    assert settings.hf_token is not None and settings.hf_token.get_secret_value() == "hf_from_config"
    assert "hf_from_config" not in repr(settings)


def test_deployment_label_is_a_valid_label_value() -> None:
    value = s.deployment_label_value("vllm-ai-deploy", "org/" + "x" * 80)
    assert len(value) <= 63 and value[0].isalnum() and value[-1].isalnum() and "/" not in value
