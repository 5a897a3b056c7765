"""The KV-cache estimate against what vLLM itself reported at start-up, on published configurations.

Each case is a public start-up log (or a table of them) with the GPU, model, tensor parallel size,
gpu_memory_utilization, the profiling size, and vLLM's own figure: `GPU KV cache size: N tokens`,
`# GPU blocks: N` (x 16 tokens), or `Available KV cache memory: X GiB` (converted to whole blocks
with the model's KV bytes per token). GPU memory is nvidia-smi's total in MiB; GPUs outside the
flavor table (RTX 3090/4090) are given explicitly. The overhead constants of components.sizing
were calibrated on this table; every estimate must land within 20 %.

`max_num_seqs` / `max_num_batched_tokens` are left to vLLM's defaults unless the log says
otherwise: V0-era releases (2024) without chunked prefill profiled one max_model_len-token batch,
so those cases pass max_num_batched_tokens=max_model_len and the V0 default of 256 sequences.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from components.catalog import resolve_model
from components.sizing import GIB, estimate_kv_cache_tokens, kv_bytes_per_token

TOLERANCE = 0.20

QWEN3_32B = {
    "hf_id": "Qwen/Qwen3-32B",
    "hidden_size": 5120,
    "intermediate_size": 25600,
    "num_hidden_layers": 64,
    "num_attention_heads": 64,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "params_b": 32.76,
}
QWEN3_0_6B = {
    "hf_id": "Qwen/Qwen3-0.6B",
    "hidden_size": 1024,
    "intermediate_size": 3072,
    "num_hidden_layers": 28,
    "num_attention_heads": 16,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 151936,
    "max_position_embeddings": 40960,
    "params_b": 0.596,
    "tie_word_embeddings": True,
}
META_LLAMA_3_8B = {
    "hf_id": "meta-llama/Meta-Llama-3-8B",
    "hidden_size": 4096,
    "intermediate_size": 14336,
    "num_hidden_layers": 32,
    "num_attention_heads": 32,
    "num_key_value_heads": 8,
    "head_dim": 128,
    "vocab_size": 128256,
    "max_position_embeddings": 8192,
    "params_b": 8.03,
    "gated": True,
}

LLMD_RESULTS = (
    "https://github.com/llm-d/llm-d-benchmark/blob/259334868c5075da530cc6c90b43fceb11b6e6a7/"
    "config_explorer/empirical-vllm-memory-results.md"
)


@dataclass(frozen=True)
class Case:
    id: str
    source: str  # repository, issue/PR or file, URL
    model: Any
    gpu: str
    gpu_memory_mib: int
    gpus: int
    gpu_memory_utilization: float
    reported_tokens: int = 0
    reported_kv_gib: float = 0.0  # when the log gives memory instead of tokens
    options: dict[str, Any] = field(default_factory=dict)

    def reported(self) -> int:
        if self.reported_tokens:
            return self.reported_tokens
        spec = resolve_model(self.model)
        per_token = kv_bytes_per_token(spec, self.gpus)
        return int(self.reported_kv_gib * GIB // (per_token * 16)) * 16


CASES = [
    Case(
        "3090-llama3.1-8b-v0-20k",
        "vllm-project/vllm issue #10517 (comment by kaspersiminski, 2024-12-02) "
        "https://github.com/vllm-project/vllm/issues/10517 - `# GPU blocks: 1952` at --max-model-len 20000",
        "llama-3.1-8b",
        "RTX 3090",
        24576,
        1,
        0.90,
        reported_tokens=1952 * 16,
        options={"max_num_batched_tokens": 20000, "max_num_seqs": 256},
    ),
    Case(
        "3090-llama3.1-8b-v0-29k",
        "vllm-project/vllm issue #10517 (same comment) https://github.com/vllm-project/vllm/issues/10517 "
        "- `# GPU blocks: 1478` at --max-model-len 29000",
        "llama-3.1-8b",
        "RTX 3090",
        24576,
        1,
        0.90,
        reported_tokens=1478 * 16,
        options={"max_num_batched_tokens": 29000, "max_num_seqs": 256},
    ),
    Case(
        "4090-llama3.1-8b-v1",
        "casys-kaist/LLMServingSim PR #59 https://github.com/casys-kaist/LLMServingSim/pull/59 - "
        "vLLM meta.json: num_gpu_blocks 2588, num_kv_tokens 41408 (bf16, TP 1, 0.9, "
        "max_num_seqs 256, max_num_batched_tokens 2048)",
        "llama-3.1-8b",
        "RTX 4090",
        24564,
        1,
        0.90,
        reported_tokens=41408,
        options={"max_num_batched_tokens": 2048, "max_num_seqs": 256},
    ),
    Case(
        "80gb-llama3-8b-v0",
        "vllm-project/vllm PR #10511 (youkaichao sanity check, 2024-12-14) "
        "https://github.com/vllm-project/vllm/pull/10511 - total_gpu_memory 79.22GiB, "
        "available_kv_cache_memory 53.29GiB "
        "(vllm serve meta-llama/Meta-Llama-3-8B, V0 profile of 8192 tokens)",
        META_LLAMA_3_8B,
        "H100",
        81559,
        1,
        0.90,
        reported_kv_gib=53.29,
        options={"max_num_batched_tokens": 8192, "max_num_seqs": 256},
    ),
    Case(
        "h100-llama3.1-8b-v1",
        f"llm-d/llm-d-benchmark results file (Llama-3.1-8B-Instruct, max-model-len 16000): "
        f"Available KV cache memory 51.38 GiB {LLMD_RESULTS}",
        "llama-3.1-8b",
        "H100",
        81559,
        1,
        0.90,
        reported_kv_gib=51.38,
        options={"gpu_model": "H100"},
    ),
    Case(
        "2xh100-llama3.3-70b-fp8-v1",
        f"llm-d/llm-d-benchmark results file (RedHatAI/Llama-3.3-70B-Instruct-FP8-dynamic, TP 2): "
        f"Available KV cache memory 32.0 GiB per GPU {LLMD_RESULTS}",
        "llama-3.3-70b-fp8",
        "H100",
        81559,
        2,
        0.90,
        reported_kv_gib=32.0,
        options={"gpu_model": "H100"},
    ),
    Case(
        "h100-qwen3-32b-v1",
        f"llm-d/llm-d-benchmark results file (Qwen3-32B, max-model-len 16000): "
        f"Available KV cache memory 4.45 GiB {LLMD_RESULTS}",
        QWEN3_32B,
        "H100",
        81559,
        1,
        0.90,
        reported_kv_gib=4.45,
        options={"gpu_model": "H100"},
    ),
    Case(
        "h100-qwen3-0.6b-v1",
        f"llm-d/llm-d-benchmark results file (Qwen3-0.6B, max-model-len 16000): "
        f"Available KV cache memory 64.45 GiB {LLMD_RESULTS}",
        QWEN3_0_6B,
        "H100",
        81559,
        1,
        0.90,
        reported_kv_gib=64.45,
        options={"gpu_model": "H100"},
    ),
]


def estimate(case: Case) -> int:
    return estimate_kv_cache_tokens(
        case.model,
        case.gpu_memory_mib,
        case.gpus,
        gpu_memory_utilization=case.gpu_memory_utilization,
        **case.options,
    )


def error(case: Case) -> float:
    return (estimate(case) - case.reported()) / case.reported()


def test_at_least_six_published_cases() -> None:
    assert len(CASES) >= 6
    assert all("http" in case.source for case in CASES)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_kv_cache_estimate_within_20_percent(case: Case) -> None:
    assert abs(error(case)) <= TOLERANCE, (
        f"{case.id}: estimated {estimate(case):,} tokens, "
        f"vLLM reported {case.reported():,} ({error(case):+.1%})"
    )
