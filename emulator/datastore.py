"""Volumes from a datastore, the Hub downloads of the vLLM stand-in, and `datasync` pushes.

What is modelled (issue 12), all derived from timestamps like the app lifecycle (no background
task, it survives a restart because it is in the state file):
- The store: per (alias, container, prefix), what is cached there, as pushes that land at a time
  (`{"model", "bytes", "at"}`): the model bytes present at `t` are the largest push landed by `t`.
- A start (create or start of an app) with its Hugging Face cache (`HF_HOME`, default `/hub`) on
  a dataStore volume pulls the prefix during INITIALIZING at an in-region rate: INITIALIZING
  lasts longer by `bytes / BUCKET_PULL_BYTES_PER_SECOND`, scaled. A standalone `/hub` starts empty
  (what the issue describes: every start downloads again).
- Once RUNNING, vLLM downloads from the Hub what `/hub` lacks before it serves: the stand-in
  answers 503 until then (`serving_after`). Each start records its Hub bytes (x replicas: each
  replica downloads its own copy) and how it went: `GET /_emulator/app/{id}/starts` (admin).
- `POST /v1/app/{id}/datasync` (`DataSyncSpec`: `{direction: pull|push, volume?}`, the schema's
  `cloud.project.ai.volume.DataSyncSpec`) answers a `DataSync`; a push copies the model bytes the
  app's volume holds at that moment (pulled + downloaded so far) into the store: QUEUED, RUNNING
  for `missing bytes / BUCKET_PUSH_BYTES_PER_SECOND` (scaled), DONE; the app's `status.dataSync`
  lists them (the schema's `AppStatus.dataSync`). Apps do not push on their own (API.md).

The Hub download model is off unless asked (`POST /_emulator/datastore {"hubDownloads": true}`):
the rest of the suite's apps start in the fast timings they always had. Scale: the fast timings'
INITIALIZING over the realistic one (1 / 90), as the autoscaler scales its windows.

Sources: OVHcloud's "AI Deploy - App concept" (INITIALIZING: "the remote data (if any) is
synchronized"; https://support.us.ovhcloud.com/hc/en-us/articles/35646238993299), "Data - Concept
and best practices" (volumes are synchronized from Object Storage before the start; `cache` lets
workloads re-use a volume instead of a new one each time;
https://docs.ovhcloud.com/en/guides/public-cloud/ai-machine-learning/ai-data), the schema's
`.../ai/app/{appId}/datasync` and shared/ovhai/API.md. Routes: emulator/datastore_api.py.

The aliases (issue 12/13): one alias store for both doors. The public door's
`/ai/data/region/{region}/alias` routes register, list and delete customer aliases here (under the
store's `aliases` key, so they persist in the state file like the cached content, and the content
stays keyed by (alias, container, prefix)); an app volume from a dataStore must name an alias of
its region: a registered one or an OVHcloud default (`<REGION>`, the Swift one, and `S3<REGION>`,
shared/ovhai/API.md), else its create is refused with a 400 naming the volume's field.

Bandwidths are the project's estimates (components/cache.py, held equal by
tests/test_cache_emulator.py); the model size is read from the model name's parameter count
("24B": 24e9 x 2 bytes, 16-bit checkpoints), or the label `emulator/model-bytes`.

Replicas a scaling or a rolling update starts (backend.autoscale, backend.replace_spec,
backend.set_image) pull and download per replica too (`on_replicas`): the rollout's SCALING lasts
until they serve, and the starts log records them with `kind` `scale-up` / `rolling-update`
(a create or start: `start`). Not modelled: a wake from zero (the emulator keeps at least one
replica of an autoscaled app; a wake would be a `scale-up` from 0).
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from . import lifecycle
from .errors import ApiError, invalid
from .lifecycle import AppState
from .standin_command import serving_of
from .store import Record, Store
from .timings import REALISTIC, Timings

HUB_BYTES_PER_SECOND = 50e6
BUCKET_PULL_BYTES_PER_SECOND = 500e6
BUCKET_PUSH_BYTES_PER_SECOND = 200e6
MODEL_BYTES_LABEL = "emulator/model-bytes"
DEFAULT_MODEL_BYTES = 1e9  # a model name without a parameter count
CONFIG_KEY = "config"
ALIASES_KEY = "aliases"  # region -> alias -> the registered DataStore (never its credentials)
RESERVED_KEYS = (CONFIG_KEY, ALIASES_KEY)  # store.datastore keys that are not cached content
START, SCALE_UP, ROLLING_UPDATE = "start", "scale-up", "rolling-update"  # kinds of a recorded start
_PARAMS = re.compile(r"(?<![A-Za-z0-9.])(\d+(?:\.\d+)?)[Bb](?![A-Za-z])")


# ------------------------------------------------------------------------------------- facts


def scale(timings: Timings) -> float:
    return timings.initializing / REALISTIC.initializing if REALISTIC.initializing else 1.0


def model_bytes(spec: dict[str, Any]) -> float:
    """Bytes of the served checkpoint: the label, else 2 bytes per parameter of the name's count."""
    label = spec.get("labels", {}).get(MODEL_BYTES_LABEL)
    if label is not None:
        return max(float(label), 0.0)
    found = _PARAMS.findall(serving_of(spec).model.rsplit("/", 1)[-1])
    return float(found[0]) * 1e9 * 2 if found else DEFAULT_MODEL_BYTES


