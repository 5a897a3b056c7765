"""Progress lines on stderr, one per state transition, with the resource name and elapsed time.

The Pulumi engine shows a provider's stderr; a `pulumi up` that waits minutes for a GPU app then
reads `mistral-small: INITIALIZING -> SCALING after 42 s` instead of silence.
"""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_WRITE_LOCK = threading.Lock()  # four operations may log at once; keep their lines whole


def log(name: str, message: str, stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stderr
    with _WRITE_LOCK:
        out.write(f"{name}: {message}\n")
        out.flush()


class Progress:
    """Tracks one operation on one resource: its start time and last state seen."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.stream = stream
        self.started = time.monotonic()
        self.state: str | None = None

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        log(self.name, message, self.stream)

    def state_seen(self, state: str | None) -> None:
        """Log a transition when `state` differs from the last one seen."""
        if state is None or state == self.state:
            return
        before = self.state or "(new)"
        self.state = state
        self.say(f"{before} -> {state} after {self.elapsed():.0f} s")
