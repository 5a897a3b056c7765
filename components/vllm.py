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
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from components.catalog import ModelSpec
from components.sizing import Plan, checkpoint_bytes
from components.vllm_releases import NEWEST, ReleaseProfile, profile

__all__ = [
    "DEADLINE_FLOOR_SECONDS",
    "MANAGED_FLAGS",
    "EngineOptions",
    "VllmLaunch",
    "arg_groups",
    "build_launch",
    "progress_deadline_seconds",
    "release_args_problems",
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
class EngineOptions:
    """The engine options a stack chooses with its own config keys; the plan fixes the rest.

    A new option is a field here and its argv line in `_option_args` (or, for a flag the
    deployment owns, a row of `_MANAGED`); the settings build this object, the builder reads it.
    """

    served_model_name: str | None = None  # None: the Hugging Face id
    gpu_memory_utilization: float | None = None  # None: the plan's
    tool_calling: bool = False
    extra_args: tuple[str, ...] = ()  # the stack's vllmArgs, verbatim, last
    release: ReleaseProfile | None = None  # None: the newest release profile
    kv_cache_memory_bytes: int | None = None  # fixed KV cache per GPU (the planner's figure)


@dataclass(frozen=True)
class _Build:
    """What the argv lines read."""

    model: ModelSpec
    plan: Plan
    options: EngineOptions
    name: str
    port: int
    utilization: float
    release: ReleaseProfile


# Flags the deployment sets from the plan or an option, one row each (None: not given this time).
# A stack may not give them again in vllmArgs: they are what MANAGED_FLAGS is derived from.
_MANAGED: tuple[tuple[str, Callable[[_Build], str | None]], ...] = (
    ("--model", lambda b: b.model.hf_id),
    ("--served-model-name", lambda b: b.name),
    ("--host", lambda b: "0.0.0.0"),
    ("--port", lambda b: str(b.port)),
    ("--tensor-parallel-size", lambda b: str(b.plan.tensor_parallel)),
    ("--max-model-len", lambda b: str(b.plan.max_model_len)),
    ("--gpu-memory-utilization", lambda b: _number(b.utilization)),
    ("--dtype", lambda b: "half" if b.plan.dtype == "float16" else b.plan.dtype),
    # Pre-quantised checkpoints declare their method in config.json and vLLM picks the fastest
    # kernel for it (e.g. awq_marlin); naming it would force the slower one. Only FP8 applied
    # on the fly to a 16-bit checkpoint needs the flag. (Not refused in vllmArgs, as before.)
    ("--quantization", lambda b: None if b.model.quantization or b.plan.quantization != "fp8" else "fp8"),
    ("--kv-cache-dtype", lambda b: "fp8" if b.plan.kv_cache_dtype == "fp8" else None),
    # vLLM then allocates exactly this KV cache and ignores --gpu-memory-utilization (PR #21489).
    ("--kv-cache-memory-bytes", lambda b: _optional(b.options.kv_cache_memory_bytes)),
)
_NOT_REFUSED = frozenset({"--quantization"})
# Also refused in vllmArgs: an alias of a managed flag, and vLLM's own API key (the platform's
# token guards the endpoint; a second key would lock the stack's own token out).
_ALSO_REFUSED = frozenset({"-tp", "--api-key"})
MANAGED_FLAGS = frozenset(flag for flag, _ in _MANAGED if flag not in _NOT_REFUSED) | _ALSO_REFUSED


def _option_args(b: _Build) -> list[str]:
    """The options' own flags, after the model's (catalog) flags and before the stack's vllmArgs."""
    args: list[str] = []
    if b.options.tool_calling and b.model.tool_call_parser:
        args += ["--enable-auto-tool-choice", "--tool-call-parser", b.model.tool_call_parser]
    return args


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
    options: EngineOptions | None = None,
    port: int = 8000,
    hf_home: str = "/hub",
    hf_token: str | None = None,
    served_model_name: str | None = None,
    tool_calling: bool = False,
    gpu_memory_utilization: float | None = None,
    extra_args: Sequence[str] = (),
) -> VllmLaunch:
    """The vLLM launch for `model` on `plan` with the stack's engine `options` (the keyword
    options after `hf_token` are a shorthand for building them, when `options` is not given)."""
    if options is None:
        options = EngineOptions(
            served_model_name=served_model_name,
            gpu_memory_utilization=gpu_memory_utilization,
            tool_calling=tool_calling,
            extra_args=tuple(extra_args),
        )
    if not 1 <= port <= 65535:
        raise ValueError(f"port must be between 1 and 65535, got {port}")
    if options.tool_calling and not model.tool_call_parser:
        raise ValueError(f"{model.key} has no known tool-call parser: tool calling cannot be enabled")
    name = options.served_model_name or model.hf_id
    utilization = options.gpu_memory_utilization
    utilization = plan.gpu_memory_utilization if utilization is None else utilization
    if not 0 < utilization <= 1:
        raise ValueError(f"gpu_memory_utilization must be in (0, 1], got {utilization}")

    release = options.release or profile(NEWEST)
    build = _Build(model, plan, options, name, port, utilization, release)
    command = list(ENTRYPOINT)
    for flag, value_of in _MANAGED:
        value = value_of(build)
        if value is not None:
            if not release.accepts(flag):
                raise ValueError(f"vLLM {release.label} cannot be given {flag}: {release.why_not(flag)}")
            command += [flag, value]
    command += _catalog_args(model, release, options.extra_args)
    command += _option_args(build)
    extra = [str(arg) for arg in options.extra_args]
    problems = release_args_problems(extra, release)
    if problems:
        raise ValueError("; ".join(problems))
    command += extra

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


def _optional(value: int | None) -> str | None:
    return None if value is None else str(value)


def arg_groups(args: Sequence[str]) -> list[list[str]]:
    """['--a', 'x', '--b', '--c=y'] -> [['--a', 'x'], ['--b'], ['--c=y']]."""
    groups: list[list[str]] = []
    for arg in args:
        if (arg.startswith("-") and not _is_number(arg)) or not groups:
            groups.append([arg])
        else:
            groups[-1].append(arg)
    return groups


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _catalog_args(model: ModelSpec, release: ReleaseProfile, extra: Sequence[str]) -> list[str]:
    """The model's catalog flags the release still needs (e.g. the Mistral formats before 0.12,
    which auto-detects them) and the stack does not give itself in vllmArgs."""
    given = {group[0].split("=", 1)[0].replace("_", "-") for group in arg_groups(extra)}
    out: list[str] = []
    for group in arg_groups(model.vllm_flags):
        flag = group[0].split("=", 1)[0].replace("_", "-")
        if flag in given or not release.needs(flag):
            continue
        if not release.accepts(flag):
            raise ValueError(f"{model.key} needs {flag}, which vLLM {release.label} lacks: "
                             f"{release.why_not(flag)}")
        out += group
    return out


def release_args_problems(args: Sequence[str], release: ReleaseProfile) -> list[str]:
    """Why `release` would refuse these extra arguments (the flags it does not know)."""
    problems: list[str] = []
    for group in arg_groups(args):
        head = group[0]
        if head.startswith("-") and not release.accepts(head):
            problems.append(release.why_not(head))
    return problems


def _number(value: float) -> str:
    """0.9 -> "0.9", 1.0 -> "1" (what a person would type)."""
    return f"{value:g}"
