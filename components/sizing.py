"""Pure GPU planner: weights + KV cache + vLLM's overhead -> flavor x GPU count, and its price.

How vLLM sizes its KV cache, which this module reproduces (per GPU, before anything is billed):

    budget   = gpu_memory_utilization x usable GPU memory
    kv_cache = budget - weights / TP - overhead                       (blocks of 16 tokens)
    overhead = non-torch memory (CUDA context, NCCL buffers when TP > 1)
             + the activation peak of vLLM's profiling run, the larger of
                 * one forward pass over max_num_batched_tokens tokens and
                 * the dummy sampler run over max_num_seqs rows of vocab_size logits (fp32, with
                   its temporaries), which dominates on recent vLLM releases.

Start-up fails unless the KV cache holds max_model_len tokens (vLLM's own check); a plan "fits"
only if it holds `min_concurrency` such sequences. Tensor parallelism uses every GPU of the app
(TP = number of GPUs: pipeline parallelism is out of scope). The constants were calibrated on
published vLLM start-up logs (tests/test_sizing_accuracy.py, bench/planner_accuracy.py).

Per release line (`release=`, a components.vllm_releases profile; None keeps the 0.10/0.11
model the cited cases were calibrated on):
    0.17+    the profiling run's activation peak (sampler and forward) is ~0.4 x the 0.11 one
             (Qwen3-14B on H100: 5.64 -> 2.23 GiB, the llm-d planner accuracy notes; 5.64 GiB is
             exactly 1024 rows x 151936 x 39 B, the native sampler term);
    0.21+    CUDA-graph memory is profiled and subtracted inside the budget (gpustack/runner#251
             logs "CUDA graph memory profiling is enabled (default since v0.21.0)"); estimated
             here from the dense 7B-72B range the release notes give (0.4-1.7 GiB per GPU),
             linear in parameters per GPU. Before 0.21 CUDA graphs sit outside the budget.

What the checkpoint stores (weights_bytes): 16-bit weights at 2 bytes, FP8 at 1, AWQ/GPTQ int4 at
0.55 (with scales and zeros), and MXFP4 (gpt-oss) at 4.25 bits for the expert weights only (two
4-bit values per byte plus one 8-bit E8M0 scale per 32 values), attention, router and embeddings
staying bf16. Every expert of a mixture-of-experts model is resident (vLLM loads them all).

KV cache of hybrid models (sliding-window + full attention: gpt-oss, Gemma 3), as vLLM's hybrid KV
cache manager budgets it (vllm/v1/core/kv_cache_utils.py, `_get_kv_cache_groups_uniform_page_size`,
and docs/design/hybrid_kv_cache_manager.md):
    group_size = the layer count of the rarer attention type (of the commoner one when the two are
                 within 1.5x); each type is cut into ceil(layers / group_size) groups (the last
                 padded); all groups share one pool of blocks whose page holds group_size layers;
    num_blocks = kv_cache_bytes // (block_size x group_size x per-layer bytes per token);
    "GPU KV cache size" = num_blocks // number of groups x block_size (what vLLM logs up to at
                 least 0.19, vllm#40691; later code logs max concurrency x max_model_len instead,
                 vllm#38364/#40694: the product of this planner's `conc.@len` and the context);
    one request needs ceil(len/16) blocks in each full-attention group and, in each sliding-window
    group, ceil(min(window - 1 + max_num_batched_tokens, len)/16) + 1 blocks (SlidingWindowSpec.
    max_memory_usage_bytes), so "Maximum concurrency" = num_blocks / blocks per request.
A plan fits when that concurrency reaches `min_concurrency` (for a dense model it is the familiar
KV tokens / max_model_len). The hybrid manager came with 0.10, the oldest line the release
profiles support. Not modelled: a multimodal model's vision encoder run during profiling
(Gemma 3, Mistral Small 3.2 take their encoder's activation on top) and `--disable-hybrid-kv-cache-
manager`, which gives sliding-window layers full-length KV again.

Quantisation per GPU, from vLLM's docs (docs/features/quantization/fp8.md, supported_hardware, the
GPT-OSS recipe): FP8 computes natively (W8A8) from compute capability 8.9 (L4, L40S, H100); A100
runs FP8 checkpoints weight-only (W8A16, FP8 Marlin): allowed with that trade-off stated; V100S
(7.0) cannot. MXFP4 (gpt-oss) runs on H100 with vLLM's Triton MoE kernels and on A100/L4/L40S
through Marlin MXFP4 (weight-only, W4A16); not on V100S. AWQ needs 7.5+ (not V100S).

Prices are indicative EUR/hour figures (shared/ovhai/API.md); a stack overrides them with `prices`.
"""

from __future__ import annotations

import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from components.catalog import ModelSpec, resolve_model
from components.platform import FLAVORS, MAX_GPUS_PER_APP, GpuFlavor, gpus_supporting
from components.vllm_releases import ReleaseProfile

__all__ = [
    "BLOCK_SIZE",
    "FLAVORS",
    "MAX_GPUS_PER_APP",
    "PRICE_NOTE",
    "TABLE_WIDTH",
    "GpuFlavor",
    "MemoryEstimate",
    "NoFittingPlan",
    "Plan",
    "best_plan",
    "checkpoint_bytes",
    "cudagraph_gib",
    "estimate_kv_cache_tokens",
    "estimate_memory",
    "format_plans",
    "kv_bytes_per_token",
    "kv_layout",
    "longest_context",
    "plan",
    "quantization_support",
    "sequences_held",
    "tensor_parallel_problems",
    "weights_bytes",
    "with_prices",
]

