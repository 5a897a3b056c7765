"""The emulator's rules over the store, free of HTTP: quota, spec swaps, lifecycle actions, pages.

Handlers parse a request, call one of these under the store lock, and render the result; the
functions here raise `ApiError` with the status the real service gives, and are unit-tested as
plain functions (tests/test_emulator_backend.py). Token and volume rules are in `backend_objects`.
"""

from __future__ import annotations

import math
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from . import autoscaler, datastore, lifecycle
from .auth import Principal
from .errors import ApiError, not_found
from .lifecycle import AppState
from .store import Record, Store
from .timings import FAST, REALISTIC, Timings
from .validation import STARTUP_LABEL

DEFAULT_GPU_QUOTA = 4  # a project's GPU quota unless OVHcloud raised it


@dataclass
class Rules:
    """What the rules need besides a request: the state and the project's settings."""

    store: Store
    gpu_quota: int = DEFAULT_GPU_QUOTA
    timings: Timings = FAST


# ------------------------------------------------------------------------------------- facts


def replicas(spec: dict[str, Any]) -> int:
    strategy = spec["scalingStrategy"]
    if "fixed" in strategy:
        return int(strategy["fixed"]["replicas"])
    return max(int(strategy["automatic"]["replicasMin"]), 1)


def current_replicas(record: Record) -> int:
    """The replicas an app runs now: the autoscaler's count for a custom-metric app."""
    state = record.get("autoscaler")
    if state is not None and autoscaler.custom_metrics(record["spec"]) is not None:
        return int(state["replicas"])
    return replicas(record["spec"])


def autoscale(rules: Rules, app: Record, metrics_text: str, now: float) -> None:
    """Sample a custom-metric app's metric (see autoscaler.py); a new count rolls the app."""
    if not lifecycle.is_serving(app["schedule"], now):
        return
    before = current_replicas(app)
    scale = rules.timings.rescaling / REALISTIC.rescaling  # fast timings shrink the windows too
    after = autoscaler.decide(app, metrics_text, now, scale)
    if after is not None and after != before:
        app["schedule"] = lifecycle.apply(app["schedule"], now, lifecycle.rescale_plan(
            now, rules.timings, app["spec"]["image"]))
        datastore.on_replicas(rules.store, app, now, rules.timings, after - before, datastore.SCALE_UP)


def gpus_held(spec: dict[str, Any]) -> int:
    """GPUs an active app can hold: gpu x replicas (x replicasMax when autoscaled)."""
    strategy = spec["scalingStrategy"]
    count = strategy["fixed"]["replicas"] if "fixed" in strategy else strategy["automatic"]["replicasMax"]
    return int(spec["resources"].get("gpu") or 0) * int(count)


def state_of(app: Record, now: float) -> AppState:
    return lifecycle.current_state(app["schedule"], now)


def holds_gpus(app: Record, now: float) -> bool:
    return state_of(app, now) not in lifecycle.RELEASED


def gpus_in_use(rules: Rules, now: float, exclude: str | None = None) -> int:
    return sum(
        gpus_held(app["spec"])
        for app_id, app in rules.store.apps.items()
        if app_id != exclude and holds_gpus(app, now)
    )


def check_quota(rules: Rules, spec: dict[str, Any], now: float, exclude: str | None = None) -> None:
    """402 when `spec` would take the project past its GPU quota (apps holding GPUs count)."""
    wanted = gpus_held(spec)
    if wanted == 0:
        return
    used = gpus_in_use(rules, now, exclude)
    if used + wanted > rules.gpu_quota:
        raise ApiError(
            402,
            f"GPU quota exceeded: this app needs {wanted} GPUs, {used} of the project's "
            f"{rules.gpu_quota} are in use",
        )


def startup_override(spec: dict[str, Any]) -> float | None:
    value = spec["labels"].get(STARTUP_LABEL)
    return None if value is None else max(float(value), 0.0)


# ------------------------------------------------------------------------------------- lookup


