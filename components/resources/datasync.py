"""AiCachePush: push an app's Hugging Face cache back to its bucket once, after its first start.

AI Deploy apps do not push their volumes back on their own (shared/ovhai/API.md): a volume from a
datastore is pulled at start and that is all. `POST /v1/app/{id}/datasync` with the schema's
`DataSyncSpec` `{"direction": "push"}` (no `volume`: every datastore volume of the app; the
model stack's app has one, its /hub) copies the app's volume into the container, and the app's
`status.dataSync` lists the sync until it is DONE.

Why a push from the serving app rather than a CPU job that pre-seeds the prefix: the push adds
no GPU time (the app serves while it runs, and the first start had to download the weights
anyway: the push is then an in-region copy, `weights / BUCKET_PUSH_BYTES_PER_SECOND`), needs no
second image, no job API and no second download from the Hub. A pre-seed would save the first
start's Hub download on the GPUs once per model and region (minutes of one replica's GPUs,
components/cache.py estimates it), which the push does not; see the note of issue 12.

One resource per app: created after the AiApp (it depends on it, so after its first start is
ready), replaced with a new app id or a new prefix (a new first start). Delete does nothing: the
pushed weights are the cache, which outlives any app and any model stack (the bucket belongs to
the platform stack).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

import pulumi
from pulumi.dynamic import CheckFailure, CheckResult, CreateResult, DiffResult, ReadResult, UpdateResult

from components.ovhai import ApiError
from components.resources.fingerprint import redact
from components.resources.progress import log
from components.resources.provider_base import ApiProvider
from components.resources.spec_diff import contains_unknown
from components.resources.validation import check_service_name

PROVIDER_KEY = "__provider"
DONE_STATES = frozenset({"DONE"})
FAILED_STATES = frozenset({"ERROR", "FAILED", "INTERRUPTED"})
POLL_SECONDS = (0.2, 10.0)  # first and longest pause between two reads of the app
DEFAULT_TIMEOUT_SECONDS = 3600.0


class CachePushError(RuntimeError):
    """The push could not start or did not finish (status and the server's message)."""


def sync_state(app_body: Mapping[str, Any], sync_id: str) -> tuple[str, str]:
    """(state, message) of the sync `sync_id` in an app's `status.dataSync`; ("", "") if absent."""
    for sync in ((app_body.get("status") or {}).get("dataSync") or []):
        if sync.get("id") == sync_id:
            status = sync.get("status") or {}
            return str(status.get("state") or ""), str((status.get("info") or {}).get("message") or "")
    return "", ""


def wait_for_sync(
    read: Callable[[], Mapping[str, Any]],
    sync_id: str,
    *,
    timeout: float,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> str:
    """Poll the app until the sync is DONE; raise CachePushError when it fails or times out."""
    deadline = clock() + timeout
    pause = POLL_SECONDS[0]
    while True:
        state, message = sync_state(read(), sync_id)
        if state in DONE_STATES:
            return state
        if state in FAILED_STATES:
            raise CachePushError(f"data sync {sync_id} ended {state}: {message}")
        if clock() >= deadline:
            raise CachePushError(f"data sync {sync_id} still {state or 'unlisted'} after {timeout:.0f} s")
        sleep(min(pause, max(deadline - clock(), 0.0)))
        pause = min(pause * 2, POLL_SECONDS[1])


class AiCachePushProvider(ApiProvider):
    """Create: one datasync push of the app and its wait. No API object of its own to delete."""

    def check(self, _olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        inputs = {k: v for k, v in news.items() if v is not None}
        failures = []
        app_id = inputs.get("appId")
        if not contains_unknown(app_id) and not (isinstance(app_id, str) and app_id):
            failures.append(CheckFailure("appId", "must be the app's id"))  # unknown at preview: fine
        timeout = inputs.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS)
        if contains_unknown(timeout):
            pass
        elif isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            failures.append(CheckFailure("timeoutSeconds", "must be a number of seconds > 0"))
        failures += [CheckFailure(path, reason) for path, reason in check_service_name(inputs)]
        return CheckResult(inputs, failures)

    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        replaces = [k for k in ("appId", "prefix", "serviceName")
                    if contains_unknown(news.get(k)) or olds.get(k) != news.get(k)]
        changed = bool(replaces) or olds.get("timeoutSeconds") != news.get("timeoutSeconds")
        return DiffResult(changes=changed, replaces=replaces, delete_before_replace=False)

    def create(self, props: dict[str, Any]) -> CreateResult:
        creds = self.credentials(props.get("serviceName"))
        app_id = str(props["appId"])
        name = f"cache push {props.get('prefix', app_id)}"
        timeout = float(props.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS))
        started = time.monotonic()
        try:
            with self.client(creds, name) as client:
                sync = client.datasync_app(app_id, "push")
                sync_id = str(sync["id"])
                log(name, f"data sync {sync_id} (push of /hub to the bucket) started")
                state = wait_for_sync(lambda: client.get_app_raw(app_id), sync_id,
                                      timeout=timeout)
        except ApiError as error:
            raise CachePushError(redact(f"{name}: {error}", creds.secrets)) from None
        seconds = round(time.monotonic() - started, 3)
        log(name, f"data sync {sync_id} {state} in {seconds} s")
        outs = {k: v for k, v in props.items() if k != PROVIDER_KEY}
        outs.update(syncId=sync_id, state=state, seconds=seconds)
        return CreateResult(sync_id, outs)

    def read(self, id_: str, props: dict[str, Any]) -> ReadResult:
        return ReadResult(id_, props)

    def update(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        outs = {k: v for k, v in news.items() if k != PROVIDER_KEY}
        outs.update({k: olds[k] for k in ("syncId", "state", "seconds") if k in olds})
        return UpdateResult(outs)

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        log(f"cache push {props.get('prefix', id_)}", "kept the pushed weights: the cache outlives the app")


class AiCachePush(pulumi.dynamic.Resource, module="ovhai", name="AiCachePush"):
    """One push of an app's datastore volumes (its /hub cache) back to the bucket."""

    appId: pulumi.Output[str]
    prefix: pulumi.Output[str]
    syncId: pulumi.Output[str]
    state: pulumi.Output[str]
    seconds: pulumi.Output[float]

    def __init__(
        self,
        resource_name: str,
        *,
        app_id: pulumi.Input[str],
        prefix: pulumi.Input[str],
        timeout_seconds: pulumi.Input[float] = DEFAULT_TIMEOUT_SECONDS,
        service_name: pulumi.Input[str] | None = None,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        props: dict[str, Any] = {
            "appId": app_id,
            "prefix": prefix,
            "timeoutSeconds": timeout_seconds,
            "syncId": None,
            "state": None,
            "seconds": None,
        }
        if service_name is not None:  # the public door's project when the stack names none
            props["serviceName"] = service_name
        super().__init__(AiCachePushProvider(), resource_name, props, opts)
