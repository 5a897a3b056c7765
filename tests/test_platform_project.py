"""A model stack with `cacheStack` on the public door takes the platform stack's project (issue 13).

The project of the OVHcloud public API (`/cloud/project/{serviceName}/ai/...`) comes from
`vllm-ai-deploy:serviceName` or, for a stack with `cacheStack` and no key of its own, from the
platform stack's `serviceName` output (components/cache.py reads it). A dynamic provider cannot be
handed a value the program computes except as a resource input, so AiApp, AiToken and AiCachePush
take an optional `serviceName` input, laid under the stack config by
`ApiProvider.credentials(service_name)` (`credentials.resolve(..., service_name=)`: an explicit
key always wins).

Pure checks are plain functions; the provider is the real `python -m pulumi.dynamic` process
against the emulator's public door over loopback (a free port), configured with `ovh:*` keys and
no project; the program runs under `pulumi.runtime.set_mocks` with the platform's StackReference
MOCKED (a real one needs a deployed platform stack, which needs the pulumi-resource-ovh plugin
these machines cannot obtain; tests/test_alias_service_name.py does the same).
"""

from __future__ import annotations

import gc
import uuid
from collections.abc import Iterator
from typing import Any

import dill
import grpc
import pulumi
import pytest
from pulumi.dynamic import ConfigureRequest

from components import cache
from components.resources import AiAppProvider, AiTokenProvider
from components.resources.credentials import (
    SERVICE_NAME_KEY,
    MissingCredentials,
    needs_project,
    resolve,
)
from components.resources.datasync import AiCachePushProvider
from components.resources.provider_base import ApiProvider
from components.resources.validation import check_app, check_token
from components.settings import SettingsError, load_settings
from emulator.runner import RunningEmulator, start_emulator
from tests.program_harness import REPO, ProgramRun, RecordingMocks, run_program, stack_config
from tests.provider_harness import EmulatorControl, ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "platform-project-admin-5e1a"
AK, AS, CK = "pp-ak", "pp-as-secret-93b1", "pp-ck-secret-2c7e"
SERVICE = "abcdefabcdefabcdefabcdefabcdef12"
SECRETS = (AS, CK, ADMIN)
PUBLIC = {  # the public door without a project
    "ovh:endpoint": "ovh-eu",
    "ovh:applicationKey": AK,
    "ovh:applicationSecret": AS,
    "ovh:consumerKey": CK,
    "ovhai:region": "gra",
}


# ------------------------------------------------------------------------------ pure


def test_a_project_handed_in_fills_the_missing_key() -> None:
    with pytest.raises(MissingCredentials) as info:
        resolve(PUBLIC, environ={})
    assert [key for key, _, _ in info.value.issues] == [SERVICE_NAME_KEY]
    assert resolve(PUBLIC, environ={}, service_name=SERVICE).service_name == SERVICE


def test_an_explicit_key_or_variable_wins_over_the_one_handed_in() -> None:
    own = {**PUBLIC, SERVICE_NAME_KEY: "own-project"}
    assert resolve(own, environ={}, service_name=SERVICE).service_name == "own-project"
    env = {"OVH_CLOUD_PROJECT_SERVICE": "env-project"}
    assert resolve(PUBLIC, environ=env, service_name=SERVICE).service_name == "env-project"
    # The regional door has no project: the one handed in changes nothing.
    regional = resolve({"ovhai:endpoint": "https://gra.ai.cloud.ovh.net", "ovhai:token": "t"},
                       environ={}, service_name=SERVICE)  # fmt: skip
    assert regional.door == "regional" and regional.service_name is None


