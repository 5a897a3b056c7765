"""components.sizing: the planner's rules and the must-hold cases of issue 4."""

from __future__ import annotations

from itertools import pairwise

import pytest

from components.catalog import CATALOG
from components.sizing import (
    FLAVORS,
    NoFittingPlan,
    best_plan,
    format_plans,
    kv_bytes_per_token,
    plan,
    tensor_parallel_problems,
    weights_bytes,
)


def only(plans, flavor, gpus):
    return next(p for p in plans if p.flavor == flavor and p.gpus == gpus)


# --- must hold ------------------------------------------------------------------------------------


def test_mistral_small_does_not_fit_one_l40s() -> None:
    p = only(plan("mistral-small-24b", flavors=["l40s-1-gpu"]), "l40s-1-gpu", 1)
    assert not p.fits
    assert any("weights" in r for r in p.reasons)


def test_mistral_small_fits_two_l40s_with_tp2() -> None:
    p = only(plan("mistral-small-24b", flavors=["l40s-1-gpu"]), "l40s-1-gpu", 2)
    assert p.fits and p.tensor_parallel == 2
    assert p.kv_cache_tokens >= 32768
    assert p.dtype == "bfloat16" and p.quantization is None
    assert best_plan("mistral-small-24b", flavors=["l40s-1-gpu"]).gpus == 2


def test_mistral_small_fits_one_h100() -> None:
    p = best_plan("mistral-small-24b", flavors=["h100-1-gpu"])
    assert (p.gpus, p.fits) == (1, True)
    # Published: ~71 GB in use at 0.9 on one H100; weights ~44 GiB leave > 20 GiB of KV cache.
    assert 15 < p.kv_cache_gib < 30


def test_llama_8b_on_one_l4_cannot_keep_128k_and_a_context_is_proposed() -> None:
    p = only(plan("llama-3.1-8b", flavors=["l4-1-gpu"], gpus=1), "l4-1-gpu", 1)
    assert p.max_model_len == 131072 and not p.fits
    with pytest.raises(NoFittingPlan) as err:
        best_plan("llama-3.1-8b", flavors=["l4-1-gpu"], gpus=1)
    proposals = [s for text, s in err.value.suggestions if text.startswith("max_model_len=")]
    assert proposals, str(err.value)
    proposed = proposals[0]
    assert proposed.fits and proposed.flavor == "l4-1-gpu" and proposed.gpus == 1
    assert proposed.max_model_len % 1024 == 0 and proposed.max_model_len <= proposed.kv_cache_tokens
    assert f"max_model_len={proposed.max_model_len}" in str(err.value)
    # And the proposal is accepted as such.
    assert best_plan("llama-3.1-8b", flavors=["l4-1-gpu"], gpus=1, max_model_len=proposed.max_model_len).fits


def test_no_fit_message_mentions_fp8_and_bigger_gpus() -> None:
    with pytest.raises(NoFittingPlan) as err:
        best_plan("llama-3.1-8b", flavors=["l4-1-gpu"], gpus=1)
    message = str(err.value)
    assert "Closest: 1 x l4-1-gpu" in message
    assert "fp8" in message
    assert "more or bigger GPUs" in message


def test_qwen_7b_tensor_parallel_sizes() -> None:
    spec = CATALOG["qwen2.5-7b"]  # 28 heads, 4 KV heads
    assert tensor_parallel_problems(spec, 1) == []
    assert tensor_parallel_problems(spec, 2) == []
    assert tensor_parallel_problems(spec, 3) != []
    assert tensor_parallel_problems(spec, 4) == []  # 28 % 4 == 0 and 4 % 4 == 0
    fitting_tp = {p.tensor_parallel for p in plan("qwen2.5-7b") if p.fits}
    assert 3 not in fitting_tp
    assert fitting_tp <= {1, 2, 4}


def test_tp_rule_allows_kv_replication() -> None:
    spec = CATALOG["llama-3.1-8b"]  # 8 KV heads
    assert tensor_parallel_problems(spec, 4) == []
    tiny = {
        **{
            f: getattr(spec, f)
            for f in (
                "hidden_size",
                "intermediate_size",
                "num_hidden_layers",
                "head_dim",
                "vocab_size",
                "max_position_embeddings",
                "params_b",
            )
        },
        "hf_id": "x/y",
        "num_attention_heads": 8,
        "num_key_value_heads": 2,
    }
    from components.catalog import resolve_model

    t = resolve_model(tiny)
    assert tensor_parallel_problems(t, 4) == []  # 4 % 2 == 0: KV heads replicate
    assert kv_bytes_per_token(t, 4) == kv_bytes_per_token(t, 2)  # at least one head per GPU