GIB = 1024**3
MIB = 1024**2
BLOCK_SIZE = 16  # vLLM's default KV cache block, in tokens

# --- calibrated overhead model (see module docstring) --------------------------------------------
# Memory nvidia-smi counts but CUDA never hands to PyTorch (driver/context reservation): the
# difference between nvidia-smi's total and torch's total_memory on L4, L40S, H100, RTX 3090.
RESERVED_MIB = 460
NON_TORCH_GIB_SINGLE = 0.2  # CUDA context, cuBLAS workspaces
NON_TORCH_GIB_MULTI = 0.55  # + NCCL and custom all-reduce buffers when TP > 1
ACTIVATION_WIDTHS = 3  # forward activations ~ 3 x (hidden + intermediate/TP) values per token
SAMPLER_BYTES_PER_LOGIT = 39  # fp32 logits + softmax/top-k/top-p temporaries, per (row x vocab)
# What the profiling run's dummy sampler pass costs per (row x vocab) logit, by sampler:
# - "native": V1's PyTorch top-k/top-p sorts the fp32 logits (values + int64 indices + probs):
#   ~39 B; the default of vLLM 0.11.x (PR #26859 turned FlashInfer sampling off) and what the
#   H100 logs of llm-d show (activation peak 4.76 GiB = 1024 rows x 128256 x 39 B).
# - "flashinfer": V1 with "Using FlashInfer for top-p & top-k sampling" in the log (0.8-0.10.x
#   with flashinfer installed): no sort, fp32 logits + probs only: 8 B (A100 logs of vLLM 0.10.1.1:
#   overhead 0.56 GiB where "native" would predict 1.6 GiB).
# V0 releases sampled 256 rows with the PyTorch sort too (V0 0.7.2 logs show an activation peak of
# 1.40 GiB for a 1.5B model with a 151936 vocab = 256 x 151936 x 39 B), so they count as "native".
SAMPLER_BYTES = {"native": SAMPLER_BYTES_PER_LOGIT, "flashinfer": 8}
# vLLM's scheduler defaults for `vllm serve`: GPUs with >= 70 GiB (except A100) get larger batches.
LARGE_GPU_DEFAULTS = (1024, 8192)  # (max_num_seqs, max_num_batched_tokens)
SMALL_GPU_DEFAULTS = (256, 2048)

MXFP4_BYTES = (4 + 8 / 32) / 8  # 4-bit values + one E8M0 scale byte per 32 values: 4.25 bits
_WEIGHT_BYTES = {
    "bfloat16": 2.0, "float16": 2.0, "float32": 4.0, "fp8": 1.0, "awq": 0.55, "gptq": 0.55,
    "mxfp4": MXFP4_BYTES,
}  # fmt: skip
__all__ += ["mxfp4_backend", "mxfp4_padding"]
# Compute capability of each flavor's GPU (NVIDIA's tables) and the first one each kernel runs on
# in vLLM (see the module docstring): FP8 Marlin and Marlin MXFP4 (weight-only) from 8.0; native FP8
# math is the flavors' `fp8` flag (components.platform).
COMPUTE_CAPABILITY = {"V100S": 7.0, "L4": 8.9, "L40S": 8.9, "A100": 8.0, "H100": 9.0}
MARLIN_CC = 8.0
# MXFP4 experts as loaded, not as stored: vLLM's MoE kernels pad the expert matrices
# (vllm/model_executor/layers/quantization/mxfp4.py `create_weights`). Marlin needs n % 256 and
# k % 128: intermediate/TP rounded up to 128 and hidden to 256 (gpt-oss: 2880 -> 2944 x 3072, +9.0 %;
# vLLM 0.10.1 on H100 via Marlin logs "Model loading took 65.9651 GiB" for gpt-oss-120b, issue
# #23278). The Triton matmul_ogs backend (H100) pads one side to 256 (+6.7 %: 0.14.1 logs "Using
# Triton backend ... Model loading took 64.38 GiB", issue #33155). H100 used Marlin in the 0.10
# logs and Triton in the 0.14 ones: Triton is assumed from 0.12 on (the line between is not cited).
MXFP4_TRITON_SINCE = (0, 12, 0)
_DTYPE_ALIASES = {
    "auto": "auto",
    "bfloat16": "bfloat16",
    "bf16": "bfloat16",
    "float16": "float16",
    "fp16": "float16",
    "half": "float16",
    "fp8": "fp8",
}
_KV_ALIASES = {"auto": "auto", "fp8": "fp8", "fp8_e4m3": "fp8", "fp8_e5m2": "fp8"}


