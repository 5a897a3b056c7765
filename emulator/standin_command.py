"""What an app's container command tells the stand-in: names, context length, tool calling.

vLLM reads these from its argv; the stand-in reads the same flags from the app's `command`, and
the release from the app's `image`, so that each app answers like the server it describes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .model_name import command_tokens, has_flag, model_path, option_values, served_model_names
from .standin_release import Release, release_of

# Without --max-model-len vLLM takes the model's own context; the stand-in knows no config.json.
DEFAULT_MAX_MODEL_LEN = 32768
DEFAULT_MAX_LOGPROBS = 20  # vLLM's --max-logprobs default


def _int_option(tokens: list[str], name: str, default: int) -> int:
    values = option_values(tokens, name)
    try:
        return int(values[0]) if values else default
    except ValueError:  # `auto` (0.14+) or a typo: vLLM would pick or refuse; we keep the default
        return default


def kv_cache_tokens(resources: dict[str, Any]) -> int:
    """The KV-cache size the emulated engine reports: ~12 tokens per MiB of GPU memory."""
    gpu_bytes = int(resources.get("gpuMemory") or 0) * int(resources.get("gpu") or 0)
    return max(gpu_bytes // (1024 * 1024) * 12, 4096)


@dataclass(frozen=True)
class Serving:
    names: list[str]
    model: str
    max_model_len: int
    auto_tool_choice: bool
    tool_parser: str | None
    max_logprobs: int
    tensor_parallel: int
    release: Release
    kv_tokens: int

    @property
    def served(self) -> str:
        return self.names[0]


def serving_of(spec: dict[str, Any]) -> Serving:
    command = spec.get("command") or []
    default = spec.get("name") or "model"
    tokens = command_tokens(command)
    parser = option_values(tokens, "--tool-call-parser")[:1]
    return Serving(
        names=served_model_names(command, default),
        model=model_path(command, default),
        max_model_len=_int_option(tokens, "--max-model-len", DEFAULT_MAX_MODEL_LEN),
        auto_tool_choice=has_flag(tokens, "--enable-auto-tool-choice"),
        tool_parser=parser[0] if parser else None,
        max_logprobs=_int_option(tokens, "--max-logprobs", DEFAULT_MAX_LOGPROBS),
        tensor_parallel=_int_option(tokens, "--tensor-parallel-size", 1),
        release=release_of(str(spec.get("image") or "")),
        kv_tokens=kv_cache_tokens(spec.get("resources") or {}),
    )