def test_awq_group_rule() -> None:
    awq = CATALOG["qwen2.5-72b-awq"]
    assert tensor_parallel_problems(awq, 4) == []  # 29696 / 4 = 7424 = 58 x 128
    padded_away = {
        **{
            f: getattr(awq, f)
            for f in (
                "hidden_size",
                "num_hidden_layers",
                "num_attention_heads",
                "num_key_value_heads",
                "head_dim",
                "vocab_size",
                "max_position_embeddings",
                "params_b",
            )
        },
        "hf_id": "x/z",
        "intermediate_size": 29568,
        "quantization": "awq",
    }
    from components.catalog import resolve_model

    assert tensor_parallel_problems(resolve_model(padded_away), 4)  # 7392 % 128 != 0


# --- rules --------------------------------------------------------------------------------------


def test_kv_bytes_formula() -> None:
    spec = CATALOG["llama-3.1-8b"]
    assert kv_bytes_per_token(spec) == 2 * 32 * 8 * 128 * 2  # 128 KiB
    assert kv_bytes_per_token(spec, 2) == 2 * 32 * 4 * 128 * 2
    assert kv_bytes_per_token(spec, 1, "fp8") == 2 * 32 * 8 * 128


def test_weights_by_dtype_and_quantisation() -> None:
    spec = CATALOG["mistral-small-24b"]
    assert weights_bytes(spec, None) == pytest.approx(23.57e9 * 2)
    fp8 = weights_bytes(spec, "fp8")
    assert 23.57e9 < fp8 < 23.57e9 * 1.15  # embeddings and LM head stay 16-bit
    assert weights_bytes(spec, "awq") < fp8


def test_v100s_uses_float16_and_refuses_bf16_and_fp8() -> None:
    p = only(plan("mistral-7b", flavors=["ai1-1-gpu"], max_model_len=8192), "ai1-1-gpu", 1)
    assert p.dtype == "float16" and p.fits
    forced = only(
        plan("mistral-7b", flavors=["ai1-1-gpu"], dtype="bfloat16", max_model_len=8192), "ai1-1-gpu", 1
    )
    assert not forced.fits and any("bfloat16" in r for r in forced.reasons)
    fp8 = only(
        plan("mistral-7b", flavors=["ai1-1-gpu"], kv_cache_dtype="fp8", max_model_len=8192), "ai1-1-gpu", 1
    )
    assert not fp8.fits and any("FP8" in r for r in fp8.reasons)
    v100_fp8 = only(
        plan("mistral-7b", flavors=["ai1-1-gpu"], dtype="fp8", max_model_len=8192), "ai1-1-gpu", 1
    )
    assert not v100_fp8.fits and any("compute capability 8.0" in r for r in v100_fp8.reasons)
    # A100 has no FP8 tensor cores: vLLM runs FP8 weights weight-only (FP8 Marlin), a trade-off
    # stated in the plan's notes rather than a refusal (docs/features/quantization/fp8.md).
    a100 = only(plan("mistral-7b", flavors=["a100-1-gpu"], dtype="fp8"), "a100-1-gpu", 1)
    assert a100.fits and a100.quantization == "fp8"
    assert any("weight-only" in n and "Marlin" in n for n in a100.notes)


def test_fp8_on_l4_enlarges_the_kv_cache() -> None:
    base = only(plan("llama-3.1-8b", flavors=["l4-1-gpu"], gpus=1), "l4-1-gpu", 1)
    fp8 = only(
        plan("llama-3.1-8b", flavors=["l4-1-gpu"], gpus=1, dtype="fp8", kv_cache_dtype="fp8"), "l4-1-gpu", 1
    )
    assert fp8.quantization == "fp8" and fp8.kv_cache_dtype == "fp8"
    assert fp8.kv_cache_tokens > 2 * base.kv_cache_tokens and fp8.fits


def test_gpu_limits_and_counts() -> None:
    plans = plan("qwen2.5-72b")
    for p in plans:
        assert p.gpus <= FLAVORS[p.flavor].max_gpus
    assert max(p.gpus for p in plans if p.flavor == "a100-1-gpu") == 2
    assert plan("qwen2.5-72b", flavors=["a100-1-gpu"], gpus=4) == []
    with pytest.raises(ValueError, match="between 1 and 4"):
        plan("qwen2.5-72b", gpus=5)
    with pytest.raises(NoFittingPlan, match="at most 2"):
        best_plan("qwen2.5-72b", flavors=["a100-1-gpu"], gpus=4)