def hub_path(spec: dict[str, Any]) -> str:
    for env in spec.get("envVars") or []:
        if env.get("name") == "HF_HOME" and env.get("value"):
            return str(env["value"]).rstrip("/") or "/"
    return "/hub"


def hub_volume(spec: dict[str, Any]) -> dict[str, Any] | None:
    path = hub_path(spec)
    for volume in spec.get("volumes") or []:
        if str(volume.get("mountPath", "")).rstrip("/") == path:
            return dict(volume)
    return None


def store_key(volume: dict[str, Any] | None) -> str | None:
    """`alias|container|prefix` of a dataStore volume (either spelling of the schema), else None."""
    if volume is None:
        return None
    source = (volume.get("volumeSource") or {}).get("dataStore") or volume.get("dataStore")
    if not source:
        return None
    return f"{source.get('alias')}|{source.get('container')}|{(source.get('prefix') or '').strip('/')}"


def config(store: Store) -> Record:
    return store.datastore.get(CONFIG_KEY) or {}


def cached(store: Store, key: str, now: float) -> dict[str, float]:
    """Model -> bytes present under `key` at `now`."""
    out: dict[str, float] = {}
    for push in (store.datastore.get(key) or {}).get("objects", []):
        if push["at"] <= now:
            out[push["model"]] = max(out.get(push["model"], 0.0), float(push["bytes"]))
    return out


def _replicas(spec: dict[str, Any]) -> int:
    strategy = spec.get("scalingStrategy") or {}
    if "fixed" in strategy:
        return int(strategy["fixed"]["replicas"])
    return max(int((strategy.get("automatic") or {}).get("replicasMin", 1)), 1)


def _delay_after(schedule: lifecycle.Schedule, state: AppState, seconds: float) -> None:
    """Lengthen the phase `state` of a fresh start plan: shift every later transition."""
    index = next((i for i, e in enumerate(schedule) if e["state"] == state.value), None)
    if index is None or seconds <= 0:
        return
    for entry in schedule[index + 1 :]:
        entry["at"] += seconds


# ------------------------------------------------------------------------------------- aliases


def default_aliases(region: str) -> tuple[str, ...]:
    """The OVHcloud-owned datastores of a region: `GRA` (Swift) and `S3GRA` (S3)."""
    return (region.upper(), f"S3{region.upper()}")


def default_alias_records(region: str) -> list[Record]:
    """The defaults as the list route shows them (`cloud.project.ai.DataStore`, owner ovhcloud)."""
    low = region.lower()
    return [
        {"alias": region.upper(), "type": "swift", "owner": "ovhcloud",
         "endpoint": "https://auth.cloud.ovh.net/v3"},
        {"alias": f"S3{region.upper()}", "type": "s3", "owner": "ovhcloud",
         "endpoint": f"https://s3.{low}.io.cloud.ovh.net"},
    ]  # fmt: skip


