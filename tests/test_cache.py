"""The model cache of the model stacks (issue 12): keys, rules, prefixes, the StackReference wiring.

Pure rules are plain functions. The program runs under `pulumi.runtime.set_mocks` with the real
dev stack file plus `cacheStack`; the platform stack's StackReference is MOCKED (RecordingMocks
answers `pulumi:pulumi:StackReference` reads with the outputs given here, the shape
platform/__main__.py exports): a real StackReference needs a deployed platform stack in a backend,
which tests/test_platform_stack_cli.py exercises as far as the engine allows.
"""

from __future__ import annotations

import gc
from pathlib import Path
from typing import Any

import pulumi
import pytest

from components import cache
from components.deployment import planner_report
from components.settings import SettingsError, load_settings
from tests.program_harness import REPO, ProgramRun, RecordingMocks, run_program, stack_config

PROJECT = "vllm-ai-deploy"
PLATFORM = "organization/platform/gra"
OUTPUTS: dict[str, Any] = {
    "bucket": "vllm-model-cache-gra",
    "region": "GRA",
    "alias": "S3GRA",
    "s3Endpoint": "https://s3.gra.io.cloud.ovh.net",
    "cachePrefix": "models",
    "volumeSource": "vllm-model-cache-gra@S3GRA/models",
    "accessKeyId": "AKIA-secret",
    "secretAccessKey": "secret-secret",
}
MISTRAL = "mistralai/Mistral-Small-24B-Instruct-2501"
REF = f"{PROJECT}:cacheStack"  # the StackReference's resource name


# ------------------------------------------------------------------------------------ pure


def test_the_model_prefix_is_the_hub_caches_own_spelling() -> None:
    assert cache.model_prefix(MISTRAL) == "mistralai--Mistral-Small-24B-Instruct-2501"
    assert cache.prefix_problem("team/a") is None
    for bad in ("", "/a", "a/", "a/../b", "a b"):
        assert cache.prefix_problem(bad) is not None


def test_the_region_of_a_regional_endpoint_and_none_for_the_emulator() -> None:
    assert cache.region_of_endpoint("https://gra.ai.cloud.ovh.net") == "GRA"
    assert cache.region_of_endpoint("https://bhs.ai.cloud.ovh.net/v1") == "BHS"
    assert cache.region_of_endpoint("http://127.0.0.1:19080") is None


def test_the_source_is_the_bucket_through_the_alias_under_the_per_model_prefix() -> None:
    src = cache.resolve_source(OUTPUTS, stack=PLATFORM, app_region="gra", model_prefix="m--x")
    assert src.volume_source == "vllm-model-cache-gra@S3GRA/models/m--x"
    assert src.to_volume("/hub") == {
        "mountPath": "/hub", "permission": "RW", "cache": True,
        "volumeSource": {"dataStore": {"alias": "S3GRA", "container": "vllm-model-cache-gra",
                                       "prefix": "models/m--x"}},
    }
    assert src.s3_url == "s3://vllm-model-cache-gra/models/m--x"


@pytest.mark.parametrize("missing", cache.REQUIRED_OUTPUTS)
def test_a_missing_output_names_cache_stack(missing: str) -> None:
    outputs = {k: v for k, v in OUTPUTS.items() if k != missing}
    with pytest.raises(cache.CacheError, match=missing) as info:
        cache.resolve_source(outputs, stack=PLATFORM, app_region=None, model_prefix="m")
    assert info.value.key == "cacheStack"


def test_a_bucket_in_another_region_is_refused_with_the_stack_of_the_apps_region() -> None:
    with pytest.raises(cache.CacheError, match="GRA, the app runs in BHS") as info:
        cache.resolve_source(OUTPUTS, stack=PLATFORM, app_region="bhs", model_prefix="m")
    assert info.value.key == "cacheStack" and info.value.fix_value == "organization/platform/bhs"


def test_the_same_model_may_share_a_prefix_another_model_may_not() -> None:
    mine = cache.CacheClaim("mistral-small-prod", PLATFORM, MISTRAL, cache.model_prefix(MISTRAL))
    staging = cache.CacheClaim("dev", PLATFORM, MISTRAL, cache.model_prefix(MISTRAL))
    assert cache.collisions(mine, [staging]) == []
    other = cache.CacheClaim("qwen-7b-staging", PLATFORM, "Qwen/Qwen2.5-7B-Instruct", "shared")
    assert cache.collisions(cache.CacheClaim("a", PLATFORM, MISTRAL, "shared"), [other])
    assert cache.collisions(cache.CacheClaim("a", PLATFORM, MISTRAL, "shared/sub"), [other])
    # Another platform stack is another bucket: no collision.
    assert cache.collisions(cache.CacheClaim("a", "o/platform/bhs", MISTRAL, "shared"), [other]) == []


