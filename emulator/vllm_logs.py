"""Start-up log lines shaped like vLLM's, derived from an app's history.

Lines appear as the app passes through its states: image pull while INITIALIZING, vLLM's engine
start-up while SCALING, Uvicorn's banner once RUNNING; a failed app (the `emulator-fail` marker)
ends with vLLM's out-of-memory traceback tail.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from . import lifecycle
from .model_name import served_model_names


def _stamp(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).strftime("%m-%d %H:%M:%S")


def _kv_cache_tokens(resources: dict[str, Any]) -> int:
    gpu_bytes = int(resources.get("gpuMemory") or 0) * int(resources.get("gpu") or 0)
    return max(gpu_bytes // (1024 * 1024) * 12, 4096)  # ~12 tokens per MiB left for the cache


def log_lines(app: dict[str, Any], now: float) -> list[str]:
    spec = app["spec"]
    port = spec.get("defaultHttpPort", 8080)
    model = served_model_names(spec.get("command") or [], spec.get("name") or "model")[0]
    gpus = int(spec["resources"].get("gpu") or 0)
    kv_tokens = _kv_cache_tokens(spec["resources"])
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
            lines += [
                f"INFO {t} [__init__.py:244] Automatically detected platform cuda.",
                f"INFO {t} [api_server.py:1287] vLLM API server version 0.9.2",
                f"INFO {t} [api_server.py:1288] args: Namespace(model='{model}', "
                f"tensor_parallel_size={max(gpus, 1)}, port={port})",
                f"INFO {t} [gpu_model_runner.py:1595] Starting to load model {model}...",
                f"INFO {t} [gpu_model_runner.py:1624] Model loading took 22.36 GiB and 41.52 s",
                f"INFO {t} [kv_cache_utils.py:716] GPU KV cache size: {kv_tokens} tokens",
                f"INFO {t} [core.py:172] init engine (profile, create kv cache, warmup model) took 38.90 s",
            ]
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