def find_app(rules: Rules, principal: Principal, app_id: str, now: float) -> Record:
    """The app if it exists, is not DELETED and is in the token's scope; else 404."""
    app = rules.store.apps.get(app_id)
    if app is None or state_of(app, now) is AppState.DELETED or not principal.sees(app["spec"]["labels"]):
        raise not_found("app", app_id)
    return app


def purge_deleted(rules: Rules, now: float) -> None:
    gone = [i for i, app in rules.store.apps.items() if state_of(app, now) is AppState.DELETED]
    for app_id in gone:
        del rules.store.apps[app_id]


@dataclass(frozen=True)
class AppQuery:
    """The filters and order of `GET /v1/app` (already validated)."""

    selector: dict[str, str]
    states: frozenset[str] = frozenset()
    sort: str = "createdAt"
    descending: bool = False


def visible_apps(rules: Rules, principal: Principal, query: AppQuery, now: float) -> list[Record]:
    items = []
    for app in rules.store.apps.values():
        state = state_of(app, now)
        labels = app["spec"]["labels"]
        if state is AppState.DELETED or not principal.sees(labels):
            continue
        if any(labels.get(k) != v for k, v in query.selector.items()):
            continue
        if query.states and state.value not in query.states:
            continue
        items.append(app)

    def key(app: Record) -> tuple[str, str]:
        return (app["spec"]["name"] if query.sort == "name" else app[query.sort], app["id"])

    return sorted(items, key=key, reverse=query.descending)


@dataclass(frozen=True)
class Page:
    """One page of a list and its `metadata` (the regional API's `{items, metadata}`)."""

    items: Sequence[Record]
    number: int
    size: int
    total: int

    @property
    def count(self) -> int:
        return max(1, math.ceil(self.total / self.size))

    def metadata(self, path: str) -> dict[str, Any]:
        meta: dict[str, Any] = {"currentPage": self.number, "pageCount": self.count, "total": self.total}
        if self.number < self.count:
            meta["links"] = {"next": f"{path}?page={self.number + 1}&size={self.size}"}
        else:
            meta["links"] = {}
        return meta


def paginate(items: Sequence[Record], page: int, size: int) -> Page:
    return Page(items[(page - 1) * size : page * size], page, size, len(items))


# ------------------------------------------------------------------------------------- actions


def touch(record: Record, now: float) -> None:
    record["updatedAt"] = lifecycle.iso(now)


def create_app(rules: Rules, principal: Principal, spec: dict[str, Any], now: float) -> Record:
    """A new app from a validated spec: platform and token labels, a default name, the quota."""
    app_id = str(uuid.uuid4())
    spec["labels"] = {**spec["labels"], **principal.selector, "ovh/id": app_id, "ovh/type": "app"}
    if not spec["name"]:
        spec["name"] = f"app-{app_id[:8]}"
    check_quota(rules, spec, now)
    app: Record = {
        "id": app_id,
        "createdAt": lifecycle.iso(now),
        "updatedAt": lifecycle.iso(now),
        "user": principal.name,
        "spec": spec,
        "schedule": lifecycle.start_plan(now, rules.timings, spec["image"], startup_override(spec)),
    }
    datastore.on_start(rules.store, app, now, rules.timings)
    purge_deleted(rules, now)
    rules.store.apps[app_id] = app
    return app


def change_running(rules: Rules, app: Record, now: float, image: str | None = None) -> bool:
    """A spec change of a serving app rolls through SCALING (to `image`, the new one if it changes);
    stopped or starting apps just keep it. True when it rolls."""
    state = state_of(app, now)
    if state is AppState.DELETING:
        raise ApiError(409, f"app {app['id']} is {state.value}")
    if lifecycle.is_serving(app["schedule"], now):
        plan = lifecycle.rescale_plan(now, rules.timings, image or app["spec"]["image"])
        app["schedule"] = lifecycle.apply(app["schedule"], now, plan)
        return True
    return False