def test_an_explicit_prefix_that_is_a_catalog_models_is_a_collision() -> None:
    llama = cache.model_prefix("meta-llama/Llama-3.1-8B-Instruct")
    problems = cache.collisions(cache.CacheClaim("a", PLATFORM, MISTRAL, llama), [])
    assert problems and "catalog" in problems[0]


def test_the_estimates_use_the_stated_bandwidths() -> None:
    from components.catalog import resolve_model

    est = cache.estimate_starts(resolve_model("mistral-small-24b"))
    assert est.hub_seconds == pytest.approx(est.weights_bytes / cache.HUB_BYTES_PER_SECOND)
    assert est.bucket_seconds == pytest.approx(est.weights_bytes / cache.BUCKET_PULL_BYTES_PER_SECOND)
    assert est.later_start < est.first_start
    assert "0 bytes from the Hub" in est.describe(cached=True)


# ------------------------------------------------------------------------------------ rules


BASE = {"model": "mistral-small-24b", "gpuFlavor": "l40s-1-gpu", "gpuCount": "2", "dtype": "half"}


def load(**overrides: str) -> Any:
    return load_settings({**BASE, **overrides}, stack="x-dev", environ={"HF_TOKEN": "hf_x"})


def test_no_cache_stack_no_cache() -> None:
    assert load().cache is None


def test_the_cache_settings_derive_the_prefix_from_the_model() -> None:
    settings = load(cacheStack=PLATFORM)
    assert settings.cache is not None
    assert settings.cache.stack == PLATFORM
    assert settings.cache.prefix == "mistralai--Mistral-Small-24B-Instruct-2501"
    assert not settings.cache.explicit_prefix
    assert "later starts from the bucket" in planner_report(settings)


@pytest.mark.parametrize(("overrides", "key", "fix"), [
    ({"cacheStack": "platform-gra"}, "cacheStack", "pulumi config set vllm-ai-deploy:cacheStack"),
    ({"cachePrefix": "x"}, "cachePrefix", "pulumi config rm vllm-ai-deploy:cachePrefix"),
    ({"cacheStack": PLATFORM, "cachePrefix": "../x"}, "cachePrefix", "pulumi config rm"),
    ({"cacheStack": PLATFORM, "cacheVolume": "b@GRA/p"}, "cacheStack",
     "pulumi config rm vllm-ai-deploy:cacheVolume"),
])
def test_bad_cache_keys_are_named_with_their_fix(overrides: dict[str, str], key: str, fix: str) -> None:
    with pytest.raises(SettingsError) as info:
        load(**overrides)
    assert f"{PROJECT}:{key}" in info.value.keys
    assert fix in str(info.value)


# ------------------------------------------------------------------------------------ program


def run_dev(monkeypatch: pytest.MonkeyPatch, outputs: dict[str, dict[str, Any]] | None = None,
            **overrides: str) -> ProgramRun:
    monkeypatch.setenv("HF_TOKEN", "hf_cache_test")
    config = stack_config(REPO, "dev")
    config.update({f"{PROJECT}:cacheStack": PLATFORM, "ovhai:region": "GRA"})
    config.update({k if ":" in k else f"{PROJECT}:{k}": v for k, v in overrides.items()})
    # The StackReference is mocked: its outputs are these (see the module docstring). The mock
    # answers by resource name, which is the key's (the engine's read error then names it).
    mocks = RecordingMocks(stack_outputs={REF: dict(OUTPUTS)} if outputs is None else outputs)
    return run_program(REPO / "__main__.py", project=PROJECT, stack="dev", config=config, mocks=mocks)


def test_the_dev_stack_with_a_cache_mounts_hub_from_the_bucket(monkeypatch: pytest.MonkeyPatch) -> None:
    run = run_dev(monkeypatch)
    refs = run.mocks.of_kind("pulumi:pulumi:StackReference")
    assert [(r.name, r.inputs["name"]) for r in refs] == [(REF, PLATFORM)]
    (app,) = run.mocks.of_kind("app")
    volumes = {v["mountPath"]: v for v in app.inputs["spec"]["volumes"]}
    assert volumes["/hub"] == {
        "mountPath": "/hub", "permission": "RW", "cache": True,
        "volumeSource": {"dataStore": {"alias": "S3GRA", "container": "vllm-model-cache-gra",
                                       "prefix": "models/mistralai--Mistral-Small-24B-Instruct-2501"}},
    }
    assert volumes["/workspace"]["volumeSource"] == {"standalone": {}}
    env = {e["name"]: e["value"] for e in app.inputs["spec"]["envVars"]}
    assert env["HF_HOME"] == "/hub" and env["VLLM_CACHE_ROOT"].startswith("/hub/")
    (push,) = run.mocks.of_kind("pulumi-python:dynamic/ovhai:AiCachePush")
    assert push.inputs["appId"] == "app-vllm-app"
    assert push.inputs["prefix"].endswith("/models/mistralai--Mistral-Small-24B-Instruct-2501")
    assert run.outputs["cache"]["s3Url"] == "s3://vllm-model-cache-gra/models/mistralai--Mistral-Small-24B-Instruct-2501"
    # The S3 credentials of the platform stack reach no input and no output.
    text = repr([r.inputs for r in run.mocks.resources]) + repr(run.outputs)
    assert "secret-secret" not in text and "AKIA-secret" not in text
    assert any("later starts from the bucket" in line for line in run.logs)


