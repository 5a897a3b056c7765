"""Property tests of the planner (hypothesis, modest example counts)."""

from __future__ import annotations

from itertools import pairwise

from hypothesis import given, settings
from hypothesis import strategies as st

from components.catalog import CATALOG
from components.sizing import (
    COMPUTE_CAPABILITY,
    FLAVORS,
    estimate_memory,
    plan,
    tensor_parallel_problems,
    weights_bytes,
)

MODELS = st.sampled_from(sorted(CATALOG))
FLAVOR_IDS = st.sampled_from(sorted(FLAVORS))
LENGTHS = st.sampled_from([2048, 4096, 8192, 16384, 32768])
SETTINGS = settings(max_examples=60, deadline=None)


@SETTINGS
@given(MODELS, FLAVOR_IDS, LENGTHS)
def test_more_gpus_never_lower_kv_capacity(key: str, flavor: str, length: int) -> None:
    plans = [
        p
        for p in plan(key, flavors=[flavor], max_model_len=min(length, CATALOG[key].max_position_embeddings))
        if not tensor_parallel_problems(CATALOG[key], p.gpus)
    ]
    by_gpus = sorted(plans, key=lambda p: p.gpus)
    for a, b in pairwise(by_gpus):
        assert b.kv_cache_tokens >= a.kv_cache_tokens
        assert b.kv_cache_gib >= a.kv_cache_gib


@SETTINGS
@given(MODELS, st.sampled_from([23034, 46068, 81559]), st.sampled_from([1, 2, 4]))
def test_fp8_never_needs_more_memory(key: str, memory: int, gpus: int) -> None:
    spec = CATALOG[key]
    assert weights_bytes(spec, "fp8") <= weights_bytes(spec, None)
    base = estimate_memory(spec, memory, gpus)
    fp8_kv = estimate_memory(spec, memory, gpus, kv_cache_dtype="fp8")
    fp8_all = estimate_memory(spec, memory, gpus, quantization="fp8", kv_cache_dtype="fp8")
    assert fp8_kv.kv_bytes_per_token <= base.kv_bytes_per_token
    assert fp8_kv.kv_cache_tokens >= base.kv_cache_tokens
    if spec.quantization is None:
        assert fp8_all.weights_gib <= base.weights_gib
        assert fp8_all.kv_cache_tokens >= fp8_kv.kv_cache_tokens


@SETTINGS
@given(MODELS, LENGTHS, st.sampled_from([None, "fp8"]), st.sampled_from([None, "fp8"]))
def test_fitting_plans_obey_tp_rules_and_gpu_limits(key: str, length: int, dtype, kv) -> None:
    spec = CATALOG[key]
    for p in plan(
        key, max_model_len=min(length, spec.max_position_embeddings), dtype=dtype, kv_cache_dtype=kv
    ):
        assert 1 <= p.gpus <= min(FLAVORS[p.flavor].max_gpus, 4)
        assert p.tensor_parallel == p.gpus
        if p.fits:
            assert spec.num_attention_heads % p.tensor_parallel == 0
            kvh = spec.num_key_value_heads
            assert kvh % p.tensor_parallel == 0 or p.tensor_parallel % kvh == 0
            assert p.max_concurrency >= 1  # vLLM's start-up check: one full-length sequence
            if not spec.sliding_window_layers:
                assert p.kv_cache_tokens >= p.max_model_len
            assert not (p.dtype == "bfloat16" and not FLAVORS[p.flavor].bf16)
            if p.kv_cache_dtype == "fp8":
                assert FLAVORS[p.flavor].fp8
            if p.quantization == "fp8" and not FLAVORS[p.flavor].fp8:  # weight-only FP8 Marlin (A100)
                assert COMPUTE_CAPABILITY[FLAVORS[p.flavor].gpu_model] >= 8.0 and p.notes


@SETTINGS
@given(MODELS, FLAVOR_IDS, st.integers(min_value=1, max_value=4))
def test_plan_never_exceeds_the_flavor_limit(key: str, flavor: str, gpus: int) -> None:
    for p in plan(key, flavors=[flavor], gpus=gpus):
        assert p.gpus <= FLAVORS[flavor].max_gpus
