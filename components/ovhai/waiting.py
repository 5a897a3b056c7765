"""The one waiting engine: poll until done, with capped backoff, under a deadline.

Every wait of the project runs on `poll`: `OvhAiClient.wait_for_app` / `wait_for_app_gone` (and so
the provider's delete) and the provider's create/update wait (`resources/readiness.py`). The
Pulumi engine does not enforce CustomTimeouts, so the deadline here is the only one there is.

Pure of HTTP: `fetch` returns the current state (or raises), `sleep` and `clock` are injectable so
that unit tests need no real time. Semantics:
- the interval starts at `Backoff.initial`, grows by `factor` after each sleep up to `maximum`,
  and (unless `reset_on_change=False`) resets after each observed change: changes come in bursts
  (QUEUED -> INITIALIZING -> SCALING -> RUNNING);
- a sleep never runs past the deadline, and at the deadline `fetch` runs once more before
  WaitTimeout is raised, so the state it reports is fresh;
- `first` is an observation already in hand (e.g. the create's answer): it stands for the first
  fetch, which saves a request;
- a `sleep` may return True to say it woke early because a cheaper signal said "look now" (see
  `Watch`): that look is not a backoff step, so the interval does not grow.
No jitter: one poller per app, so there is no herd to spread (the client's retries have jitter).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Generic, TypeVar

from .errors import WaitTimeout

T = TypeVar("T")

OnChange = Callable[[str | None, str, float], None]
# Sleeps up to the given seconds; True means it woke early (see the module docstring).
Sleep = Callable[[float], bool | None]


@dataclass
class Backoff:
    initial: float = 0.5
    maximum: float = 5.0
    factor: float = 1.5
    reset_on_change: bool = True

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
    first: Observed[T] | None = None,
    sleep: Sleep = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> Observed[T]:
    """Call `fetch` until `done(observed)`; raise WaitTimeout(subject, state, elapsed) at the deadline."""
    backoff = backoff or Backoff()
    start = clock()
    deadline = start + timeout
    interval = backoff.initial
    last_state: str | None = None
    initial = True
    while True:
        observed = first if initial and first is not None else fetch()
        elapsed = clock() - start
        if initial or observed.state != last_state:
            if observed.state is not None and on_change is not None:
                on_change(last_state, observed.state, elapsed)
            if not initial and backoff.reset_on_change:
                interval = backoff.initial
            last_state = observed.state
            initial = False
        if done(observed):
            return observed
        remaining = deadline - clock()
        if remaining <= 0:
            raise WaitTimeout(subject, last_state, clock() - start)
        woke_early = sleep(min(interval, remaining)) is True
        if not woke_early:
            interval = min(interval * backoff.factor, backoff.maximum)


class Watch:
    """A `sleep` for `poll` that checks a cheap signal every `every` seconds while it sleeps and
    wakes early when the signal says "look now" (e.g. the app's readiness path answers 200).

    When the look that an early wake-up triggered did not end the wait (during a rolling update the
    old replicas answer while the app is not RUNNING), it does not wake early again for `hold`
    seconds: that bounds the extra looks to one per `hold` seconds.
    """

    def __init__(
        self,
        check: Callable[[], bool],
        every: float,
        *,
        hold: float = 1.0,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.check = check
        self.every = every
        self.hold = hold
        self._sleep = sleep
        self._clock = clock
        self._woke_early = False
        self._hold_until = 0.0

    def __call__(self, seconds: float) -> bool:
        if self._woke_early:  # called again: the early look did not end the wait
            self._hold_until = self._clock() + self.hold
        end = self._clock() + seconds
        while True:
            signal = self.check()  # also checked at the end, so the next look sees a fresh signal
            now = self._clock()
            if now >= end:
                self._woke_early = False
                return False
            if signal and now >= self._hold_until:
                self._woke_early = True
                return True
            self._sleep(min(self.every, end - now))


def wanted_or_terminal(until: Collection[str], terminal: Collection[str]) -> Callable[[str | None], bool]:
    """The stop rule of `wait_for_app`: a wanted state, or a terminal one that is not wanted."""
    wanted = {str(s).upper() for s in until}

    def stop(state: str | None) -> bool:
        return state is not None and (state in wanted or state in terminal)

    return stop