def test_ranking_fitting_then_cheapest_then_more_kv() -> None:
    plans = plan("mistral-small-24b")
    fits = [p.fits for p in plans]
    assert fits == sorted(fits, reverse=True)
    fitting = [p for p in plans if p.fits]
    for a, b in pairwise(fitting):
        assert (a.hourly_cost, -a.kv_cache_tokens) <= (b.hourly_cost, -b.kv_cache_tokens)
    # 2 x L40S and 1 x H100 both cost 2.80: the larger KV cache wins.
    same = [p for p in fitting if p.hourly_cost == pytest.approx(2.80)]
    assert same[0].kv_cache_tokens >= same[-1].kv_cache_tokens


def test_prices_override_and_currency() -> None:
    plans = plan("mistral-small-24b", prices={"l40s-1-gpu": 1.0}, flavors=["l40s-1-gpu"])
    p = only(plans, "l40s-1-gpu", 2)
    assert p.hourly_cost == pytest.approx(2.0) and p.currency == "EUR"


def test_min_concurrency_and_context_limits() -> None:
    p = only(plan("mistral-small-24b", flavors=["l40s-1-gpu"], min_concurrency=8), "l40s-1-gpu", 2)
    assert not p.fits and any("8 x 32,768" in r for r in p.reasons)
    too_long = only(plan("qwen2.5-7b", flavors=["h100-1-gpu"], max_model_len=65536), "h100-1-gpu", 1)
    assert not too_long.fits and any("exceeds" in r for r in too_long.reasons)


def test_max_concurrency_is_kv_over_context() -> None:
    p = only(plan("llama-3.1-8b", flavors=["h100-1-gpu"], max_model_len=8192), "h100-1-gpu", 1)
    assert p.max_concurrency == pytest.approx(p.kv_cache_tokens / 8192, abs=0.01)


def test_bad_inputs() -> None:
    with pytest.raises(ValueError, match="unknown GPU flavor"):
        plan("llama-3.1-8b", flavors=["t4-1-gpu"])
    with pytest.raises(ValueError, match="dtype"):
        plan("llama-3.1-8b", dtype="int3")
    with pytest.raises(ValueError, match="kv_cache_dtype"):
        plan("llama-3.1-8b", kv_cache_dtype="int8")
    with pytest.raises(ValueError, match="gpu_memory_utilization"):
        plan("llama-3.1-8b", gpu_memory_utilization=1.5)


def test_nothing_fits_anywhere() -> None:
    huge = {
        "hf_id": "x/huge",
        "hidden_size": 16384,
        "intermediate_size": 53248,
        "num_hidden_layers": 126,
        "num_attention_heads": 128,
        "num_key_value_heads": 8,
        "head_dim": 128,
        "vocab_size": 128256,
        "max_position_embeddings": 131072,
        "params_b": 405,
    }
    with pytest.raises(NoFittingPlan, match="Nothing within AI Deploy's limits fits"):
        best_plan(huge)


def test_format_plans_has_the_columns_and_price_note() -> None:
    text = format_plans(plan("mistral-small-24b", flavors=["l40s-1-gpu"]))
    for column in ("flavor", "GPUs", "TP", "weights", "KV tokens", "conc.@len", "EUR/h", "fits / why not"):
        assert column in text
    assert "estimates" in text and "override" in text
    assert "    why not: " in text  # a reason wraps under its row, not in a column
    assert max(len(line) for line in text.splitlines()) <= 120


def test_memory_model_per_release_line() -> None:
    from components.sizing import GIB, estimate_memory
    from components.vllm_releases import profile

    legacy = estimate_memory("qwen2.5-7b", 81559, 1, gpu_model="H100")
    v11 = estimate_memory("qwen2.5-7b", 81559, 1, gpu_model="H100", release=profile("0.11.0"))
    v17 = estimate_memory("qwen2.5-7b", 81559, 1, gpu_model="H100", release=profile("0.17.0"))
    v21 = estimate_memory("qwen2.5-7b", 81559, 1, gpu_model="H100", release=profile("0.21.0"))
    assert v11.kv_cache_tokens == legacy.kv_cache_tokens and v11.cudagraph_gib == 0
    assert v17.overhead_gib < v11.overhead_gib  # lower activation peak from 0.17
    assert v21.cudagraph_gib > 0 and v21.overhead_gib == pytest.approx(v17.overhead_gib + v21.cudagraph_gib)
    # what --kv-cache-memory-bytes would fix: whole blocks, never above the KV memory estimated
    assert 0 < v21.kv_cache_bytes <= v21.kv_cache_gib * GIB
    assert v21.kv_cache_bytes == v21.kv_cache_tokens * v21.kv_bytes_per_token
    chosen = best_plan("qwen2.5-7b", flavors=["h100-1-gpu"], release=profile("0.30.0"))
    assert chosen.release == "0.21+" and chosen.kv_cache_bytes_per_gpu > 0
