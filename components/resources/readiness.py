"""Wait for an app to serve: RUNNING in the API *and* its readiness path answering 200.

Two signals, polled at two paces. The readiness path on the app's own URL is cheap (it is not the
regional API and counts against no API budget) and is the real "ready" signal, so it is probed
often (`probe_interval`) to keep the overhead over the platform's start-up small. The API is
polled with a growing interval (`api_initial` x `api_factor`, capped at `api_max`) to see
failures and to log transitions, so that a start-up of minutes costs a handful of requests (the
bench measures both). When the probe answers 200, one API read confirms RUNNING; during a rolling
update the old replicas answer 200 while the app is SCALING, so that read is what decides.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import httpx

from components.ovhai import OvhAiClient
from components.ovhai.models import App
from components.platform import STOP_STATES
from components.resources.progress import Progress

CONFIRM_PAUSE = 1.0


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


DEFAULT_POLICY = WaitPolicy()


@dataclass
class WaitOutcome:
    kind: Literal["ready", "stopped", "timeout"]
    app: App
    detail: str = ""


def probe(http: httpx.Client, url: str) -> tuple[bool, str]:
    """GET the readiness URL; (True, "") on 200, else (False, what was seen)."""
    try:
        response = http.get(url)
    except httpx.HTTPError as exc:
        return False, f"no answer ({type(exc).__name__})"
    if response.status_code == 200:
        return True, ""
    return False, f"HTTP {response.status_code}"


def wait_until_ready(
    client: OvhAiClient,
    app: App,
    *,
    token: str,
    path: str,
    deadline: float,
    progress: Progress,
    policy: WaitPolicy = DEFAULT_POLICY,
) -> WaitOutcome:
    """Poll until ready, a state that ends the wait, or `deadline` (a time.monotonic() value)."""
    progress.app_seen(app)
    interval = policy.api_initial
    last_api = time.monotonic()
    last_probe = "not probed yet"
    hold_until = 0.0
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(headers=headers, timeout=policy.probe_timeout, follow_redirects=False) as http:
        while True:
            state = app.state
            if state in STOP_STATES:
                return WaitOutcome("stopped", app)
            now = time.monotonic()
            if now >= deadline:
                app = client.get_app(app.id)  # the state to report, not the one seen seconds ago
                progress.app_seen(app)
                state = app.state
                detail = f"state {state}" + (f", readiness path {path}: {last_probe}" if path else "")
                return WaitOutcome("timeout", app, detail)
            ready = state == "RUNNING" and not path
            if path and app.url:
                ok, last_probe = probe(http, app.url.rstrip("/") + path)
                if ok and now >= hold_until:
                    app = client.get_app(app.id)  # confirm: during a rolling update old replicas answer
                    last_api = time.monotonic()
                    progress.app_seen(app)
                    if app.state == "RUNNING":
                        return WaitOutcome("ready", app)
                    # Serving but not RUNNING (a rolling update): confirm again in a second, not sooner.
                    hold_until = last_api + CONFIRM_PAUSE
                    continue
            if ready:
                return WaitOutcome("ready", app)
            if time.monotonic() - last_api >= interval:
                app = client.get_app(app.id)
                last_api = time.monotonic()
                progress.app_seen(app)
                interval = min(interval * policy.api_factor, policy.api_max)
                continue
            next_api = last_api + interval
            pause = policy.probe_interval if path and app.url else next_api - time.monotonic()
            time.sleep(max(0.01, min(pause, next_api - time.monotonic(), deadline - time.monotonic())))
