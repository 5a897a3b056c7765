"""Progress lines on stderr, one per state transition, with the resource name and elapsed time.

The Pulumi engine shows a provider's stderr; a `pulumi up` that waits minutes for a GPU app then
reads `mistral-small: INITIALIZING -> SCALING after 42 s` instead of silence. The API is polled
sparingly (see readiness.py), so transitions are taken from the app's `status.history`, which
dates every state: each is logged once, with the time it happened rather than the time it was
noticed, and none is skipped because it came and went between two reads.
"""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from typing import TextIO

from components.ovhai.models import App

_WRITE_LOCK = threading.Lock()  # four operations may log at once; keep their lines whole
# History entries dated this long before the operation started belong to earlier operations; the
# margin absorbs a regional API whose clock is a little behind ours.
CLOCK_SKEW = timedelta(seconds=5)


def log(name: str, message: str, stream: TextIO | None = None) -> None:
    out = stream if stream is not None else sys.stderr
    with _WRITE_LOCK:
        out.write(f"{name}: {message}\n")
        out.flush()


class Progress:
    """Tracks one operation on one resource: its start time and the transitions already logged."""

    def __init__(self, name: str, stream: TextIO | None = None) -> None:
        self.name = name
        self.stream = stream
        self.started = time.monotonic()
        self.started_at = datetime.now(UTC)
        self.state: str | None = None
        self._logged: datetime | None = None  # date of the last history entry logged

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    def say(self, message: str) -> None:
        log(self.name, message, self.stream)

    def state_seen(self, state: str | None) -> None:
        """Log a transition when `state` differs from the last one seen (elapsed: now)."""
        if state is None or state == self.state:
            return
        self._transition(state, self.elapsed())

    def app_seen(self, app: App) -> None:
        """Log the transitions in the app's history not logged yet, each at the time it happened;
        without a history, the state as seen now."""
        earliest = self.started_at - CLOCK_SKEW
        for entry in sorted(app.status.history, key=lambda e: e.date):
            date = entry.date if entry.date.tzinfo else entry.date.replace(tzinfo=UTC)
            if date < earliest or (self._logged is not None and date <= self._logged):
                continue
            self._logged = date
            if str(entry.state) != self.state:
                self._transition(str(entry.state), max(0.0, (date - self.started_at).total_seconds()))
        self.state_seen(app.state)  # a state the history does not (yet) list

    def _transition(self, state: str, after: float) -> None:
        before = self.state or "(new)"
        self.state = state
        self.say(f"{before} -> {state} after {after:.0f} s")