def aliases(store: Store, region: str) -> dict[str, Record]:
    """The customer aliases registered in `region` (alias -> record), mutable."""
    regions: dict[str, dict[str, Record]] = store.datastore.setdefault(ALIASES_KEY, {})
    return regions.setdefault(region.upper(), {})


def alias_known(store: Store, region: str, alias: str) -> bool:
    if alias in default_aliases(region):
        return True
    regions = store.datastore.get(ALIASES_KEY) or {}
    return alias in (regions.get(region.upper()) or {})


# ------------------------------------------------------------------------------------- hooks


def on_start(store: Store, app: Record, now: float, timings: Timings) -> None:
    """A start was planned (create or start): pull the cache, plan the Hub download, record it."""
    if not config(store).get("hubDownloads"):
        return
    start_index = max(i for i, e in enumerate(app["schedule"]) if e["state"] == AppState.QUEUED.value)
    _record_start(store, app, now, timings, app["schedule"][start_index:], replicas=_replicas(app["spec"]),
                  kind=START)


def on_replicas(store: Store, app: Record, now: float, timings: Timings, added: int, kind: str) -> None:
    """Replicas a scaling (`scale-up`) or a rolling update (`rolling-update`, every replica new)
    start while the app serves from the others: each pulls the prefix and downloads what /hub
    lacks before it serves, so the rollout's SCALING -> RUNNING waits for both (the app keeps
    serving meanwhile: the stand-in's gate is for full starts only). Recorded like a start."""
    if not config(store).get("hubDownloads") or added <= 0:
        return
    index = max((i for i, e in enumerate(app["schedule"])
                 if e["state"] == AppState.SCALING.value and e["at"] >= now), default=None)
    if index is None:
        return
    _record_start(store, app, now, timings, app["schedule"][index:], replicas=added, kind=kind)


def _record_start(store: Store, app: Record, now: float, timings: Timings, plan: lifecycle.Schedule,
                  *, replicas: int, kind: str) -> None:
    spec = app["spec"]
    factor = float(config(store).get("scale") or scale(timings))
    model = serving_of(spec).model
    size = model_bytes(spec)
    key = store_key(hub_volume(spec))
    present = cached(store, key, now) if key else {}
    pull_bytes = sum(present.values())
    pull_seconds = pull_bytes / BUCKET_PULL_BYTES_PER_SECOND * factor
    missing = max(size - present.get(model, 0.0), 0.0)
    download_seconds = missing / HUB_BYTES_PER_SECOND * factor
    if kind == START:  # the pull in INITIALIZING, the download once RUNNING (503 until done)
        _delay_after(plan, AppState.INITIALIZING, pull_seconds)
        running = next((e["at"] for e in plan if e["state"] == AppState.RUNNING.value), None)
        serving = None if running is None else running + download_seconds
    else:  # new replicas: pull and download before the rollout completes
        _delay_after(plan, AppState.SCALING, pull_seconds + download_seconds)
        running = next((e["at"] for e in plan if e["state"] == AppState.RUNNING.value), None)
        serving = running
    app.setdefault("cacheStarts", []).append({
        "at": now,
        "kind": kind,
        "model": model,
        "modelBytes": size,
        "storeKey": key,
        "storeBytes": pull_bytes,
        "pullSeconds": pull_seconds,
        "hubBytes": missing * replicas,
        "hubBytesPerReplica": missing,
        "replicas": replicas,
        "downloadSeconds": download_seconds,
        "runningAt": running,
        "servingAt": serving,
    })


def _full_starts(app: Record) -> list[Record]:
    return [s for s in app.get("cacheStarts") or [] if s.get("kind", START) == START]


def serving_after(app: Record) -> float | None:
    """When the latest start's vLLM serves (its Hub download done); None: no download modelled.
    Replicas a scaling or rolling update adds do not gate: the others serve meanwhile."""
    starts = _full_starts(app)
    return starts[-1]["servingAt"] if starts else None