def test_which_stacks_need_the_platforms_project() -> None:
    assert needs_project(PUBLIC, environ={})
    assert not needs_project({**PUBLIC, SERVICE_NAME_KEY: "p"}, environ={})
    assert not needs_project(PUBLIC, environ={"OVH_CLOUD_PROJECT_SERVICE": "p"})
    assert not needs_project({"ovhai:endpoint": "http://x", "ovhai:token": "t"}, environ={})
    # An ambient OVH_* does not change the door a stack config names.
    assert not needs_project({"ovhai:token": "t"}, environ={"OVH_APPLICATION_KEY": "ak"})
    assert needs_project({}, environ={"OVH_APPLICATION_KEY": "ak"})


def configured(config: dict[str, Any]) -> ApiProvider:
    provider = AiAppProvider()
    provider.configure(ConfigureRequest(config))  # type: ignore[arg-type]
    return provider


def test_the_provider_lays_the_input_under_its_config(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVH_CLOUD_PROJECT_SERVICE", raising=False)
    provider = configured(PUBLIC)
    with pytest.raises(MissingCredentials, match=SERVICE_NAME_KEY):
        provider.credentials()
    assert provider.credentials(SERVICE).service_name == SERVICE
    own = configured({**PUBLIC, SERVICE_NAME_KEY: "own-project"})
    assert own.credentials(SERVICE).service_name == "own-project"
    # Another missing piece is not filled by a project.
    half = configured({k: v for k, v in PUBLIC.items() if k != "ovh:consumerKey"})
    with pytest.raises(MissingCredentials, match="ovh:consumerKey"):
        half.credentials(SERVICE)


def test_the_pickled_provider_holds_no_secret(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVH_CLOUD_PROJECT_SERVICE", raising=False)
    for make in (AiAppProvider, AiTokenProvider, AiCachePushProvider):
        provider = make()
        provider.configure(ConfigureRequest(PUBLIC))  # type: ignore[arg-type]
        assert provider.credentials(SERVICE).signature is not None  # the config is kept in memory
        blob = dill.dumps(provider, recurse=True)
        for secret in (AS, CK, AK):
            assert secret.encode() not in blob
        assert dill.loads(blob).__dict__ == {}


def test_the_inputs_are_checked() -> None:
    spec = {"name": "a", "image": "vllm/vllm-openai:latest", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}}
    _, failures = check_app({"spec": spec, "deploymentKey": "a", "serviceName": SERVICE})
    assert failures == []
    _, failures = check_app({"spec": spec, "deploymentKey": "a", "serviceName": ""})
    assert [path for path, _ in failures] == ["serviceName"]
    _, failures = check_token({"name": "t", "role": "read", "serviceName": 7})
    assert [path for path, _ in failures] == ["serviceName"]


def test_another_project_replaces_and_none_given_changes_nothing() -> None:
    app = AiAppProvider()
    olds = {"spec": {"name": "a"}, "deploymentKey": "a", "serviceName": SERVICE}
    assert app.diff("id", olds, {**olds, "serviceName": "other"}).replaces == ["serviceName"]
    assert not app.diff("id", olds, dict(olds)).changes
    plain = {"spec": {"name": "a"}, "deploymentKey": "a"}
    assert not app.diff("id", plain, dict(plain)).changes
    token = AiTokenProvider()
    tolds = {"name": "t", "role": "read", "serviceName": SERVICE}
    assert token.diff("id", tolds, {**tolds, "serviceName": "other"}).replaces == ["serviceName"]
    push = AiCachePushProvider()
    polds = {"appId": "x", "prefix": "p", "serviceName": SERVICE}
    assert push.diff("id", polds, {**polds, "serviceName": "other"}).replaces == ["serviceName"]


def test_a_platform_without_the_output_fails_when_the_project_is_needed() -> None:
    outputs = {"bucket": "b", "region": "GRA", "alias": "a", "s3Endpoint": "https://s3", "cachePrefix": "m"}
    with pytest.raises(cache.CacheError) as info:
        cache.resolve_source(outputs, stack="org/platform/gra", app_region="GRA", model_prefix="x",
                             project_needed=True)  # fmt: skip
    assert info.value.key == "serviceName" and "pulumi config set serviceName" in str(info.value)
    src = cache.resolve_source({**outputs, "serviceName": SERVICE}, stack="org/platform/gra",
                               app_region="GRA", model_prefix="x", project_needed=True)  # fmt: skip
    assert src.service_name == SERVICE


# ------------------------------------------------------------------------------ settings at preview

SEED = {"model": "mistral-small-24b", "gpuFlavor": "l40s-1-gpu", "gpuCount": "2"}
SECRET_KEYS = {"ovh:applicationSecret", "ovh:consumerKey"}


def settings_problems(raw: dict[str, str]) -> dict[str, str]:
    try:
        load_settings({**SEED, **raw}, stack="x-dev", secret_keys=SECRET_KEYS,
                      environ={"HF_TOKEN": "hf_x"}, provider_config=PUBLIC)  # fmt: skip
    except SettingsError as error:
        return {p.key: p.fix for p in error.problems}
    return {}


def test_settings_accept_a_cache_stack_without_its_own_project() -> None:
    assert SERVICE_NAME_KEY not in settings_problems({"cacheStack": "organization/platform/gra"})
    assert SERVICE_NAME_KEY in settings_problems({})  # no platform: the key is still needed


# ------------------------------------------------------------------------------ the real provider


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    args = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--service-name", SERVICE]
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


@pytest.fixture(scope="module")
def proc(emu: RunningEmulator) -> Iterator[ProviderProcess]:
    blank = {k: "" for k in ("OVHAI_ENDPOINT", "OVHAI_TOKEN", "OVH_ENDPOINT", "OVH_APPLICATION_KEY",
                             "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY", "OVH_CLIENT_ID",
                             "OVH_CLIENT_SECRET", "OVH_CLOUD_PROJECT_SERVICE")}  # fmt: skip
    with ProviderProcess.start(env=blank) as process:
        process.configure({**PUBLIC, "ovh:endpoint": emu.base_url + "/1.0",
                           "ovh:applicationSecret": Secret(AS), "ovh:consumerKey": Secret(CK)})  # fmt: skip
        yield process


def test_the_provider_deploys_with_the_project_as_an_input_only(
    proc: ProviderProcess, emu: RunningEmulator
) -> None:
    control = EmulatorControl(emu.base_url, ADMIN)
    seen: list[Any] = []
    token_blob = provider_blob(AiTokenProvider())
    props = {"name": "pp-consumer", "role": "read", "labelSelector": "door=pp", "rotation": "1",
             "serviceName": SERVICE}  # fmt: skip
    inputs, failures = proc.check("consumer", with_provider(props, token_blob))
    assert failures == []
    token_id, token_outs = proc.create("consumer", inputs)
    seen.append(token_outs)
    assert token_outs["value"] and token_outs["serviceName"] == SERVICE
    # A rotation renews the token in place, in the project of the new inputs.
    rotated, _ = proc.check("consumer", with_provider({**props, "rotation": "2"}, token_blob))
    renewed = proc.update("consumer", token_id, token_outs, rotated)
    assert renewed["value"] != token_outs["value"] and renewed["serviceName"] == SERVICE
    token_outs = renewed

    key = "k" + uuid.uuid4().hex[:10]
    app_props = {
        "spec": {"name": f"pp-{key}", "image": "vllm/vllm-openai:latest",
                 "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "labels": {"door": f"pp-{key}"},
                 "defaultHttpPort": 8000},
        "readiness": {"path": "/health", "timeoutSeconds": 60},
        "deploymentKey": key,
        "serviceName": SERVICE,
    }  # fmt: skip
    inputs, failures = proc.check("app", with_provider(app_props, provider_blob(AiAppProvider())))
    assert failures == []
    app_id, outs = proc.create("app", inputs)
    seen.append(outs)
    assert outs["state"] == "RUNNING" and outs["serviceName"] == SERVICE
    assert [a["id"] for a in control.apps(f"door=pp-{key}")] == [app_id]
    read_id, read_outs, _ = proc.read("app", app_id, outs)
    assert read_id == app_id and read_outs["serviceName"] == SERVICE
    proc.delete("app", app_id, outs)
    proc.delete("consumer", token_id, token_outs)
    assert control.apps(f"door=pp-{key}") == []
    text = str(seen) + proc.stderr()
    for secret in SECRETS:
        assert secret not in text


def test_without_the_input_the_provider_names_the_key(proc: ProviderProcess) -> None:
    blob = provider_blob(AiTokenProvider())
    inputs, _ = proc.check("t", with_provider({"name": "pp-t", "role": "read", "rotation": "1"}, blob))
    with pytest.raises(grpc.RpcError) as caught:
        proc.create("t", inputs)
    details = str(caught.value.details())  # type: ignore[attr-defined]
    assert f"pulumi config set {SERVICE_NAME_KEY}" in details
    for secret in SECRETS:
        assert secret not in details


# ------------------------------------------------------------------------------ the program (mocks)

PROJECT = "vllm-ai-deploy"
PLATFORM = "organization/platform/gra"
OUTPUTS: dict[str, Any] = {
    "bucket": "vllm-model-cache-gra", "region": "GRA", "alias": "vllm-cache",
    "s3Endpoint": "https://s3.gra.io.cloud.ovh.net", "cachePrefix": "models",
    "volumeSource": "vllm-model-cache-gra@vllm-cache/models", "serviceName": SERVICE,
}  # fmt: skip


def run_dev(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, Any], public: bool = True,
            **overrides: str) -> ProgramRun:  # fmt: skip
    monkeypatch.setenv("HF_TOKEN", "hf_pp_test")
    for name in ("OVH_CLOUD_PROJECT_SERVICE", "OVHAI_TOKEN", "OVH_APPLICATION_KEY", "OVH_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    config = stack_config(REPO, "dev")
    config.update({f"{PROJECT}:cacheStack": PLATFORM, "ovhai:region": "GRA"})
    if public:
        config.pop("ovhai:endpoint", None)
        config.update(PUBLIC)
    else:
        config["ovhai:token"] = "regional-token"
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    mocks = RecordingMocks(stack_outputs={f"{PROJECT}:cacheStack": outputs})
    secret = ["ovh:applicationSecret", "ovh:consumerKey", "ovhai:token"]
    return run_program(REPO / "__main__.py", project=PROJECT, stack="dev", config=config, mocks=mocks,
                       secret_keys=secret)  # fmt: skip


def service_names(run: ProgramRun) -> dict[str, Any]:
    return {r.name: r.inputs.get("serviceName") for r in run.mocks.resources
            if r.typ.startswith("pulumi-python:dynamic")}  # fmt: skip


def test_the_program_hands_the_platforms_project_to_each_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_dev(monkeypatch, dict(OUTPUTS))
    names = service_names(run)
    assert names and set(names.values()) == {SERVICE}, names
    assert any(name.endswith("-cache-push") for name in names)


@pytest.mark.parametrize("public, own", [(True, SERVICE), (False, "")], ids=["own-key", "regional"])
def test_existing_stacks_get_no_new_input(monkeypatch: pytest.MonkeyPatch, public: bool, own: str) -> None:
    run = run_dev(monkeypatch, dict(OUTPUTS), public=public, **({"serviceName": own} if own else {}))
    names = service_names(run)
    assert names and set(names.values()) == {None}, names


def test_a_platform_without_the_output_fails_the_preview(monkeypatch: pytest.MonkeyPatch) -> None:
    older = {k: v for k, v in OUTPUTS.items() if k != "serviceName"}
    with pytest.raises(pulumi.RunError) as info:
        run_dev(monkeypatch, older)
    gc.collect()  # finalise the failed run's futures now (see tests/test_cache.py)
    message = str(info.value)
    assert f"{PROJECT}:serviceName" in message and "exports no serviceName" in message
    for secret in SECRETS:
        assert secret not in message
