"""Start-up log lines shaped like vLLM's, derived from an app's history.

Lines appear as the app passes through its states: image pull while INITIALIZING, vLLM's engine
start-up while SCALING, Uvicorn's banner once RUNNING; a failed app (the `emulator-fail` marker)
ends with vLLM's out-of-memory traceback tail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import lifecycle
from .model_name import command_tokens, option_values
from .standin_command import serving_of


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%m-%d %H:%M:%S")


def _port(spec: dict[str, Any]) -> str:
    values = option_values(command_tokens(spec.get("command") or []), "--port")
    return values[0] if values else "8000"  # vLLM's default port, whatever the app exposes


def _engine_lines(spec: dict[str, Any], t: str) -> list[str]:
    """vLLM's start-up, for the release of the image and the flags of the command."""
    serving = serving_of(spec)
    port = _port(spec)
    args = (
        f"model='{serving.model}', served_model_name={serving.names!r}, port={port}, "
        f"max_model_len={serving.max_model_len}, tensor_parallel_size={serving.tensor_parallel}, "
        f"enable_auto_tool_choice={serving.auto_tool_choice}, tool_call_parser={serving.tool_parser!r}"
    )
    concurrency = serving.kv_tokens / serving.max_model_len
    return [
        f"INFO {t} [__init__.py:244] Automatically detected platform cuda.",
        f"INFO {t} [api_server.py:1287] vLLM API server version {serving.release.text}",
        f"INFO {t} [api_server.py:1288] args: Namespace({args})",
        f"INFO {t} [gpu_model_runner.py:1595] Starting to load model {serving.model}...",
        f"INFO {t} [gpu_model_runner.py:1624] Model loading took 22.36 GiB and 41.52 s",
        f"INFO {t} [kv_cache_utils.py:716] GPU KV cache size: {serving.kv_tokens} tokens",
        f"INFO {t} [kv_cache_utils.py:720] Maximum concurrency for {serving.max_model_len} tokens per "
        f"request: {concurrency:.2f}x",
        f"INFO {t} [core.py:172] init engine (profile, create kv cache, warmup model) took 38.90 s",
    ]


def log_lines(app: dict[str, Any], now: float) -> list[str]:
    spec = app["spec"]
    port = _port(spec)
    lines: list[str] = []
    for entry in lifecycle.past(app["schedule"], now):
        state, at = entry["state"], entry["at"]
        t = _stamp(at)
        if state == "INITIALIZING":
            lines += [
                f"[platform] {t} pulling image {spec['image']}",
                f"[platform] {t} mounting {len(spec.get('volumes') or [])} volume(s)",
            ]
        elif state == "SCALING" and not _was_running(app, at):
            lines += _engine_lines(spec, t)
        elif state == "RUNNING" and not any(line.startswith("INFO:     Uvicorn") for line in lines[-3:]):
            lines += [
                f"INFO {t} [api_server.py:1349] Starting vLLM API server 0 on http://0.0.0.0:{port}",
                "INFO:     Started server process [1]",
                "INFO:     Waiting for application startup.",
                "INFO:     Application startup complete.",
                f"INFO:     Uvicorn running on http://0.0.0.0:{port} (Press CTRL+C to quit)",
            ]
        elif state == "FAILED":
            lines += [
                f"ERROR {t} [core.py:586] EngineCore failed to start.",
                "ERROR Traceback (most recent call last):",
                "ERROR torch.OutOfMemoryError: CUDA out of memory. Tried to allocate 1.02 GiB.",
                "RuntimeError: Engine core initialization failed. See root cause above.",
                f"[platform] {t} container exited with code 1",
            ]
        elif state in ("STOPPING", "DELETING"):
            lines += ["INFO:     Shutting down", "INFO:     Finished server process [1]"]
        elif state == "ERROR":
            lines.append(f"[platform] {t} {lifecycle.ERROR_INFO['message']}")
    return lines


def _was_running(app: dict[str, Any], at: float) -> bool:
    before = [e for e in app["schedule"] if e["at"] < at]
    return bool(before) and before[-1]["state"] == "RUNNING"
