"""Per-state durations of the emulated lifecycle: `fast` (default), `realistic`, or JSON.

JSON keys (case-insensitive): QUEUED, INITIALIZING, SCALING (the start's last phase), STOPPING,
DELETING, RESCALING (a RUNNING app's SCALING phase after a scaling, image or spec change). Keys not
given keep their `fast` value. The argument is a path to a JSON file or the JSON text itself.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, fields, replace
from pathlib import Path


@dataclass(frozen=True)
class Timings:
    queued: float = 0.4
    initializing: float = 1.0
    scaling: float = 0.8
    stopping: float = 0.5
    deleting: float = 0.5
    rescaling: float = 0.8

    @property
    def startup_total(self) -> float:
        return self.queued + self.initializing + self.scaling


FAST = Timings()
REALISTIC = Timings(queued=15, initializing=90, scaling=120, stopping=20, deleting=20, rescaling=60)


def parse_timings(value: str) -> Timings:
    """Parse the `--timings` argument; raise ValueError with a readable message."""
    if value == "fast":
        return FAST
    if value == "realistic":
        return REALISTIC
    text = value
    if not value.lstrip().startswith("{"):
        path = Path(value)
        if not path.is_file():
            raise ValueError(
                f"--timings: expected fast, realistic, a JSON file or inline JSON, got {value!r}"
            )
        text = path.read_text()
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"--timings: invalid JSON: {exc}") from exc
    if not isinstance(raw, dict):
        raise ValueError("--timings: the JSON must be an object of state -> seconds")
    known = {f.name for f in fields(Timings)}
    changes: dict[str, float] = {}
    for key, seconds in raw.items():
        name = str(key).lower()
        if name not in known:
            raise ValueError(
                f"--timings: unknown key {key!r} (known: {', '.join(sorted(k.upper() for k in known))})"
            )
        if isinstance(seconds, bool) or not isinstance(seconds, int | float) or seconds < 0:
            raise ValueError(f"--timings: {key} must be a number of seconds >= 0")
        changes[name] = float(seconds)
    return replace(FAST, **changes)