def downloading(app: Record, now: float) -> bool:
    at = serving_after(app)
    return at is not None and now < at


def hub_bytes_on_volume(app: Record, now: float) -> float:
    """Model bytes in the app's /hub at `now`: what was pulled plus what was downloaded by then."""
    starts = _full_starts(app)
    if not starts:
        return 0.0
    last = starts[-1]
    have = float(last["modelBytes"]) - float(last["hubBytesPerReplica"])
    if last["runningAt"] is None or now < last["runningAt"]:
        return have
    if last["downloadSeconds"] <= 0:
        return float(last["modelBytes"])
    done = min((now - float(last["runningAt"])) / float(last["downloadSeconds"]), 1.0)
    return have + float(last["hubBytesPerReplica"]) * done


def _sync_state(sync: Record, now: float) -> str:
    if sync.get("failed"):
        return "FAILED"
    if now < sync["startedAt"]:
        return "QUEUED"
    return "RUNNING" if now < sync["endedAt"] else "DONE"


def render_syncs(app: Record, now: float) -> list[dict[str, Any]]:
    """The app's `status.dataSync`: the schema's `DataSync` objects, state from the clock."""
    out = []
    for sync in app.get("dataSyncs") or []:
        state = _sync_state(sync, now)
        status: dict[str, Any] = {
            "queuedAt": lifecycle.iso(sync["queuedAt"]),
            "startedAt": lifecycle.iso(sync["startedAt"]) if state != "QUEUED" else None,
            "endedAt": lifecycle.iso(sync["endedAt"]) if state in ("DONE", "FAILED") else None,
            "state": state,
            "info": {"code": f"DATASYNC_{state}",
                     "message": sync.get("message") or f"{sync['bytes']:.0f} bytes to sync"},
            "progress": [],
        }
        out.append({
            "id": sync["id"],
            "createdAt": lifecycle.iso(sync["queuedAt"]),
            "updatedAt": lifecycle.iso(now),
            "spec": {"direction": sync["direction"], "manual": True, "volume": sync.get("volume")},
            "status": status,
        })
    return out


def datasync(store: Store, app: Record, body: Any, now: float, timings: Timings) -> Record:
    """Start a manual data sync of an app (validated `DataSyncSpec`); 400 when it cannot run."""
    if not isinstance(body, dict):
        raise invalid("body", "must be a DataSyncSpec object {direction, volume?}")
    unknown = set(body) - {"direction", "volume", "manual"}
    if unknown:
        raise invalid(sorted(unknown)[0], "unknown field of DataSyncSpec")
    direction = body.get("direction")
    if direction not in ("pull", "push"):
        raise invalid("direction", f"must be pull or push, got {direction!r}")
    state = lifecycle.current_state(app["schedule"], now)
    if state is not AppState.RUNNING:
        raise ApiError(400, f"app {app['id']} is {state.value}: a data sync needs a RUNNING app")
    volume = hub_volume(app["spec"])
    key = store_key(volume)
    if key is None:
        raise ApiError(400, f"app {app['id']} has no volume from a datastore to sync")
    factor = float(config(store).get("scale") or scale(timings))
    model = serving_of(app["spec"]).model
    sync: Record = {"id": str(uuid.uuid4()), "direction": direction, "volume": body.get("volume"),
                    "queuedAt": now, "startedAt": now + 5 * factor, "bytes": 0.0}  # a 5 s queue
    if direction == "push":
        have = hub_bytes_on_volume(app, now) if app.get("cacheStarts") else model_bytes(app["spec"])
        already = cached(store, key, now).get(model, 0.0)
        copy = max(have - already, 0.0)
        sync["bytes"] = copy
        sync["endedAt"] = sync["startedAt"] + copy / BUCKET_PUSH_BYTES_PER_SECOND * factor
        entry = store.datastore.setdefault(key, {"key": key, "objects": []})
        entry["objects"].append({"model": model, "bytes": have, "at": sync["endedAt"], "app": app["id"]})
    else:
        sync["endedAt"] = sync["startedAt"]
    app.setdefault("dataSyncs", []).append(sync)
    return sync