@dataclass(frozen=True)
class Plan:
    """One candidate deployment: a flavor, a GPU count and what vLLM would do with it."""

    flavor: str
    gpus: int
    tensor_parallel: int
    dtype: str  # compute dtype passed to vLLM: "bfloat16" or "float16"
    quantization: str | None  # "fp8" (on the fly or pre-quantised), "awq", "gptq" or None
    kv_cache_dtype: str  # "auto" (= dtype) or "fp8"
    weights_gib: float  # whole model
    kv_cache_gib: float  # all GPUs together
    kv_cache_tokens: int  # what vLLM reports as "GPU KV cache size"
    max_model_len: int
    max_concurrency: float  # kv_cache_tokens / max_model_len
    hourly_cost: float
    currency: str
    fits: bool
    reasons: tuple[str, ...]
    # Additions beyond the shared contract.
    gpu_model: str = ""
    gpu_memory_utilization: float = 0.9
    overhead_gib_per_gpu: float = 0.0
    model_key: str = ""
    kv_cache_bytes_per_gpu: int = 0  # the planner's KV cache per GPU (whole blocks)
    release: str = ""  # the vLLM release line the memory model followed ("" = 0.10/0.11)
    notes: tuple[str, ...] = ()  # trade-offs of a plan that fits (weight-only kernels, ...)


@dataclass(frozen=True)
class MemoryEstimate:
    """Per-GPU memory picture of one configuration."""

    usable_gib: float  # what vLLM sees as the GPU's total memory
    budget_gib: float  # gpu_memory_utilization x usable
    weights_gib: float  # per GPU
    overhead_gib: float  # non-torch + activation peak
    kv_cache_gib: float  # per GPU, never negative
    kv_bytes_per_token: int  # per GPU
    kv_cache_tokens: int  # whole blocks of BLOCK_SIZE tokens
    max_num_seqs: int
    max_num_batched_tokens: int
    cudagraph_gib: float = 0.0  # inside overhead_gib on releases that budget it (0.21+)
    kv_cache_bytes: int = 0  # per GPU, whole blocks: what --kv-cache-memory-bytes would fix
    num_blocks: int = 0  # vLLM's "# GPU blocks" (pages of group_size layers on hybrid models)


# CUDA-graph memory per GPU on 0.21+, linear between these (parameters per GPU, GiB) points.
CUDAGRAPH_GIB = ((7.0, 0.4), (72.0, 1.7))


def cudagraph_gib(params_b_per_gpu: float) -> float:
    """CUDA-graph memory estimate per GPU (0.21+ subtracts it inside the budget)."""
    (p0, g0), (p1, g1) = CUDAGRAPH_GIB
    share = (params_b_per_gpu - p0) / (p1 - p0)
    return max(0.25, min(2.0, g0 + share * (g1 - g0)))


class NoFittingPlan(ValueError):
    """Nothing fits; the message names the closest plan and the change that makes it fit."""

    def __init__(self, message: str, plans: Sequence[Plan], suggestions: Sequence[tuple[str, Plan]]) -> None:
        super().__init__(message)
        self.plans = tuple(plans)
        self.suggestions = tuple(suggestions)


# --- formulas ---------------------------------------------------------------------------------------


def weights_bytes(model: ModelSpec, quantization: str | None, dtype: str = "bfloat16") -> float:
    """Bytes of the loaded weights; quantisation leaves the embedding and LM head in 16-bit."""
    params = model.params_b * 1e9
    if quantization is None:
        return params * _WEIGHT_BYTES[dtype]
    if quantization == "mxfp4" and model.expert_params:
        # gpt-oss: only the experts are MXFP4 (modules_to_not_convert keeps the rest in bf16)
        experts = float(model.expert_params)
        return experts * MXFP4_BYTES + (params - experts) * _WEIGHT_BYTES.get(dtype, 2.0)
    embed = min(float(model.embedding_params), params)
    return embed * 2 + (params - embed) * _WEIGHT_BYTES[quantization]


def checkpoint_bytes(model: ModelSpec) -> float:
    """Bytes downloaded from the Hub: what the checkpoint stores (on-the-fly FP8 downloads 16-bit)."""
    return weights_bytes(model, model.quantization, model.torch_dtype)


@dataclass(frozen=True)
class KvLayout:
    """How vLLM lays out one GPU's KV cache for a model (see the module docstring)."""

    layer_bytes: int  # K and V of one token in one layer on one GPU
    group_size: int  # layers per page
    full_groups: int
    window_groups: int
    window: int  # tokens of a sliding-window layer (0: none)

    @property
    def groups(self) -> int:
        return self.full_groups + self.window_groups

    @property
    def block_bytes(self) -> int:
        return self.layer_bytes * self.group_size * BLOCK_SIZE


