"""The catalog of today, sized as the checkpoints really are: MXFP4 experts, every expert resident,
hybrid sliding-window KV budgeted like vLLM's hybrid KV cache manager, quantisation per GPU.

Published figures (each model's `source` in components/data/models.json cites where):
- `published_checkpoint_bytes`: the `metadata.total_size` of the Hub's model.safetensors.index.json;
- gpt-oss-120b: a checkpoint of about 61 GiB (no index total found in the stored sources).
The KV figures follow vllm/v1/core/kv_cache_utils.py (`_get_kv_cache_groups_uniform_page_size`,
`get_max_concurrency_for_kv_cache_config`) and kv_cache_interface.py (`SlidingWindowSpec.
max_memory_usage_bytes`): see components/sizing.py's docstring.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from components import vllm_releases
from components.catalog import CATALOG, MissingConfigField, from_hf_config
from components.platform import FLAVORS
from components.sizing import (
    BLOCK_SIZE,
    GIB,
    MXFP4_BYTES,
    checkpoint_bytes,
    estimate_memory,
    kv_bytes_per_token,
    kv_layout,
    longest_context,
    mxfp4_backend,
    mxfp4_padding,
    plan,
    quantization_support,
    sequences_held,
    weights_bytes,
)

CONFIGS = Path(__file__).parent / "data" / "hf_configs"
NEWEST = vllm_releases.profile(vllm_releases.NEWEST)
TODAY = {"gpt-oss-20b", "gpt-oss-120b", "qwen3-32b", "qwen3-30b-a3b", "mistral-small-3.2-24b", "gemma-3-27b",
         "llama-3.3-70b", "deepseek-r1-distill-llama-70b"}  # fmt: skip


def test_catalog_has_the_models_of_today_with_sources() -> None:
    assert set(CATALOG) >= TODAY
    for key in TODAY:
        assert "config.json" in CATALOG[key].source, key


@pytest.mark.parametrize("key", sorted(k for k, s in CATALOG.items() if s.published_checkpoint_bytes))
def test_weight_bytes_match_the_published_checkpoint(key: str) -> None:
    spec = CATALOG[key]
    assert spec.published_checkpoint_bytes is not None
    error = checkpoint_bytes(spec) / spec.published_checkpoint_bytes - 1
    assert abs(error) < 0.02, f"{key}: {error:+.2%}"


def test_gpt_oss_120b_checkpoint_is_about_61_gib() -> None:
    size = checkpoint_bytes(CATALOG["gpt-oss-120b"]) / GIB
    assert abs(size / 61 - 1) < 0.03, size


def test_mxfp4_is_4_25_bits_on_the_experts_only() -> None:
    spec = CATALOG["gpt-oss-20b"]
    assert pytest.approx(4.25 / 8) == MXFP4_BYTES
    assert spec.expert_params == 32 * 24 * 3 * 2880 * 2880  # gate+up (2 x 2880) and down, per expert
    rest = spec.params_b * 1e9 - spec.expert_params
    assert weights_bytes(spec, "mxfp4") == pytest.approx(spec.expert_params * 4.25 / 8 + rest * 2)
    # an all-bf16 gpt-oss would be 3x larger: the experts are 91 % of the parameters
    assert weights_bytes(spec, None) / weights_bytes(spec, "mxfp4") > 3


def test_every_moe_expert_is_resident() -> None:
    moe = CATALOG["qwen3-30b-a3b"]  # 3.3B active of 30.5B: memory counts all 30.5B
    assert moe.expert_params / 1e9 == pytest.approx(28.99, abs=0.01)
    assert weights_bytes(moe, None) == pytest.approx(moe.params_b * 1e9 * 2)
    one_l40s = [p for p in plan("qwen3-30b-a3b", flavors=["l40s-1-gpu"], max_model_len=8192) if p.gpus == 1]
    assert not one_l40s[0].fits  # 57 GiB of experts do not fit a 45 GiB GPU, however sparse the compute


def test_kv_layout_dense_is_one_group() -> None:
    layout = kv_layout(CATALOG["qwen3-32b"], 2)
    assert (layout.group_size, layout.full_groups, layout.window_groups) == (64, 1, 0)
    assert kv_bytes_per_token(CATALOG["qwen3-32b"], 2) == 2 * 64 * 4 * 128 * 2


def test_kv_layout_gpt_oss_alternating_layers() -> None:
    # 12 sliding (128 tokens) + 12 full layers: two groups of 12 layers, 8 KV heads x 64 x bf16
    layout = kv_layout(CATALOG["gpt-oss-20b"])
    shape = (layout.layer_bytes, layout.group_size, layout.full_groups, layout.window_groups)
    assert shape == (2048, 12, 1, 1)
    assert layout.window == 128
    # vLLM's "GPU KV cache size" counts a token in each group: 24 layers' worth per token
    assert kv_bytes_per_token(CATALOG["gpt-oss-20b"]) == 24 * 2048


def test_kv_layout_gemma3_five_local_to_one_global() -> None:
    # 52 local (1024 tokens) + 10 global: group size 10 (52 >= 1.5 x 10), 1 + ceil(52/10) = 7 groups,
    # the last local group padded with 8 layers (vLLM logs the padding it adds)
    spec = CATALOG["gemma-3-27b"]
    assert (spec.sliding_window_layers, spec.full_attention_layers, spec.sliding_window) == (52, 10, 1024)
    layout = kv_layout(spec)
    assert (layout.group_size, layout.full_groups, layout.window_groups) == (10, 1, 6)
    assert kv_bytes_per_token(spec) == 70 * 2 * 16 * 128 * 2


def _dense_twin(key: str):  # the same model with every layer on full attention
    spec = CATALOG[key]
    return replace(spec, sliding_window_layers=0, sliding_window=0)


@pytest.mark.parametrize(("key", "low", "high"), [("gpt-oss-20b", 1.7, 2.0), ("gemma-3-27b", 4.0, 6.2)])
def test_sliding_window_layers_hold_only_their_window(key: str, low: float, high: float) -> None:
    spec, twin = CATALOG[key], _dense_twin(key)
    length = 131072
    hybrid = estimate_memory(spec, FLAVORS["h100-1-gpu"].memory_mib, 1, gpu_model="H100")
    dense = estimate_memory(twin, FLAVORS["h100-1-gpu"].memory_mib, 1, gpu_model="H100")
    ratio = sequences_held(spec, hybrid, length) / sequences_held(twin, dense, length)
    assert low < ratio < high, ratio


def test_sequences_held_follows_vllm_block_counts() -> None:
    spec = CATALOG["gpt-oss-20b"]
    memory = estimate_memory(spec, FLAVORS["h100-1-gpu"].memory_mib, 1, gpu_model="H100")
    batched = memory.max_num_batched_tokens
    per_request = 131072 // BLOCK_SIZE + (-(-(128 - 1 + batched) // BLOCK_SIZE) + 1)
    assert sequences_held(spec, memory, 131072) == pytest.approx(memory.num_blocks / per_request)
    assert memory.kv_cache_tokens == memory.num_blocks // 2 * BLOCK_SIZE  # two groups share the pool
    # the longest context that holds 4 sequences does hold them, one block more does not
    longest = longest_context(spec, memory, 40)
    assert longest < spec.max_position_embeddings
    assert sequences_held(spec, memory, longest) >= 40 > sequences_held(spec, memory, longest + BLOCK_SIZE)


def test_hybrid_plan_fits_on_concurrency_not_on_full_equivalent_tokens() -> None:
    best = plan("gpt-oss-20b", flavors=["l4-1-gpu"], gpus=1, max_model_len=131072)[0]
    assert best.fits and best.max_concurrency >= 1
    assert best.kv_cache_tokens < 2 * 131072 < best.max_concurrency * 131072 * 2


def test_quantization_support_by_gpu() -> None:
    assert quantization_support("mxfp4", FLAVORS["ai1-1-gpu"])[0]  # V100S: refused
    assert quantization_support("mxfp4", FLAVORS["h100-1-gpu"]) == (None, None)
    for flavor in ("a100-1-gpu", "l4-1-gpu", "l40s-1-gpu"):
        refusal, note = quantization_support("mxfp4", FLAVORS[flavor])
        assert refusal is None and note and "Marlin" in note
    refusal, note = quantization_support("fp8", FLAVORS["a100-1-gpu"])
    assert refusal is None and note and "weight-only" in note
    assert quantization_support("fp8", FLAVORS["h100-1-gpu"]) == (None, None)
    assert quantization_support("fp8", FLAVORS["ai1-1-gpu"])[0]


def test_gpt_oss_plans_and_their_notes() -> None:
    v100 = plan("gpt-oss-20b", flavors=["ai1-1-gpu"], max_model_len=8192)
    assert not any(p.fits for p in v100) and all(any("MXFP4" in r for r in p.reasons) for p in v100)
    # one H100 holds gpt-oss-120b (the model card's claim) at a tight margin: its full context fits
    # at gpu_memory_utilization 0.95, not at 0.9 (0.14.1 users report OOM there, issue #33155)
    tight = {"flavors": ["h100-1-gpu"], "gpus": 1, "release": NEWEST}
    assert not plan("gpt-oss-120b", **tight)[0].fits
    h100 = [p for p in plan("gpt-oss-120b", gpu_memory_utilization=0.95, **tight) if p.fits]
    assert h100 and not h100[0].notes
    # the GPT-OSS recipe: it "will fit on a single A100 (80GB)", with Marlin padding: a shorter context
    shorter = {"flavors": ["a100-1-gpu"], "gpus": 1, "release": NEWEST, "max_model_len": 32768}
    a100 = [p for p in plan("gpt-oss-120b", **shorter) if p.fits]
    assert a100 and any("Marlin" in n for n in a100[0].notes)


def test_fp8_on_an_already_quantised_checkpoint_is_refused() -> None:
    plans = plan("gpt-oss-20b", flavors=["h100-1-gpu"], gpus=1, dtype="fp8")
    assert not plans[0].fits and "already MXFP4" in plans[0].reasons[0]


# --- a model's own config.json ------------------------------------------------------------------


def _config(name: str) -> dict[str, object]:
    data = json.loads((CONFIGS / name).read_text())
    assert isinstance(data, dict)
    return data


def test_from_hf_config_gpt_oss_matches_the_catalog() -> None:
    spec = from_hf_config(_config("gpt-oss-20b.config.json"), "openai/gpt-oss-20b")
    entry = CATALOG["gpt-oss-20b"]
    for name in ("hidden_size", "num_hidden_layers", "num_key_value_heads", "head_dim", "vocab_size",
                 "num_experts", "num_experts_per_tok", "moe_intermediate_size", "sliding_window",
                 "sliding_window_layers", "quantization", "max_position_embeddings"):  # fmt: skip
        assert getattr(spec, name) == getattr(entry, name), name
    assert spec.params_b == pytest.approx(entry.params_b, rel=0.01)  # estimated from the shapes
    assert checkpoint_bytes(spec) == pytest.approx(13761264768, rel=0.02)


def test_from_hf_config_qwen3_moe() -> None:
    spec = from_hf_config(_config("qwen3-30b-a3b.config.json"), "Qwen/Qwen3-30B-A3B")
    assert (spec.num_experts, spec.moe_intermediate_size, spec.sliding_window_layers) == (128, 768, 0)
    assert spec.params_b == pytest.approx(30.53, rel=0.01)


def test_from_hf_config_multimodal_reads_text_config() -> None:
    """The Hub's gemma-3-27b-it config.json leaves vocab_size, max_position_embeddings, the 5:1
    pattern and tied embeddings to Gemma3TextConfig's defaults: the loader fills them the same way."""
    spec = from_hf_config(_config("gemma-3-27b-it.config.json"), "google/gemma-3-27b-it")
    assert (spec.num_hidden_layers, spec.sliding_window_layers, spec.sliding_window) == (62, 52, 1024)
    assert spec.tie_word_embeddings and spec.quantization is None
    assert spec.params_b == pytest.approx(27.01, rel=0.01)  # the text model; the vision tower is not counted


