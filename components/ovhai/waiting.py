"""Polling with capped backoff until a wanted state, a terminal state or a deadline.

Pure of HTTP: `fetch` returns the current state (or raises), `sleep` and `clock` are injectable so
that unit tests need no real time. The interval starts small, grows by `factor` up to
`max_interval`, resets to the initial interval after each observed change (changes come in bursts:
QUEUED -> INITIALIZING -> SCALING -> RUNNING), and a sleep never runs past the deadline.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import WaitTimeout

T = TypeVar("T")

OnChange = Callable[[str | None, str, float], None]


@dataclass
class Backoff:
    initial: float = 0.5
    maximum: float = 5.0
    factor: float = 1.5

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial or self.factor < 1:
            raise ValueError("need 0 < initial <= maximum and factor >= 1")


@dataclass
class Observed(Generic[T]):
    """What the poller saw last: the object and its state (None when the object is gone)."""

    value: T | None
    state: str | None


def poll(
    fetch: Callable[[], Observed[T]],
    *,
    done: Callable[[Observed[T]], bool],
    timeout: float,
    subject: str,
    on_change: OnChange | None = None,
    backoff: Backoff | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Observed[T]:
    """Call `fetch` until `done(observed)`; raise WaitTimeout(subject, state, elapsed) at the deadline."""
    backoff = backoff or Backoff()
    start = clock()
    deadline = start + timeout
    interval = backoff.initial
    last_state: str | None = None
    first = True
    while True:
        observed = fetch()
        elapsed = clock() - start
        if first or observed.state != last_state:
            if observed.state is not None and on_change is not None:
                on_change(last_state, observed.state, elapsed)
            if not first:
                interval = backoff.initial
            last_state = observed.state
            first = False
        if done(observed):
            return observed
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(subject, last_state, clock() - start)
        sleep(min(interval, remaining))
        interval = min(interval * backoff.factor, backoff.maximum)


def wanted_or_terminal(until: Collection[str], terminal: Collection[str]) -> Callable[[str | None], bool]:
    """The stop rule of `wait_for_app`: a wanted state, or a terminal one that is not wanted."""
    wanted = {str(s).upper() for s in until}

    def stop(state: str | None) -> bool:
        return state is not None and (state in wanted or state in terminal)

    return stop