def _ceil(a: int, b: int) -> int:
    return -(-a // b)


def _round_up(value: int, step: int) -> int:
    return _ceil(value, step) * step


def mxfp4_backend(gpu_model: str | None, release: ReleaseProfile | None = None) -> str:
    """The MoE kernel vLLM picks for MXFP4 experts: "triton" (H100, 0.12+) or "marlin"."""
    cc = COMPUTE_CAPABILITY.get(gpu_model or "", 9.0)
    recent = release is not None and release.version >= MXFP4_TRITON_SINCE
    return "triton" if cc >= 9.0 and recent else "marlin"


def mxfp4_padding(model: ModelSpec, tensor_parallel: int = 1, backend: str = "marlin") -> float:
    """Loaded / stored bytes of the MXFP4 experts on one GPU (the kernels' padding)."""
    hidden = model.hidden_size
    inter = _ceil(model.moe_intermediate_size, tensor_parallel)
    if not hidden or not inter:
        return 1.0
    if backend == "triton":
        return _round_up(hidden, 256) / hidden
    return (_round_up(hidden, 256) * _round_up(inter, 128)) / (hidden * inter)


def kv_layout(model: ModelSpec, tensor_parallel: int = 1, kv_cache_dtype: str = "auto") -> KvLayout:
    """The KV cache groups vLLM forms: one group of all layers for a model without sliding windows."""
    heads_per_gpu = max(1, model.num_key_value_heads // tensor_parallel)
    element = 1 if _KV_ALIASES.get(kv_cache_dtype, kv_cache_dtype) == "fp8" else 2
    layer_bytes = 2 * heads_per_gpu * model.head_dim * element
    full, window = model.full_attention_layers, model.sliding_window_layers
    if not window or not full:  # one attention type: one group
        return KvLayout(layer_bytes, model.num_hidden_layers, 1, 0, model.sliding_window if window else 0)
    low, high = min(full, window), max(full, window)
    group_size = high if high < low * 1.5 else low
    return KvLayout(layer_bytes, group_size, _ceil(full, group_size), _ceil(window, group_size),
                    model.sliding_window)  # fmt: skip


def kv_bytes_per_token(model: ModelSpec, tensor_parallel: int = 1, kv_cache_dtype: str = "auto") -> int:
    """Bytes per token of vLLM's "GPU KV cache size" on one GPU: 2 (K and V) x layers x KV heads on
    the GPU x head_dim x bytes (KV heads replicate below 1 per GPU). On a hybrid model, the layers
    of every KV cache group, padding included (the figure vLLM logs counts a token in each group)."""
    layout = kv_layout(model, tensor_parallel, kv_cache_dtype)
    return layout.layer_bytes * layout.group_size * layout.groups


def _blocks_per_request(layout: KvLayout, max_model_len: int, max_num_batched_tokens: int) -> int:
    full = layout.full_groups * _ceil(max_model_len, BLOCK_SIZE)
    if not layout.window_groups:
        return full
    held = min(layout.window - 1 + max_num_batched_tokens, max_model_len)
    return full + layout.window_groups * (_ceil(held, BLOCK_SIZE) + 1)


def sequences_held(
    model: ModelSpec, memory: MemoryEstimate, max_model_len: int, tensor_parallel: int = 1,
    kv_cache_dtype: str = "auto",
) -> float:
    """vLLM's "Maximum concurrency for N tokens per request": full-length sequences the cache holds."""
    layout = kv_layout(model, tensor_parallel, kv_cache_dtype)
    return memory.num_blocks / _blocks_per_request(layout, max_model_len, memory.max_num_batched_tokens)


def longest_context(
    model: ModelSpec, memory: MemoryEstimate, sequences: int = 1, tensor_parallel: int = 1,
    kv_cache_dtype: str = "auto",
) -> int:
    """The longest max_model_len of which the cache holds `sequences` (0 if not even one block)."""
    layout = kv_layout(model, tensor_parallel, kv_cache_dtype)
    low, high = 0, max(model.max_position_embeddings, 1)
    while low < high:  # concurrency falls as the length grows: bisect
        mid = (low + high + 1) // 2
        if memory.num_blocks >= sequences * _blocks_per_request(layout, mid, memory.max_num_batched_tokens):
            low = mid
        else:
            high = mid - 1
    return low


def quantization_support(quantization: str | None, flavor: GpuFlavor) -> tuple[str | None, str | None]:
    """(reason it cannot run, trade-off note) of a weight format on a flavor's GPU, per vLLM's docs."""
    cc = COMPUTE_CAPABILITY.get(flavor.gpu_model, 0.0)
    gpu = flavor.gpu_model
    if quantization == "fp8" and not flavor.fp8:
        if cc >= MARLIN_CC:
            return None, (
                f"FP8 weights on {gpu} run weight-only (W8A16, vLLM's FP8 Marlin kernel): the memory "
                "of FP8, but 16-bit matrix math, so no FP8 speed-up (native FP8 needs "
                f"{gpus_supporting('fp8')})"
            )
        return (f"FP8 weights need compute capability 8.0+ (weight-only FP8 Marlin) or native FP8 "
                f"({gpus_supporting('fp8')}), not {gpu}", None)
    if quantization == "mxfp4":
        if cc < MARLIN_CC:
            needs = "compute capability 8.0+ (A100, L4, L40S or H100)"
            return f"MXFP4 weights (gpt-oss) need {needs}, not {gpu}", None
        if cc < 9.0:
            return None, (
                f"MXFP4 experts on {gpu} run through vLLM's Marlin MXFP4 MoE kernel (weight-only, "
                "W4A16; the GPT-OSS recipe's Ampere path); H100 has the faster Triton MoE kernels"
            )
    if quantization == "awq" and not flavor.awq:
        return f"AWQ kernels do not run on {gpu}", None
    return None, None


def tensor_parallel_problems(model: ModelSpec, tensor_parallel: int) -> list[str]:
    """Why vLLM would refuse this tensor-parallel size for this model (empty if it accepts it)."""
    problems: list[str] = []
    heads, kv = model.num_attention_heads, model.num_key_value_heads
    if heads % tensor_parallel:
        problems.append(f"tensor parallel {tensor_parallel} does not divide the {heads} attention heads")
    if kv % tensor_parallel and tensor_parallel % kv:
        problems.append(f"tensor parallel {tensor_parallel} and the {kv} KV heads do not divide one another")
    if model.quantization in ("awq", "gptq") and model.group_size:
        shard, rest = divmod(model.intermediate_size, tensor_parallel)
        if rest or shard % model.group_size:
            problems.append(
                f"{model.quantization.upper()} needs intermediate_size/TP ({model.intermediate_size}/"
                f"{tensor_parallel}) to be a multiple of the group size {model.group_size}"
            )
    return problems


def _scheduler_defaults(gpu_memory_mib: int, gpu_model: str | None) -> tuple[int, int]:
    large = gpu_memory_mib * MIB >= 70 * GIB and "a100" not in (gpu_model or "").lower()
    return LARGE_GPU_DEFAULTS if large else SMALL_GPU_DEFAULTS


def estimate_memory(
    model: str | ModelSpec | Mapping[str, Any],
    gpu_memory_mib: int,
    gpus: int = 1,
    *,
    dtype: str = "bfloat16",
    quantization: str | None = None,
    kv_cache_dtype: str = "auto",
    gpu_memory_utilization: float = 0.9,
    max_num_seqs: int | None = None,
    max_num_batched_tokens: int | None = None,
    gpu_model: str | None = None,
    sampler: str = "native",
    release: ReleaseProfile | None = None,
) -> MemoryEstimate:
    """Per-GPU memory of `model` on `gpus` GPUs of `gpu_memory_mib` MiB each (nvidia-smi's figure).

    Takes the GPU memory directly so that GPUs outside the flavor table can be estimated too.
    `quantization` defaults to the checkpoint's own; `max_num_seqs`/`max_num_batched_tokens`
    default to vLLM's `vllm serve` defaults for the GPU (a V0-era profile used max_model_len).
    `sampler` is the top-k/top-p implementation the profiling run exercises (see SAMPLER_BYTES):
    "native" (PyTorch's sort-based top-k/top-p, the default) or "flashinfer" (FlashInfer's kernel).
    """
    spec = resolve_model(model)
    quant = quantization if quantization is not None else spec.quantization
    tp = gpus
    seqs_default, tokens_default = _scheduler_defaults(gpu_memory_mib, gpu_model)
    seqs = max_num_seqs or seqs_default
    batched = max_num_batched_tokens or tokens_default
    act_bytes = 4 if dtype == "float32" else 2

    usable = (gpu_memory_mib - RESERVED_MIB) * MIB
    budget = gpu_memory_utilization * usable
    weights = weights_bytes(spec, quant, dtype) / tp
    if quant == "mxfp4" and spec.expert_params:  # the kernels' padding (see MXFP4_TRITON_SINCE)
        padding = mxfp4_padding(spec, tp, mxfp4_backend(gpu_model, release))
        weights += spec.expert_params * MXFP4_BYTES * (padding - 1) / tp
    non_torch = (NON_TORCH_GIB_MULTI if tp > 1 else NON_TORCH_GIB_SINGLE) * GIB
    forward = batched * ACTIVATION_WIDTHS * (spec.hidden_size + spec.intermediate_size / tp) * act_bytes
    if sampler not in SAMPLER_BYTES:
        raise ValueError(f"unknown sampler {sampler!r}: use {', '.join(SAMPLER_BYTES)}")
    sampler_peak = float(seqs * spec.vocab_size * SAMPLER_BYTES[sampler])
    graphs = 0.0
    if release is not None:
        memory = release.memory
        forward *= memory.activation_scale
        sampler_peak *= memory.sampler_scale
        if memory.cudagraph_in_budget:
            graphs = cudagraph_gib(spec.params_b / tp) * GIB
    overhead = non_torch + max(forward, sampler_peak) + graphs
    kv_bytes = max(0.0, budget - weights - overhead)
    layout = kv_layout(spec, tp, kv_cache_dtype)
    per_token = kv_bytes_per_token(spec, tp, kv_cache_dtype)
    num_blocks = int(kv_bytes // layout.block_bytes)
    blocks = num_blocks // layout.groups  # tokens vLLM logs = blocks per group x block size
    return MemoryEstimate(
        usable_gib=usable / GIB,
        budget_gib=budget / GIB,
        weights_gib=weights / GIB,
        overhead_gib=overhead / GIB,
        kv_cache_gib=kv_bytes / GIB,
        kv_bytes_per_token=per_token,
        kv_cache_tokens=blocks * BLOCK_SIZE,
        max_num_seqs=seqs,
        max_num_batched_tokens=batched,
        cudagraph_gib=graphs / GIB,
        kv_cache_bytes=num_blocks * layout.block_bytes,
        num_blocks=num_blocks,
    )


def estimate_kv_cache_tokens(
    model: str | ModelSpec | Mapping[str, Any],
    gpu_memory_mib: int,
    gpus: int = 1,
    **options: Any,
) -> int:
    """vLLM's "GPU KV cache size: N tokens" for this configuration (see `estimate_memory`)."""
    return estimate_memory(model, gpu_memory_mib, gpus, **options).kv_cache_tokens


# --- planning ---------------------------------------------------------------------------------------


def _normalise_dtype(dtype: str | None) -> str:
    key = (dtype or "auto").lower()
    if key not in _DTYPE_ALIASES:
        raise ValueError(f"unknown dtype {dtype!r}: use auto, bfloat16, float16 (half) or fp8")
    return _DTYPE_ALIASES[key]


def _normalise_kv(kv_cache_dtype: str | None) -> str:
    key = (kv_cache_dtype or "auto").lower()
    if key not in _KV_ALIASES:
        raise ValueError(f"unknown kv_cache_dtype {kv_cache_dtype!r}: use auto or fp8")
    return _KV_ALIASES[key]


def _resolve_flavors(flavors: Iterable[str | GpuFlavor] | None) -> list[GpuFlavor]:
    if flavors is None:
        return list(FLAVORS.values())
    if isinstance(flavors, str | GpuFlavor):
        flavors = [flavors]
    chosen: list[GpuFlavor] = []
    for item in flavors:
        if isinstance(item, GpuFlavor):
            chosen.append(item)
        elif item in FLAVORS:
            chosen.append(FLAVORS[item])
        else:
            raise ValueError(f"unknown GPU flavor {item!r}: known flavors are {', '.join(FLAVORS)}")
    return chosen


def _plan_one(
    spec: ModelSpec,
    flavor: GpuFlavor,
    gpus: int,
    *,
    requested_dtype: str,
    kv_cache_dtype: str,
    max_model_len: int,
    gpu_memory_utilization: float,
    min_concurrency: int,
    price: float,
    release: ReleaseProfile | None = None,
) -> Plan:
    reasons: list[str] = []
    # Compute dtype: the checkpoint's, but float16 where bfloat16 does not exist (V100S).
    if requested_dtype in ("auto", "fp8"):
        dtype = spec.torch_dtype if spec.torch_dtype != "float32" else "bfloat16"
        if dtype == "bfloat16" and not flavor.bf16:
            dtype = "float16"
    else:
        dtype = requested_dtype
    if dtype == "bfloat16" and not flavor.bf16:
        reasons.append(f"{flavor.gpu_model} has no bfloat16: use float16 (half)")
    notes: list[str] = []
    quantization = "fp8" if requested_dtype == "fp8" else spec.quantization
    if requested_dtype == "fp8" and spec.quantization not in (None, "fp8"):
        reasons.append(
            f"the checkpoint is already {spec.quantization.upper()}: vLLM refuses --quantization fp8 on it "
            "(use dtype auto)"
        )
        quantization = spec.quantization
    refusal, note = quantization_support(quantization, flavor)
    if refusal:
        reasons.append(refusal)
    elif note:
        notes.append(note)
    if kv_cache_dtype == "fp8" and not flavor.fp8:
        reasons.append(f"an FP8 KV cache needs {gpus_supporting('fp8')}, not {flavor.gpu_model}")
    reasons.extend(tensor_parallel_problems(spec, gpus))
    if max_model_len > spec.max_position_embeddings:
        reasons.append(
            f"max_model_len {max_model_len} exceeds the model's context ({spec.max_position_embeddings})"
        )

    memory = estimate_memory(
        spec,
        flavor.memory_mib,
        gpus,
        dtype=dtype,
        quantization=quantization,
        kv_cache_dtype=kv_cache_dtype,
        gpu_memory_utilization=gpu_memory_utilization,
        gpu_model=flavor.gpu_model,
        release=release,
    )
    held = sequences_held(spec, memory, max_model_len, gpus, kv_cache_dtype)
    if memory.weights_gib + memory.overhead_gib >= memory.budget_gib:
        reasons.append(
            f"weights need {memory.weights_gib:.1f} GiB per GPU + {memory.overhead_gib:.1f} GiB overhead, "
            f"more than the {memory.budget_gib:.1f} GiB vLLM may use"
        )
    elif held < min_concurrency:
        what = f"{min_concurrency} x {max_model_len:,}" if min_concurrency > 1 else f"{max_model_len:,}"
        if spec.sliding_window_layers:
            reasons.append(
                f"KV cache holds {held:.2f} sequences of {max_model_len:,} tokens (sliding-window layers "
                f"keep {spec.sliding_window:,}), fewer than {what} tokens needed"
            )
        else:
            reasons.append(f"KV cache holds {memory.kv_cache_tokens:,} tokens, fewer than {what} needed")
    return Plan(
        flavor=flavor.id,
        gpus=gpus,
        tensor_parallel=gpus,
        dtype=dtype,
        quantization=quantization,
        kv_cache_dtype=kv_cache_dtype,
        weights_gib=round(memory.weights_gib * gpus, 2),
        kv_cache_gib=round(memory.kv_cache_gib * gpus, 2),
        kv_cache_tokens=memory.kv_cache_tokens,
        max_model_len=max_model_len,
        max_concurrency=round(held, 2),
        hourly_cost=round(price * gpus, 4),
        currency="EUR",
        fits=not reasons,
        reasons=tuple(reasons),
        gpu_model=flavor.gpu_model,
        gpu_memory_utilization=gpu_memory_utilization,
        overhead_gib_per_gpu=round(memory.overhead_gib, 2),
        model_key=spec.key,
        kv_cache_bytes_per_gpu=memory.kv_cache_bytes,
        release=release.memory.line if release is not None else "",
        notes=tuple(notes) if not reasons else (),
    )


def _rank_key(p: Plan) -> tuple[bool, float, int, int]:
    return (not p.fits, p.hourly_cost, -p.kv_cache_tokens, p.gpus)


def plan(
    model: str | ModelSpec | Mapping[str, Any],
    *,
    max_model_len: int | None = None,
    dtype: str | None = None,
    kv_cache_dtype: str | None = None,
    gpu_memory_utilization: float = 0.9,
    flavors: Iterable[str | GpuFlavor] | None = None,
    min_concurrency: int = 1,
    prices: Mapping[str, float] | None = None,
    gpus: int | None = None,
    release: ReleaseProfile | None = None,
) -> list[Plan]:
    """Every flavor x GPU count (within AI Deploy's limits), fitting plans first, cheapest first.

    Ties are broken by the larger KV cache. A plan never exceeds its flavor's GPU limit: with
    `gpus` above a flavor's limit that flavor yields no plan.
    """
    spec = resolve_model(model)
    requested_dtype = _normalise_dtype(dtype)
    kv = _normalise_kv(kv_cache_dtype)
    length = max_model_len if max_model_len is not None else spec.max_position_embeddings
    if length < 1:
        raise ValueError(f"max_model_len must be positive, got {length}")
    if min_concurrency < 1:
        raise ValueError(f"min_concurrency must be at least 1, got {min_concurrency}")
    if not 0 < gpu_memory_utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {gpu_memory_utilization}")
    if gpus is not None and not 1 <= gpus <= MAX_GPUS_PER_APP:
        raise ValueError(
            f"gpus must be between 1 and {MAX_GPUS_PER_APP} (AI Deploy's limit per app), got {gpus}"
        )
    price_of = dict(prices or {})
    plans: list[Plan] = []
    for flavor in _resolve_flavors(flavors):
        limit = min(flavor.max_gpus, MAX_GPUS_PER_APP)
        counts = [gpus] if gpus is not None else list(range(1, limit + 1))
        for count in counts:
            if count > limit:
                continue
            plans.append(
                _plan_one(
                    spec,
                    flavor,
                    count,
                    requested_dtype=requested_dtype,
                    kv_cache_dtype=kv,
                    max_model_len=length,
                    gpu_memory_utilization=gpu_memory_utilization,
                    min_concurrency=min_concurrency,
                    price=float(price_of.get(flavor.id, flavor.hourly_price_eur)),
                    release=release,
                )
            )
    return sorted(plans, key=_rank_key)


def _round_len(tokens: int) -> int:
    """Round a context length down to a multiple of 1024 (or of 256 below 1024)."""
    step = 1024 if tokens >= 1024 else 256
    return (tokens // step) * step


def best_plan(
    model: str | ModelSpec | Mapping[str, Any],
    *,
    max_model_len: int | None = None,
    dtype: str | None = None,
    kv_cache_dtype: str | None = None,
    gpu_memory_utilization: float = 0.9,
    flavors: Iterable[str | GpuFlavor] | None = None,
    min_concurrency: int = 1,
    prices: Mapping[str, float] | None = None,
    gpus: int | None = None,
    release: ReleaseProfile | None = None,
) -> Plan:
    """The cheapest fitting plan; raises NoFittingPlan saying what would fit otherwise."""
    kwargs: dict[str, Any] = {
        "max_model_len": max_model_len,
        "dtype": dtype,
        "kv_cache_dtype": kv_cache_dtype,
        "gpu_memory_utilization": gpu_memory_utilization,
        "flavors": list(flavors) if flavors is not None else None,
        "min_concurrency": min_concurrency,
        "prices": prices,
        "gpus": gpus,
        "release": release,
    }
    plans = plan(model, **kwargs)
    if plans and plans[0].fits:
        return plans[0]
    raise _no_fit(resolve_model(model), plans, kwargs)


def _no_fit(spec: ModelSpec, plans: list[Plan], kwargs: dict[str, Any]) -> NoFittingPlan:
    length = kwargs["max_model_len"] or spec.max_position_embeddings
    conc = kwargs["min_concurrency"]
    suggestions: list[tuple[str, Plan]] = []

    # Plans that only miss on KV capacity, best first (more KV, then cheaper).
    kv_bound = [p for p in plans if all(r.startswith("KV cache holds") for r in p.reasons)]
    kv_bound.sort(key=lambda p: (p.hourly_cost, -p.kv_cache_tokens))
    closest = kv_bound[0] if kv_bound else (plans[0] if plans else None)

    # 1. A shorter context on the cheapest plan that has some KV cache.
    for candidate in kv_bound:
        fits_len = _longest_on(spec, candidate, conc, kwargs["release"])
        shorter = _round_len(min(fits_len, length))
        if shorter >= 256:
            retry = plan(
                spec,
                **{**kwargs, "max_model_len": shorter, "flavors": [candidate.flavor], "gpus": candidate.gpus},
            )
            if retry and retry[0].fits:
                suggestions.append((f"max_model_len={shorter} on {_label(retry[0])}", retry[0]))
                break
    # 2. FP8 KV cache, then FP8 weights, then both, on the flavors asked for.
    for change in ({"kv_cache_dtype": "fp8"}, {"dtype": "fp8"}, {"dtype": "fp8", "kv_cache_dtype": "fp8"}):
        if all(kwargs.get(k) == v for k, v in change.items()):
            continue
        retry = plan(spec, **{**kwargs, **change})
        if retry and retry[0].fits:
            words = " and ".join(f"{k}={v!r}" for k, v in change.items())
            suggestions.append((f"{words} on {_label(retry[0])}", retry[0]))
            break
    # 3. More or bigger GPUs: any flavor and count.
    if kwargs["flavors"] is not None or kwargs["gpus"] is not None:
        retry = plan(spec, **{**kwargs, "flavors": None, "gpus": None})
        if retry and retry[0].fits:
            suggestions.append((f"more or bigger GPUs: {_label(retry[0])}", retry[0]))

    asked = f"max_model_len {length:,}" + (f" x {conc} sequences" if conc > 1 else "")
    lines = [f"no GPU plan fits {spec.key} ({spec.hf_id}) at {asked}."]
    if closest is not None:
        lines.append(f"Closest: {_label(closest)}: {'; '.join(closest.reasons)}.")
    else:
        lines.append("No flavor allows that many GPUs (a100-1-gpu: at most 2; others: at most 4).")
    if suggestions:
        lines.append("What would fit: " + "; or ".join(text for text, _ in suggestions) + ".")
    else:
        lines.append("Nothing within AI Deploy's limits fits: choose a smaller or quantised model.")
    return NoFittingPlan(" ".join(lines), plans, suggestions)


def _longest_on(spec: ModelSpec, p: Plan, sequences: int, release: ReleaseProfile | None) -> int:
    """The longest context of which plan `p`'s KV cache holds `sequences`."""
    flavor = FLAVORS.get(p.flavor)
    if flavor is None:
        return p.kv_cache_tokens // sequences
    memory = estimate_memory(
        spec, flavor.memory_mib, p.gpus, dtype=p.dtype, quantization=p.quantization,
        kv_cache_dtype=p.kv_cache_dtype, gpu_memory_utilization=p.gpu_memory_utilization,
        gpu_model=flavor.gpu_model, release=release,
    )  # fmt: skip
    return longest_context(spec, memory, sequences, p.gpus, p.kv_cache_dtype)


def _label(p: Plan) -> str:
    extras = []
    if p.quantization:
        extras.append(f"{p.quantization} weights")
    if p.kv_cache_dtype == "fp8":
        extras.append("fp8 KV cache")
    extra = f" ({', '.join(extras)})" if extras else ""
    return (
        f"{p.gpus} x {p.flavor} TP {p.tensor_parallel}{extra}, {p.kv_cache_tokens:,} KV tokens, "
        f"{p.hourly_cost:.2f} {p.currency}/h"
    )


def with_prices(plans: Sequence[Plan], prices: Mapping[str, float]) -> list[Plan]:
    """Re-price plans (per-GPU EUR/hour by flavor) and re-rank them."""
    repriced = [
        replace(p, hourly_cost=round(prices[p.flavor] * p.gpus, 4)) if p.flavor in prices else p
        for p in plans
    ]
    return sorted(repriced, key=_rank_key)


# --- presentation -----------------------------------------------------------------------------------

PRICE_NOTE = (
    "Costs are per hour while the app is SCALING or RUNNING, estimates from per-GPU prices (their "
    "source: the `Prices:` line); a stack can override them with `prices`."
)


TABLE_WIDTH = 120  # the table and the reasons wrapped under its rows fit a 120-column terminal


def format_plans(plans: Sequence[Plan], width: int = TABLE_WIDTH) -> str:
    """The ranked table a reviewer reads: flavor, GPUs, TP, weights, KV tokens, concurrency, cost, fit.

    Why a plan does not fit, and the trade-offs of one that does, wrap under its row (indented), so
    that every line stays within `width` columns. The one function that prints the table.
    """
    headers = (
        "flavor", "GPUs", "TP", "dtype", "weights", "KV tokens", "conc.@len",
        f"{plans[0].currency if plans else 'EUR'}/h", "fits / why not",
    )  # fmt: skip
    rows = []
    for p in plans:
        dtype = p.dtype + (f"+{p.quantization}" if p.quantization else "")
        if p.kv_cache_dtype == "fp8":
            dtype += ", kv fp8"
        rows.append(
            (
                p.flavor,
                str(p.gpus),
                str(p.tensor_parallel),
                dtype,
                f"{p.weights_gib:.1f} GiB",
                f"{p.kv_cache_tokens:,}",
                f"{p.max_concurrency:.2f}x",
                f"{p.hourly_cost:.2f}",
                "yes" if p.fits else "no",
            )
        )
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)]
    numeric = {1, 2, 4, 5, 6, 7}

    def line(cells: Sequence[str]) -> str:
        out = [
            c.rjust(w) if i in numeric else c.ljust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(out).rstrip()

    def under(label: str, text: str) -> list[str]:
        first, rest = f"    {label}: ", " " * (6 + len(label))
        return textwrap.wrap(text, width, initial_indent=first, subsequent_indent=rest)

    table = [line(headers), line(["-" * w for w in widths])]
    for p, row in zip(plans, rows, strict=True):
        table.append(line(row))
        for reason in p.reasons:
            table += under("why not", reason)
        for note in p.notes:
            table += under("note", note)
    table.append("")
    if plans:
        table += textwrap.wrap(
            f"context {plans[0].max_model_len:,} tokens; tensor parallel = number of GPUs "
            "(pipeline parallelism is out of scope); conc.@len: full-length sequences the KV cache holds "
            "(vLLM's \"Maximum concurrency\").",
            width,
        )
    table += textwrap.wrap(PRICE_NOTE, width)
    return "\n".join(table)