def test_from_hf_config_names_the_missing_field() -> None:
    config = _config("gemma-3-27b-it.config.json")
    text = config["text_config"]
    assert isinstance(text, dict)
    del text["num_hidden_layers"]
    with pytest.raises(MissingConfigField) as err:
        from_hf_config(config, "google/gemma-3-27b-it")
    assert err.value.field == "num_hidden_layers" and "`num_hidden_layers`" in str(err.value)
    qwen = _config("qwen3-30b-a3b.config.json")
    del qwen["vocab_size"]  # no model-type default for Qwen: named
    with pytest.raises(MissingConfigField, match="vocab_size"):
        from_hf_config(qwen, "Qwen/Qwen3-30B-A3B")
    with pytest.raises(MissingConfigField, match="_name_or_path"):
        from_hf_config(_config("qwen3-30b-a3b.config.json"))


def test_from_hf_config_refuses_unsized_quantization() -> None:
    config = {**_config("qwen3-30b-a3b.config.json"), "quantization_config": {"quant_method": "bitsandbytes"}}
    with pytest.raises(ValueError, match="quant_method 'bitsandbytes'"):
        from_hf_config(config, "x/y")


# --- MXFP4 as loaded: the kernels' padding, checked on published start-up logs ----------------------


def test_mxfp4_loaded_weights_match_vllm_logs() -> None:
    """gpt-oss-120b on one H100: "Model loading took 65.9651 GiB" with the Marlin kernel (vLLM
    0.10.1, issue #23278) and "Model loading took 64.38 GiB" with the Triton backend (0.14.1,
    issue #33155); the checkpoint itself is 60.8 GiB."""
    spec = CATALOG["gpt-oss-120b"]
    stored = weights_bytes(spec, "mxfp4") / GIB
    marlin = stored + spec.expert_params * MXFP4_BYTES * (mxfp4_padding(spec, 1, "marlin") - 1) / GIB
    triton = stored + spec.expert_params * MXFP4_BYTES * (mxfp4_padding(spec, 1, "triton") - 1) / GIB
    assert marlin == pytest.approx(65.9651, rel=0.01)
    assert triton == pytest.approx(64.38, rel=0.01)
    assert mxfp4_backend("H100") == "marlin" and mxfp4_backend("H100", NEWEST) == "triton"
    assert mxfp4_backend("A100", NEWEST) == "marlin"
    legacy = estimate_memory(spec, FLAVORS["h100-1-gpu"].memory_mib, 1, gpu_model="H100")
    assert legacy.weights_gib == pytest.approx(marlin)


def test_gpt_oss_120b_at_0_9_leaves_no_kv_cache_on_h100() -> None:
    """vLLM 0.10.1 on one H100 at the default 0.9: "Available KV cache memory: -2.14 GiB" (issue
    #23278): the planner's budget - weights - overhead lands within 0.3 GiB of it."""
    memory = estimate_memory(CATALOG["gpt-oss-120b"], FLAVORS["h100-1-gpu"].memory_mib, 1, gpu_model="H100")
    left = memory.budget_gib - memory.weights_gib - memory.overhead_gib
    assert left == pytest.approx(-2.14, abs=0.3)
    assert memory.kv_cache_tokens == 0
