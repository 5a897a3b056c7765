"""Progress lines: one per transition, at the time it happened, taken from the app's history."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from components.ovhai.models import App
from components.resources.progress import Progress


def app(history: list[tuple[str, datetime]], state: str) -> App:
    body: dict[str, Any] = {
        "id": "a1",
        "spec": {"name": "m", "image": "i", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}},
        "status": {"state": state, "history": [{"state": s, "date": d.isoformat()} for s, d in history]},
    }
    return App.model_validate(body)


def lines(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def test_transitions_seen_late_are_logged_at_the_time_they_happened() -> None:
    out = io.StringIO()
    progress = Progress("mistral-small", out)
    t0 = progress.started_at
    # One sparse read, 42 s in, sees the whole start-up at once: every step is told, with its time.
    progress.app_seen(
        app(
            [
                ("QUEUED", t0),
                ("INITIALIZING", t0 + timedelta(seconds=3)),
                ("SCALING", t0 + timedelta(seconds=42)),
            ],
            "SCALING",
        )
    )
    assert lines(out) == [
        "mistral-small: (new) -> QUEUED after 0 s",
        "mistral-small: QUEUED -> INITIALIZING after 3 s",
        "mistral-small: INITIALIZING -> SCALING after 42 s",
    ]
    # The next read repeats that history and adds one state: only the new one is told.
    progress.app_seen(
        app(
            [
                ("QUEUED", t0),
                ("INITIALIZING", t0 + timedelta(seconds=3)),
                ("SCALING", t0 + timedelta(seconds=42)),
                ("RUNNING", t0 + timedelta(seconds=95)),
            ],
            "RUNNING",
        )
    )
    assert lines(out)[3:] == ["mistral-small: SCALING -> RUNNING after 95 s"]


def test_history_of_earlier_operations_is_not_replayed() -> None:
    out = io.StringIO()
    progress = Progress("llama", out)
    long_ago = datetime.now(UTC) - timedelta(days=2)
    update_start = progress.started_at + timedelta(seconds=1)
    progress.app_seen(
        app(
            [("QUEUED", long_ago), ("RUNNING", long_ago + timedelta(minutes=3)), ("SCALING", update_start)],
            "SCALING",
        )
    )
    assert lines(out) == ["llama: (new) -> SCALING after 1 s"]


def test_without_history_the_state_seen_now_is_logged() -> None:
    out = io.StringIO()
    progress = Progress("qwen", out)
    progress.app_seen(app([], "QUEUED"))
    progress.app_seen(app([], "QUEUED"))
    assert lines(out) == ["qwen: (new) -> QUEUED after 0 s"]
