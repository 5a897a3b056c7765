"""Wait for an app to serve: RUNNING in the API *and* its readiness path answering 200.

Built on the project's one waiting engine, `components.ovhai.waiting.poll`. Two signals, polled at
two paces. The API is the polled object, read with a growing interval (`api_initial` x
`api_factor`, capped at `api_max`, no reset on a change: progress lines come from the app's
history, not from the polling pace) to see failures and to log transitions, so a start-up of
minutes costs a handful of requests. The readiness path on the app's own URL is cheap (it is not
the regional API and counts against no API budget) and is the real "ready" signal: the engine's
sleep is a `Watch` that probes it every `probe_interval` and wakes the poller early when it
answers 200. That look confirms RUNNING (during a rolling update the old replicas answer 200 while
the app is SCALING, so the API read decides) and is not a backoff step; when it does not end the
wait, the next early look comes `CONFIRM_PAUSE` later at the soonest. The bench
(bench/client_polling.py, bench/create_overhead.py) measures this path.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from components.ovhai import OvhAiClient, WaitTimeout
from components.ovhai.models import App
from components.ovhai.waiting import Backoff, Observed, OnChange, Watch, poll
from components.platform import STOP_STATES
from components.resources.progress import Progress
from components.resources.validation import DEFAULT_TIMEOUT_SECONDS

CONFIRM_PAUSE = 1.0
DEFAULT_CACHE_MOUNT = "/hub"

Prober = Callable[[str], tuple[bool, str]]


@dataclass(frozen=True)
class WaitPolicy:
    """Tuned with bench/create_overhead.py: API reads at 4, 12, 28, 58, 88... s (a failure is seen
    within 30 s, a start-up of minutes costs about one API request per 13 s) and a probe every
    0.5 s (the create returns within about half a second of the app serving)."""

    api_initial: float = 4.0
    api_factor: float = 2.0
    api_max: float = 30.0
    probe_interval: float = 0.5
    probe_timeout: float = 5.0

    def backoff(self) -> Backoff:
        return Backoff(self.api_initial, self.api_max, self.api_factor, reset_on_change=False)


DEFAULT_POLICY = WaitPolicy()


@dataclass
class WaitOutcome:
    kind: Literal["ready", "stopped", "timeout"]
    app: App
    detail: str = ""
    deadline: Deadline | None = None  # the one the wait ran under (set by the provider)


def probe(http: httpx.Client, url: str) -> tuple[bool, str]:
    """GET the readiness URL; (True, "") on 200, else (False, what was seen)."""
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        return False, f"no answer ({type(exc).__name__})"
    if response.status_code == 200:
        return True, ""
    return False, f"HTTP {response.status_code}"


class _Seen:
    """What the wait knows: the app as last read, when, and the last probe's answer."""

    def __init__(self, app: App) -> None:
        self.app = app
        self.read_at: float | None = None  # None: only the app handed in, no read of ours yet
        self.probe_ok = False
        self.probe_detail = "not probed yet"


def wait_until_ready(
    client: OvhAiClient,
    app: App,
    *,
    token: str,
    path: str,
    deadline: float,
    progress: Progress,
    policy: WaitPolicy = DEFAULT_POLICY,
    on_change: OnChange | None = None,
    prober: Prober | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
) -> WaitOutcome:
    """Poll until ready, a state that ends the wait, or `deadline` (a `clock()` value, by default
    time.monotonic()). `prober` replaces the HTTP probe of the readiness URL (tests)."""
    seen = _Seen(app)
    progress.app_seen(app)

    def read() -> App:
        seen.app = client.get_app(seen.app.id)
        seen.read_at = clock()
        progress.app_seen(seen.app)
        return seen.app

    def fetch() -> Observed[App]:
        current = read()
        return Observed(current, current.state)

    def done(observed: Observed[App]) -> bool:
        if observed.state in STOP_STATES:
            return True
        return observed.state == "RUNNING" and (not path or seen.probe_ok)

    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=policy.probe_timeout, follow_redirects=False) as http:
        probe_url: Prober = prober or (lambda url: probe(http, url))

        def check() -> bool:
            if not (path and seen.app.url):
                return False
            seen.probe_ok, seen.probe_detail = probe_url(seen.app.url.rstrip("/") + path)
            return seen.probe_ok

        try:
            observed = poll(
                fetch,
                first=Observed(app, app.state),
                done=done,
                timeout=deadline - clock(),
                subject=app.id,
                on_change=on_change,
                backoff=policy.backoff(),
                sleep=Watch(check, policy.probe_interval, hold=CONFIRM_PAUSE, sleep=sleep, clock=clock),
                clock=clock,
            )
        except WaitTimeout:
            if seen.read_at is None or seen.read_at < deadline:
                read()  # the state to report, not the one seen seconds ago
            state = seen.app.state
            detail = f"state {state}" + (f", readiness path {path}: {seen.probe_detail}" if path else "")
            return WaitOutcome("timeout", seen.app, detail)
    assert observed.value is not None
    kind: Literal["ready", "stopped"] = "stopped" if observed.state in STOP_STATES else "ready"
    return WaitOutcome(kind, observed.value)


