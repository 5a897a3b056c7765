"""The stand-in's scheduler: at most `--max-num-seqs` requests run per replica, the rest wait.

vLLM's V1 scheduler (vllm/v1/core/sched/scheduler.py) admits waiting requests first come, first
served while fewer than `scheduler_config.max_num_seqs` are running; the others stay in its
waiting queue, which `vllm:num_requests_waiting` reports (and `vllm:num_requests_running` the
running ones). The default of `--max-num-seqs` for the OpenAI server is chosen per device in
`EngineArgs._set_default_args` / `get_batch_defaults` (vllm/engine/arg_utils.py, every release
since 0.10): 1024 on a GPU with at least 70 GiB that is not an A100 (H100, H200, MI300x), else
256; then clamped to `--max-num-batched-tokens` when that is given.

The stand-in serves every replica of an app from one process, so an app's capacity is
max-num-seqs x the replicas it runs now (the autoscaler's count), re-read whenever a slot frees
or the wait times out, so that a scale-up admits waiting requests. Limits of the model: a request
with `n` > 1 takes one slot (V1 fans it out into n engine requests), and the KV cache never
preempts (vLLM would also keep requests waiting when their blocks do not fit).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

from .model_name import command_tokens, option_values

GIB = 1024**3
LARGE_GPU_BYTES = 70 * GIB
SMALL_DEFAULT, LARGE_DEFAULT = 256, 1024
RECHECK_SECONDS = 0.05  # a waiting request re-reads the capacity this often (replicas may change)


def default_max_num_seqs(resources: dict[str, Any]) -> int:
    """vLLM's default for the OpenAI server on the app's GPU (see the module docstring)."""
    memory = int(resources.get("gpuMemory") or 0)
    model = str(resources.get("gpuModel") or "").lower()
    return LARGE_DEFAULT if memory >= LARGE_GPU_BYTES and "a100" not in model else SMALL_DEFAULT


def max_num_seqs(explicit: int | None, batched_tokens: int | None, resources: dict[str, Any]) -> int:
    """`--max-num-seqs` as the engine settles it: the flag, else the device default clamped to
    `--max-num-batched-tokens`."""
    if explicit is not None:
        return max(1, explicit)
    default = default_max_num_seqs(resources)
    return min(default, batched_tokens) if batched_tokens else default


def _int_flag(tokens: list[str], name: str) -> int | None:
    values = option_values(tokens, name)
    try:
        return int(values[0]) if values else None
    except ValueError:  # vLLM would refuse the value at start-up; the stand-in keeps the default
        return None


def max_num_seqs_of(spec: dict[str, Any]) -> int:
    """The app's `--max-num-seqs`, read from its command like standin_command.py reads the rest."""
    tokens = command_tokens(spec.get("command") or [])
    return max_num_seqs(
        _int_flag(tokens, "--max-num-seqs"),
        _int_flag(tokens, "--max-num-batched-tokens"),
        spec.get("resources") or {},
    )


@dataclass
class RequestQueue:
    """First come, first served admission of one app's requests."""

    running: int = 0
    _waiters: deque[object] = field(default_factory=deque)
    _changed: asyncio.Condition | None = None

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    def _condition(self) -> asyncio.Condition:
        if self._changed is None:  # made on first use, inside the server's event loop
            self._changed = asyncio.Condition()
        return self._changed

    @asynccontextmanager
    async def slot(self, capacity: Callable[[], int]) -> AsyncIterator[None]:
        """Hold one of the `capacity()` running slots for the body; wait in line for it first.
        A client that goes away while waiting leaves the line (the finally clauses)."""
        ticket = object()
        changed = self._condition()
        self._waiters.append(ticket)
        try:
            async with changed:
                while not (self._waiters[0] is ticket and self.running < capacity()):
                    with suppress(TimeoutError):
                        await asyncio.wait_for(changed.wait(), RECHECK_SECONDS)
                self._waiters.popleft()
                self.running += 1
                changed.notify_all()  # the next in line may fit too
        except BaseException:
            if ticket in self._waiters:
                self._waiters.remove(ticket)
            raise
        try:
            yield
        finally:
            self.running -= 1
            async with changed:
                changed.notify_all()