def _failure(monkeypatch: pytest.MonkeyPatch, **kwargs: Any) -> tuple[str, RecordingMocks]:
    mocks_seen: list[RecordingMocks] = []
    original = RecordingMocks.__init__

    def init(self: RecordingMocks, *a: Any, **k: Any) -> None:
        original(self, *a, **k)
        mocks_seen.append(self)

    monkeypatch.setattr(RecordingMocks, "__init__", init)
    with pytest.raises(pulumi.RunError) as info:  # raised inside an Output, no traceback for the user
        run_dev(monkeypatch, **kwargs)
    # The failed run leaves futures whose exception nobody retrieved: finalise them now. Left to a
    # later garbage collection, their finalisers may run inside a compile() (pytest importing a
    # module), where CPython 3.11 fails with "AST constructor recursion depth mismatch".
    gc.collect()
    return str(info.value), mocks_seen[-1]


def _api_objects(mocks: RecordingMocks) -> list[str]:
    return [r.typ for r in mocks.resources if r.typ.startswith("pulumi-python:dynamic/")]


def test_a_cache_stack_without_outputs_fails_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    message, mocks = _failure(monkeypatch, outputs={})  # no such stack: a reference with no outputs
    assert f"{PROJECT}:cacheStack" in message and "no output bucket" in message
    assert "pulumi config set vllm-ai-deploy:cacheStack" in message
    assert _api_objects(mocks) == []  # nothing reached a provider


def test_a_cache_stack_that_cannot_be_read_fails_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    class Unreadable(RecordingMocks):
        def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
            if args.typ == "pulumi:pulumi:StackReference":
                raise RuntimeError(f"unknown stack {args.name!r}")  # what the engine says
            return super().new_resource(args)

    monkeypatch.setattr("tests.test_cache.RecordingMocks", Unreadable)
    message, mocks = _failure(monkeypatch)
    assert f"{PROJECT}:cacheStack" in message and "cannot be read" in message
    assert _api_objects(mocks) == []


def test_a_bucket_in_another_region_fails_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    message, mocks = _failure(monkeypatch, **{"ovhai:region": "BHS"})
    assert f"{PROJECT}:cacheStack" in message
    assert "AI Deploy mounts only buckets of the app's region" in message
    assert "organization/platform/bhs" in message
    assert _api_objects(mocks) == []


def test_a_prefix_of_another_model_fails_naming_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    message, mocks = _failure(monkeypatch, cachePrefix="meta-llama--Llama-3.1-8B-Instruct")
    assert f"{PROJECT}:cachePrefix" in message and "collides" in message
    assert "pulumi config rm vllm-ai-deploy:cachePrefix" in message
    assert mocks.resources == [] or _api_objects(mocks) == []


def test_another_stack_file_of_the_project_on_the_same_cache_is_a_collision(tmp_path: Path) -> None:
    from components.deployment import check_cache_prefix

    settings = load(cacheStack=PLATFORM, cachePrefix="shared")
    (tmp_path / "Pulumi.qwen-7b-staging.yaml").write_text(
        f"config:\n  {PROJECT}:model: qwen2.5-7b\n  {PROJECT}:cacheStack: {PLATFORM}\n"
        f"  {PROJECT}:cachePrefix: shared/qwen\n")
    (tmp_path / "Pulumi.mistral-small-prod.yaml").write_text(  # the same model: sharing is fine
        f"config:\n  {PROJECT}:model: mistral-small-24b\n  {PROJECT}:cacheStack: {PLATFORM}\n"
        f"  {PROJECT}:cachePrefix: shared\n")
    with pytest.raises(pulumi.RunError) as info:
        check_cache_prefix(settings, tmp_path)
    message = str(info.value)
    assert f"{PROJECT}:cachePrefix" in message
    assert "stack qwen-7b-staging's Qwen/Qwen2.5-7B-Instruct" in message
    assert "mistral-small-prod" not in message
    (tmp_path / "Pulumi.qwen-7b-staging.yaml").unlink()
    check_cache_prefix(settings, tmp_path)  # no other model there: fine