# --------------------------------------------------------------------- which deadline applies
#
# A start whose /hub comes from a bucket prefix that already holds the model pulls it in-region
# (minutes less than a Hub download): its deadline is `readiness.fromBucket.timeoutSeconds`.
# Everything else keeps `readiness.timeoutSeconds`, the Hub one. The evidence is read from the
# platform at wait time, never assumed: an app of the same deployment (the one starting, or the
# one a replacement is about to delete) mounts the same dataStore source at the cache's mount
# path, serves the same model, and lists a push of its volumes DONE in `status.dataSync` (the
# AiCachePush, components/resources/datasync.py). A fresh prefix, a push that failed or never
# ran, another prefix or another model: no evidence, the Hub deadline.


@dataclass(frozen=True)
class Deadline:
    """The deadline a wait runs under: seconds from the start, where the weights come from, why."""

    seconds: float
    source: Literal["hub", "bucket"]
    reason: str

    def describe(self) -> str:
        kind = "a start from the bucket" if self.source == "bucket" else "a start from the Hugging Face Hub"
        return f"readiness deadline {self.seconds:.0f} s ({kind}: {self.reason})"


def datastore_source(spec: Mapping[str, Any], mount_path: str) -> tuple[str, str, str] | None:
    """(alias, container, prefix) of the dataStore volume mounted at `mount_path`, else None."""
    want = mount_path.rstrip("/") or "/"
    for volume in spec.get("volumes") or []:
        if not isinstance(volume, Mapping) or str(volume.get("mountPath", "")).rstrip("/") != want:
            continue
        source = (volume.get("volumeSource") or {}).get("dataStore") or volume.get("dataStore")
        if isinstance(source, Mapping):
            return (str(source.get("alias") or ""), str(source.get("container") or ""),
                    str(source.get("prefix") or "").strip("/"))
    return None


def _pushed(data_sync: Iterable[Mapping[str, Any]]) -> str | None:
    """The id of a push of every volume (or of an unnamed one) that ended DONE, else None."""
    for sync in data_sync:
        spec, status = sync.get("spec") or {}, sync.get("status") or {}
        if spec.get("direction") == "push" and status.get("state") == "DONE":
            return str(sync.get("id") or "?")
    return None


def _serves(spec: Mapping[str, Any], model: str) -> bool:
    """Whether the app's command (vLLM's argv) names `model`; any app when no model is given."""
    if not model:
        return True
    return any(model in str(arg) for arg in spec.get("command") or [])


def choose_deadline(
    readiness: Mapping[str, Any],
    spec: Mapping[str, Any],
    apps: Iterable[tuple[str, Mapping[str, Any], Iterable[Mapping[str, Any]]]],
) -> Deadline:
    """The deadline of a start of `spec` (the wire AppSpec) from `readiness` (validated inputs) and
    the deployment's apps as `(id, spec, status.dataSync)`. Pure: the provider reads the apps."""
    hub = float(readiness.get("timeoutSeconds", DEFAULT_TIMEOUT_SECONDS))
    bucket = readiness.get("fromBucket")
    if not isinstance(bucket, Mapping):
        return Deadline(hub, "hub", "no cache volume declared")
    mount = str(bucket.get("mountPath") or DEFAULT_CACHE_MOUNT)
    source = datastore_source(spec, mount)
    if source is None:
        return Deadline(hub, "hub", f"{mount} is not a volume from a datastore")
    model = str(bucket.get("model") or "")
    for app_id, other_spec, data_sync in apps:
        if datastore_source(other_spec, mount) != source or not _serves(other_spec, model):
            continue
        sync_id = _pushed(data_sync)
        if sync_id is not None:
            seconds = min(float(bucket["timeoutSeconds"]), hub)
            return Deadline(seconds, "bucket", f"app {app_id} pushed {source[1]}/{source[2]} "
                            f"(data sync {sync_id} DONE)")
    return Deadline(hub, "hub", f"no push of {source[1]}/{source[2]} is DONE yet (a fresh prefix, "
                    "or its push failed)")
