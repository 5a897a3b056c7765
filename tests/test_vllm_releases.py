"""components.vllm_releases and the stack rules that read it: the release comes from the image tag.

Sources of each fact are in the module's docstring (vllm PRs #21489, #28659, #29431, #28204; image
tags `v0.30.0-cu129` / `v0.16.0-cu130` seen in public repositories).
"""

from __future__ import annotations

import pytest

from components import vllm_releases as r
from components.settings import SettingsError
from tests.test_settings import load


@pytest.mark.parametrize(
    ("image", "version", "cuda"),
    [
        ("vllm/vllm-openai:v0.10.1.1", (0, 10, 1), None),
        ("vllm/vllm-openai:v0.30.0-cu129", (0, 30, 0), "cu129"),
        ("vllm/vllm-openai:v0.16.0-cu130", (0, 16, 0), "cu130"),
        ("vllm/vllm-openai:v0.30.0-ubuntu2404", (0, 30, 0), None),
        ("registry.example.com:5000/vllm/vllm-openai:0.21.1", (0, 21, 1), None),
        ("registry.example.com:5000/team/vllm:2025.06", None, None),
        ("vllm/vllm-openai@sha256:" + "a" * 64, None, None),
        ("vllm/vllm-openai:latest", None, None),
    ],
)
def test_the_release_is_read_from_the_tag(image: str, version: r.Version | None, cuda: str | None) -> None:
    ref = r.image_release(image)
    assert (ref.version, ref.cuda) == (version, cuda)


def test_latest_is_the_newest_profile_with_a_warning() -> None:
    release, warnings = r.resolve_release("vllm/vllm-openai:latest")
    assert release.version == r.NEWEST and warnings and "pin" in warnings[0]
    assert r.resolve_release("vllm/vllm-openai:latest", "0.21.0")[0].version == (0, 21, 0)


@pytest.mark.parametrize(
    ("image", "version", "key"),
    [
        ("vllm/vllm-openai@sha256:" + "b" * 64, "", "vllmVersion"),  # a digest says nothing
        ("team/vllm:stable", "", "vllmVersion"),  # a custom tag neither
        ("vllm/vllm-openai:v0.34.0", "", "vllmVersion"),  # newer than every profile
        ("vllm/vllm-openai:v0.9.2", "", "vllmImage"),  # older than supported
        ("vllm/vllm-openai:v0.30.0", "0.21.0", "vllmVersion"),  # contradicts the tag
        ("team/vllm:stable", "zero.ten", "vllmVersion"),
    ],
)
def test_unknown_releases_name_the_key(image: str, version: str, key: str) -> None:
    with pytest.raises(r.ReleaseError) as raised:
        r.resolve_release(image, version)
    assert raised.value.key == key and raised.value.value


def test_profiles_follow_the_release_notes() -> None:
    old, v14 = r.profile("0.10.1.1"), r.profile("0.14.0")
    v21, newest = r.profile("0.21.0"), r.profile(r.NEWEST)
    assert old.needs("--tokenizer-mode") and not v14.needs("--tokenizer-mode")  # PR #28659 (0.12)
    assert not old.max_model_len_auto and v14.max_model_len_auto  # PR #29431
    assert not old.kv_cache_memory_bytes and v14.kv_cache_memory_bytes  # PR #21489
    assert not old.memory.cudagraph_in_budget and v21.memory.cudagraph_in_budget
    assert not old.cuda13 and newest.cuda13 and newest.has_cu129_variant
    assert r.profile("0.30.0").label == "0.30.0"
    with pytest.raises(ValueError):
        r.profile("0.9.0")


def test_default_images() -> None:
    assert r.default_image("cu129") == "vllm/vllm-openai:v0.30.0-cu129"
    assert r.default_image("cu130") == "vllm/vllm-openai:v0.30.0"
    assert r.default_image("cu129", (0, 21, 0)) == "vllm/vllm-openai:v0.21.0"  # no -cu129 build then


# --- through the stack's settings ------------------------------------------------------------


def test_staging_and_prod_default_to_the_pinned_cuda_12_9_build() -> None:
    for stack in ("x-staging", "x-prod"):
        settings = load({}, stack=stack)
        assert settings.image == "vllm/vllm-openai:v0.30.0-cu129"
        assert settings.engine.release is not None and settings.engine.release.label == "0.30.0"
        assert not any("CUDA 13" in w for w in settings.warnings)
    cu130 = load({"vllmCuda": "cu130"}, stack="x-prod")
    assert cu130.image == "vllm/vllm-openai:v0.30.0"
    assert any("CUDA 13" in w and "-cu129" in w for w in cu130.warnings)
    assert load({}, stack="x-dev").image == "vllm/vllm-openai:latest"  # dev: the seed's floating tag


def test_bad_cuda_variant_names_the_key() -> None:
    with pytest.raises(SettingsError) as raised:
        load({"vllmCuda": "cu118"}, stack="x-prod")
    assert raised.value.keys == ["vllm-ai-deploy:vllmCuda"]


def test_a_flag_the_release_lacks_fails_at_preview_naming_vllm_args() -> None:
    with pytest.raises(SettingsError) as raised:
        load({"vllmImage": "vllm/vllm-openai:v0.30.0-cu129",
              "vllmArgs": '["--enable-prefix-caching", "--num-scheduler-steps", "8"]'}, stack="x-prod")
    assert raised.value.keys == ["vllm-ai-deploy:vllmArgs"]
    text = str(raised.value)
    assert "--num-scheduler-steps" in text and "0.11" in text
    assert """pulumi config set vllm-ai-deploy:vllmArgs '["--enable-prefix-caching"]'""" in text
    # The same flag on the release that had it is fine.
    old = load({"vllmImage": "vllm/vllm-openai:v0.10.1.1", "vllmArgs": '["--num-scheduler-steps", "8"]'},
               stack="x-prod")
    assert old.engine.extra_args == ("--num-scheduler-steps", "8")


def test_unknown_tag_fails_at_preview_with_the_fix() -> None:
    with pytest.raises(SettingsError) as raised:
        load({"vllmImage": "vllm/vllm-openai:v0.40.0"}, stack="x-prod")
    assert raised.value.keys == ["vllm-ai-deploy:vllmVersion"]
    assert "pulumi config set vllm-ai-deploy:vllmVersion 0.33.0" in str(raised.value)


def test_fixed_kv_cache_passes_the_planners_figure() -> None:
    from components.deployment import build_launch

    settings = load({"fixedKvCache": "true"}, stack="x-prod")
    assert settings.engine.kv_cache_memory_bytes == settings.plan.kv_cache_bytes_per_gpu > 0
    command = build_launch(settings).command
    assert command[command.index("--kv-cache-memory-bytes") + 1] == str(settings.plan.kv_cache_bytes_per_gpu)
    assert "--kv-cache-memory-bytes" not in build_launch(load({}, stack="x-prod")).command
    with pytest.raises(SettingsError) as raised:
        load({"fixedKvCache": "true", "vllmImage": "vllm/vllm-openai:v0.10.1.1"}, stack="x-prod")
    assert raised.value.keys == ["vllm-ai-deploy:fixedKvCache"]
    assert "pulumi config set vllm-ai-deploy:fixedKvCache false" in str(raised.value)
    with pytest.raises(SettingsError) as raised:
        load({"vllmArgs": '["--kv-cache-memory-bytes", "1000"]'}, stack="x-prod")
    assert "vllm-ai-deploy:vllmArgs" in raised.value.keys
