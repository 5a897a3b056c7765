"""Pure builder: a model and a plan -> the vLLM container command, env, probes and deadlines.

The command is an explicit argv list for the `vllm/vllm-openai` image,
`["python3", "-m", "vllm.entrypoints.openai.api_server", "--model", <id>, ...]`, never
`bash -c "<string>"`: AI Deploy's `command` replaces the image's entrypoint, so naming the module
keeps the entrypoint from swallowing (or duplicating) the model argument, and an argv list needs
no shell, so no value (a served name, a JSON argument) can be split or re-quoted by a shell. It is
also what `pulumi preview` diffs flag by flag. It is the same entry point the OVHcloud seed uses.

Flags are always spelt with dashes (vLLM accepts `--tokenizer_mode` and `--tokenizer-mode` alike).

Timing formula (documented because it bills GPUs while it runs):
    progressDeadlineSeconds = max(900, round_up_60(240 + checkpoint / 50 MB/s + checkpoint / 400 MB/s))
the checkpoint is downloaded at a conservative 50 MB/s into the cache volume, then read and
copied to the GPUs at 400 MB/s, plus 240 s for the image start, torch.compile and CUDA graph
capture; capped at 3 hours. vLLM's HTTP server only listens once the engine is loaded, so the
liveness probe waits that long too before it may restart the container.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from components.catalog import ModelSpec
from components.sizing import Plan, checkpoint_bytes

__all__ = [
    "DEADLINE_FLOOR_SECONDS",
    "VllmLaunch",
    "build_launch",
    "progress_deadline_seconds",
]

ENTRYPOINT = ("python3", "-m", "vllm.entrypoints.openai.api_server")
DEADLINE_FLOOR_SECONDS = 900
DEADLINE_CAP_SECONDS = 3 * 3600
DOWNLOAD_BYTES_PER_SECOND = 50e6
LOAD_BYTES_PER_SECOND = 400e6
STARTUP_SECONDS = 240
LIVENESS_TIMEOUT_SECONDS = 5
LIVENESS_PERIOD_SECONDS = 10
LIVENESS_FAILURE_THRESHOLD = 3


@dataclass(frozen=True)
class VllmLaunch:
    """Everything the deployment needs to start vLLM for one plan (AppSpec wire shapes)."""

    command: list[str]
    env: dict[str, str]
    secret_env: dict[str, str]
    port: int
    served_model_name: str
    probe: dict[str, Any]
    liveness_probe: dict[str, Any]
    deployment_strategy: dict[str, Any]
    # Additions beyond the shared contract.
    needs_hf_token: bool = False
    notes: tuple[str, ...] = field(default=())


def progress_deadline_seconds(model: ModelSpec) -> int:
    """Seconds AI Deploy should wait for the first ready replica (see the module docstring)."""
    size = checkpoint_bytes(model)
    seconds = STARTUP_SECONDS + size / DOWNLOAD_BYTES_PER_SECOND + size / LOAD_BYTES_PER_SECOND
    rounded = math.ceil(seconds / 60.0) * 60
    return min(DEADLINE_CAP_SECONDS, max(DEADLINE_FLOOR_SECONDS, rounded))


def _cache_env(hf_home: str) -> dict[str, str]:
    root = hf_home.rstrip("/") or "/"
    base = "" if root == "/" else root
    return {
        "HF_HOME": root,  # Hugging Face hub downloads land on the cache volume
        "VLLM_CACHE_ROOT": f"{base}/vllm",  # vLLM's own caches, incl. torch_compile_cache
        "TORCHINDUCTOR_CACHE_DIR": f"{base}/torchinductor",
        "TRITON_CACHE_DIR": f"{base}/triton",
        "XDG_CACHE_HOME": f"{base}/cache",  # anything else that caches under ~/.cache
        "VLLM_NO_USAGE_STATS": "1",
        "DO_NOT_TRACK": "1",
    }


def build_launch(
    model: ModelSpec,
    plan: Plan,
    *,
    served_model_name: str | None = None,
    port: int = 8000,
    hf_home: str = "/hub",
    hf_token: str | None = None,
    tool_calling: bool = False,
    gpu_memory_utilization: float | None = None,
    extra_args: Sequence[str] = (),
) -> VllmLaunch:
    """The vLLM launch for `model` on `plan`; `gpu_memory_utilization` defaults to the plan's."""
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    if tool_calling and not model.tool_call_parser:
        raise ValueError(f"{model.key} has no known tool-call parser: tool calling cannot be enabled")
    name = served_model_name or model.hf_id
    utilization = plan.gpu_memory_utilization if gpu_memory_utilization is None else gpu_memory_utilization
    if not 0 < utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {utilization}")

    command = [
        *ENTRYPOINT,
        "--model",
        model.hf_id,
        "--served-model-name",
        name,
        "--host",
        "0.0.0.0",
        "--port",
        str(port),
        "--tensor-parallel-size",
        str(plan.tensor_parallel),
        "--max-model-len",
        str(plan.max_model_len),
        "--gpu-memory-utilization",
        _number(utilization),
        "--dtype",
        "half" if plan.dtype == "float16" else plan.dtype,
    ]
    # Pre-quantised checkpoints declare their method in config.json and vLLM picks the fastest
    # kernel for it (e.g. awq_marlin); naming it would force the slower one. Only FP8 applied
    # on the fly to a 16-bit checkpoint needs the flag.
    if plan.quantization == "fp8" and model.quantization is None:
        command += ["--quantization", "fp8"]
    if plan.kv_cache_dtype == "fp8":
        command += ["--kv-cache-dtype", "fp8"]
    command += list(model.vllm_flags)
    if tool_calling and model.tool_call_parser:
        command += ["--enable-auto-tool-choice", "--tool-call-parser", model.tool_call_parser]
    command += [str(arg) for arg in extra_args]

    secret_env = {"HF_TOKEN": hf_token} if hf_token else {}
    notes: list[str] = []
    if model.gated and not hf_token:
        notes.append(f"{model.hf_id} is gated on Hugging Face: give an HF_TOKEN with access to it")

    deadline = progress_deadline_seconds(model)
    return VllmLaunch(
        command=command,
        env=_cache_env(hf_home),
        secret_env=secret_env,
        port=port,
        served_model_name=name,
        probe={"path": "/health", "port": port},
        liveness_probe={
            "path": "/health",
            "port": port,
            "initialDelaySeconds": deadline,
            "periodSeconds": LIVENESS_PERIOD_SECONDS,
            "timeoutSeconds": LIVENESS_TIMEOUT_SECONDS,
            "failureThreshold": LIVENESS_FAILURE_THRESHOLD,
        },
        deployment_strategy={"progressDeadlineSeconds": deadline},
        needs_hf_token=model.gated,
        notes=tuple(notes),
    )


def _number(value: float) -> str:
    """0.9 -> "0.9", 1.0 -> "1" (what a person would type)."""
    return f"{value:g}"