def replica_starts(old: dict[str, Any], new: dict[str, Any], before: int, after: int) -> tuple[int, str]:
    """The replicas a change of a serving app starts, and how: a change of the scaling alone adds
    the difference (a scale-up; a scale-down starts none), any other change replaces every replica
    (a rolling update: `after` new ones)."""
    def rest(spec: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in spec.items() if k != "scalingStrategy"}

    if rest(old) == rest(new):
        return max(after - before, 0), datastore.SCALE_UP
    return after, datastore.ROLLING_UPDATE


def replace_spec(rules: Rules, app: Record, now: float, spec: dict[str, Any]) -> None:
    """Swap in a new spec: only a bigger GPU footprint of an app holding GPUs meets the quota, and a
    serving app rolls (planned before the swap, as for update and scaling alike); the replicas it
    starts pull the cache / download the weights (datastore.on_replicas)."""
    if holds_gpus(app, now) and gpus_held(spec) > gpus_held(app["spec"]):
        check_quota(rules, spec, now, exclude=app["id"])
    running = current_replicas(app)
    old = app["spec"]
    rolled = change_running(rules, app, now, spec["image"])
    app["spec"] = spec
    if rolled:
        added, kind = replica_starts(old, spec, running, current_replicas(app))
        datastore.on_replicas(rules.store, app, now, rules.timings, added, kind)


def delete_app(rules: Rules, app: Record, now: float, *, force: bool) -> bool:
    """Start deleting; False when nothing changed (already DELETING). 409 for a running app
    without `force` (API.md: the project's choice where the public material is silent)."""
    state = state_of(app, now)
    if state is AppState.DELETING:
        return False
    if not force and (state in lifecycle.ACTIVE or state is AppState.STOPPING):
        raise ApiError(409, f"app {app['id']} is {state.value}: stop it first or delete with force=true")
    app["schedule"] = lifecycle.apply(app["schedule"], now, lifecycle.delete_plan(now, rules.timings))
    purge_deleted(rules, now)
    return True


def start_app(rules: Rules, app: Record, now: float) -> None:
    """Start a STOPPED, FAILED or ERROR app. The official client declares 204/400/401/403/404 for
    start and no 409, so any other state (running, starting, stopping: the loser of a race) is a
    400 naming the state."""
    state = state_of(app, now)
    if state not in lifecycle.STARTABLE:
        raise ApiError(400, f"app {app['id']} is {state.value}: only STOPPED, FAILED or ERROR apps can start")
    check_quota(rules, app["spec"], now, exclude=app["id"])
    plan = lifecycle.start_plan(now, rules.timings, app["spec"]["image"], startup_override(app["spec"]))
    app["schedule"] = lifecycle.apply(app["schedule"], now, plan)
    datastore.on_start(rules.store, app, now, rules.timings)


def stop_app(rules: Rules, app: Record, now: float) -> bool:
    """Stop an active app; False when it is already stopping or stopped. 400 while DELETING (the
    official client declares no 409 for stop)."""
    state = state_of(app, now)
    if state is AppState.DELETING:
        raise ApiError(400, f"app {app['id']} is DELETING: it cannot be stopped")
    if state not in lifecycle.ACTIVE:
        return False
    app["schedule"] = lifecycle.apply(app["schedule"], now, lifecycle.stop_plan(now, rules.timings))
    return True


def set_image(rules: Rules, app: Record, now: float, image: str) -> None:
    rolled = change_running(rules, app, now, image)
    app["spec"] = {**app["spec"], "image": image}
    if rolled:
        datastore.on_replicas(rules.store, app, now, rules.timings, current_replicas(app),
                              datastore.ROLLING_UPDATE)


def set_label(app: Record, name: str, value: str | None) -> None:
    """Set a user label, or remove it when `value` is None."""
    labels = {k: v for k, v in app["spec"]["labels"].items() if k != name}
    if value is not None:
        labels[name] = value
    app["spec"] = {**app["spec"], "labels": labels}
