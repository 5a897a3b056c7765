"""The app state machine, derived from timestamps.

Each app stores a schedule: a list of `{"state", "at"[, "info"]}` transitions with wall-clock
times (seconds since the epoch). The current state is the last transition whose time has passed,
computed on every read: no background task, deterministic, and it survives a restart because the
schedule is persisted. An action (stop, start, delete, rescale) drops the transitions still in
the future and appends its own.
"""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from .timings import Timings

Schedule = list[dict[str, Any]]


class AppState(StrEnum):
    """All eleven states of the schema's `cloud.project.ai.app.AppStateEnum`."""

    QUEUED = "QUEUED"
    INITIALIZING = "INITIALIZING"
    SCALING = "SCALING"
    RUNNING = "RUNNING"
    STANDBY = "STANDBY"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    DELETING = "DELETING"
    DELETED = "DELETED"


# States in which an app holds its GPUs (for the quota) and is "running" (delete needs force).
RELEASED = frozenset({AppState.STOPPED, AppState.FAILED, AppState.ERROR, AppState.DELETED})
ACTIVE = frozenset(
    {AppState.QUEUED, AppState.INITIALIZING, AppState.SCALING, AppState.RUNNING, AppState.STANDBY}
)
STARTABLE = frozenset({AppState.STOPPED, AppState.FAILED, AppState.ERROR})

DEFAULT_INFO: dict[AppState, tuple[str, str]] = {
    AppState.QUEUED: ("APP_QUEUED", "App is waiting for resources"),
    AppState.INITIALIZING: ("APP_INITIALIZING", "App is pulling its image and mounting its volumes"),
    AppState.SCALING: ("APP_SCALING", "App replicas are being scheduled"),
    AppState.RUNNING: ("APP_RUNNING", "App is running"),
    AppState.STANDBY: ("APP_RUNNING", "App is scaled to zero"),
    AppState.STOPPING: ("APP_STOPPING", "App is stopping"),
    AppState.STOPPED: ("APP_INTERRUPTED_BY_USER", "App was stopped by the user"),
    AppState.FAILED: ("APP_FAILED", "App failed"),
    AppState.ERROR: ("APP_ERROR", "App hit a platform error"),
    AppState.DELETING: ("APP_STOPPING", "App is being deleted"),
    AppState.DELETED: ("APP_STOPPED", "App was deleted"),
}

FAIL_MARKER = "emulator-fail"
NEVER_READY_MARKER = "emulator-never-ready"
ERROR_MARKER = "emulator-error"
FAIL_INFO = {
    "code": "APP_FAILED",
    "message": "vLLM exited with code 1: torch.OutOfMemoryError: CUDA out of memory while loading the "
    "model weights (emulated failure: the image contains 'emulator-fail')",
}
ERROR_INFO = {
    "code": "APP_ERROR",
    "message": "The platform could not schedule the app "
    "(emulated error: the image contains 'emulator-error')",
}


def iso(at: float) -> str:
    return datetime.fromtimestamp(at, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _entry(state: AppState, at: float, info: dict[str, str] | None = None) -> dict[str, Any]:
    entry: dict[str, Any] = {"state": state.value, "at": at}
    if info is not None:
        entry["info"] = info
    return entry


def past(schedule: Schedule, now: float) -> Schedule:
    """The transitions that have happened (the first one always has)."""
    done = [e for e in schedule if e["at"] <= now]
    return done or schedule[:1]


def current(schedule: Schedule, now: float) -> dict[str, Any]:
    return past(schedule, now)[-1]


def current_state(schedule: Schedule, now: float) -> AppState:
    return AppState(current(schedule, now)["state"])


def is_serving(schedule: Schedule, now: float) -> bool:
    """RUNNING, or SCALING during a rolling change of a running app (the old replicas serve)."""
    done = past(schedule, now)
    state = AppState(done[-1]["state"])
    if state is AppState.RUNNING:
        return True
    return state is AppState.SCALING and len(done) >= 2 and done[-2]["state"] == AppState.RUNNING.value


def start_plan(now: float, timings: Timings, image: str, total: float | None) -> Schedule:
    """QUEUED -> INITIALIZING -> SCALING -> RUNNING (or FAILED / ERROR for the fault markers)."""
    factor = 1.0 if total is None or timings.startup_total == 0 else total / timings.startup_total
    queued, initializing, scaling = (
        timings.queued * factor,
        timings.initializing * factor,
        timings.scaling * factor,
    )
    plan = [_entry(AppState.QUEUED, now)]
    if ERROR_MARKER in image:
        return [*plan, _entry(AppState.ERROR, now + queued, ERROR_INFO)]
    plan.append(_entry(AppState.INITIALIZING, now + queued))
    if FAIL_MARKER in image:
        return [*plan, _entry(AppState.FAILED, now + queued + initializing, FAIL_INFO)]
    plan.append(_entry(AppState.SCALING, now + queued + initializing))
    plan.append(_entry(AppState.RUNNING, now + queued + initializing + scaling))
    return plan


def rescale_plan(now: float, timings: Timings, image: str) -> Schedule:
    """RUNNING -> SCALING -> RUNNING for scaling, image and spec changes of a running app."""
    plan = [_entry(AppState.SCALING, now)]
    if FAIL_MARKER in image:
        return [*plan, _entry(AppState.FAILED, now + timings.rescaling, FAIL_INFO)]
    return [*plan, _entry(AppState.RUNNING, now + timings.rescaling)]


def stop_plan(now: float, timings: Timings) -> Schedule:
    return [_entry(AppState.STOPPING, now), _entry(AppState.STOPPED, now + timings.stopping)]


def delete_plan(now: float, timings: Timings) -> Schedule:
    return [_entry(AppState.DELETING, now), _entry(AppState.DELETED, now + timings.deleting)]


def apply(schedule: Schedule, now: float, plan: Schedule) -> Schedule:
    """Drop the transitions still pending and append the new plan."""
    return [*past(schedule, now), *plan]


def render_status(schedule: Schedule, now: float, replicas: int) -> dict[str, Any]:
    """The schedule-derived part of `status`: state, history, info, replicas, transition date."""
    done = past(schedule, now)
    last = done[-1]
    state = AppState(last["state"])
    code, message = DEFAULT_INFO[state]
    info = last.get("info") or {"code": code, "message": message}
    return {
        "state": state.value,
        "availableReplicas": replicas if is_serving(schedule, now) else 0,
        "history": [{"date": iso(e["at"]), "state": e["state"]} for e in done],
        "info": info,
        "lastTransitionDate": iso(last["at"]),
    }
