"""The project (`serviceName`) a model stack shares with its platform stack (issue 13, with issue 12).

The platform stack exports `serviceName` (the project pulumi-ovh made its resources in);
components/cache.py, the one reader of the platform's outputs, takes it into the cache source, and
a model stack whose own `vllm-ai-deploy:serviceName` names another project fails at preview naming
that key, before any resource. Pure checks are plain functions; the program runs under
`pulumi.runtime.set_mocks` with the real dev stack file, the platform's StackReference MOCKED
(RecordingMocks answers its outputs; a real one needs a deployed platform stack, which needs the
pulumi-resource-ovh plugin these machines cannot obtain).
"""

from __future__ import annotations

import gc
from typing import Any

import pulumi
import pytest

from components import cache
from tests.program_harness import REPO, ProgramRun, RecordingMocks, run_program, stack_config

PROJECT = "vllm-ai-deploy"
PLATFORM = "organization/platform/gra"
REF = f"{PROJECT}:cacheStack"
PLATFORM_PROJECT = "0123456789abcdef0123456789abcdef"
OUTPUTS: dict[str, Any] = {
    "bucket": "vllm-model-cache-gra", "region": "GRA", "alias": "vllm-cache",
    "s3Endpoint": "https://s3.gra.io.cloud.ovh.net", "cachePrefix": "models",
    "volumeSource": "vllm-model-cache-gra@vllm-cache/models", "serviceName": PLATFORM_PROJECT,
    "accessKeyId": "AKIA-secret", "secretAccessKey": "secret-secret",
}  # fmt: skip


def test_the_platforms_project_is_read_with_the_rest_of_its_outputs() -> None:
    src = cache.resolve_source(OUTPUTS, stack=PLATFORM, app_region="GRA", model_prefix="m")
    assert src.service_name == PLATFORM_PROJECT and src.alias == "vllm-cache"
    same = cache.resolve_source(OUTPUTS, stack=PLATFORM, app_region="GRA", model_prefix="m",
                                service_name=PLATFORM_PROJECT)
    assert same.service_name == PLATFORM_PROJECT


def test_a_platform_stack_without_the_output_still_works() -> None:
    older = {k: v for k, v in OUTPUTS.items() if k != "serviceName"}
    assert cache.resolve_source(older, stack=PLATFORM, app_region=None, model_prefix="m").service_name is None
    src = cache.resolve_source(older, stack=PLATFORM, app_region=None, model_prefix="m", service_name="p")
    assert src.service_name == "p"


def test_another_project_than_the_platforms_names_the_key_and_the_fix() -> None:
    with pytest.raises(cache.CacheError) as info:
        cache.resolve_source(OUTPUTS, stack=PLATFORM, app_region="GRA", model_prefix="m",
                             service_name="ffffffffffffffffffffffffffffffff")
    assert info.value.key == "serviceName" and info.value.fix_value == PLATFORM_PROJECT
    assert f"keeps the cache in project {PLATFORM_PROJECT}" in str(info.value)


def run_dev(monkeypatch: pytest.MonkeyPatch, **overrides: str) -> ProgramRun:
    monkeypatch.setenv("HF_TOKEN", "hf_alias_test")
    config = stack_config(REPO, "dev")
    config.update({f"{PROJECT}:cacheStack": PLATFORM, "ovhai:region": "GRA"})
    config.update({k if ":" in k else f"{PROJECT}:{k}": v for k, v in overrides.items()})
    mocks = RecordingMocks(stack_outputs={REF: dict(OUTPUTS)})
    return run_program(REPO / "__main__.py", project=PROJECT, stack="dev", config=config, mocks=mocks)


def test_the_same_project_deploys_with_the_platforms_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_dev(monkeypatch, serviceName=PLATFORM_PROJECT)
    (app,) = run.mocks.of_kind("app")
    hub = next(v for v in app.inputs["spec"]["volumes"] if v["mountPath"] == "/hub")
    assert hub["volumeSource"]["dataStore"]["alias"] == "vllm-cache"


def test_a_mismatch_fails_the_preview_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(pulumi.RunError) as info:
        run_dev(monkeypatch, serviceName="ffffffffffffffffffffffffffffffff")
    gc.collect()  # finalise the failed run's futures now (see tests/test_cache.py)
    message = str(info.value)
    assert f"{PROJECT}:serviceName" in message and PLATFORM_PROJECT in message
    assert f"pulumi config set {PROJECT}:serviceName {PLATFORM_PROJECT}" in message
    assert "secret-secret" not in message
