"""How well the production wait polls: API requests per wait and the lag between a state change
(as scheduled by the emulator, `status.history[].date`) and the moment the wait saw it.

    .venv/bin/python -m bench.client_polling [--apps 3] [--startup 3,10,30] [--path /health]

Measures the waits the provider runs, on the one engine (`components.ovhai.waiting.poll`):
- ready: `resources.readiness.wait_until_ready` with the provider's `DEFAULT_POLICY` (what
  `AiApp` create/update wait with): GETs of the app, and the lag from RUNNING to the return;
- gone: `OvhAiClient.wait_for_app_gone` as the provider's delete calls it.
Starts its own emulator (real `python -m emulator` over loopback), creates apps one at a time and
waits for each, so that the emulator's request counter (`GET /_emulator/requests`) belongs to one
wait at a time. Probes of the app's readiness URL are not API requests and are not counted.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time
from dataclasses import dataclass, field

import httpx

from components.ovhai import OvhAiClient
from components.resources.app import DELETE_TIMEOUT
from components.resources.progress import Progress
from components.resources.readiness import DEFAULT_POLICY, wait_until_ready
from emulator.runner import start_emulator

ADMIN = "bench-admin-token"


@dataclass
class WaitFigures:
    startup: float
    requests: int  # GET /v1/app/{id} during the ready wait
    seconds: float
    ready_lag: float  # from RUNNING (history date) to the wait's return
    gone_requests: int
    gone_seconds: float
    lags: dict[str, float] = field(default_factory=dict)


def request_count(base_url: str) -> int:
    answer = httpx.get(f"{base_url}/_emulator/requests", headers={"Authorization": f"Bearer {ADMIN}"})
    answer.raise_for_status()
    return int(answer.json()["byRoute"].get("GET /v1/app/{id}", 0))


def one_wait(client: OvhAiClient, base_url: str, startup: float, path: str) -> WaitFigures:
    spec = {
        "image": "ghcr.io/example/echo:1",
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "labels": {"emulator/startup-seconds": str(startup)},
    }
    app = client.create_app(spec)
    before = request_count(base_url)
    observed: dict[str, float] = {}

    def on_change(_old: str | None, new: str, _elapsed: float) -> None:
        observed.setdefault(new, time.time())

    started = time.monotonic()
    outcome = wait_until_ready(
        client,
        app,
        token=ADMIN,
        path=path,
        deadline=started + startup + 60,
        progress=Progress("bench", io.StringIO()),
        on_change=on_change,
    )
    returned = time.time()
    seconds = time.monotonic() - started
    assert outcome.kind == "ready", outcome
    app = outcome.app
    requests = request_count(base_url) - before
    running = [e.date.timestamp() for e in app.status.history if str(e.state) == "RUNNING"]
    lags: dict[str, float] = {}
    for entry in app.status.history:
        state = str(entry.state)
        if state in observed and state != "QUEUED":  # QUEUED is known from the create answer itself
            lags[state] = max(0.0, observed[state] - entry.date.timestamp())

    client.delete_app(app.id, force=True)
    before = request_count(base_url)
    gone_started = time.monotonic()
    client.wait_for_app_gone(app.id, timeout=DELETE_TIMEOUT, initial_interval=0.5, max_interval=5.0)
    gone_seconds = time.monotonic() - gone_started
    return WaitFigures(
        startup,
        requests,
        seconds,
        max(0.0, returned - running[-1]) if running else float("nan"),
        request_count(base_url) - before,
        gone_seconds,
        lags,
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=3, help="waits per startup duration")
    parser.add_argument("--startup", default="3,10,30", help="comma-separated QUEUED->RUNNING seconds")
    parser.add_argument("--path", default="/health", help="readiness path ('' waits for RUNNING only)")
    args = parser.parse_args()
    startups = [float(s) for s in args.startup.split(",") if s]

    with start_emulator(admin_token=ADMIN) as emu, OvhAiClient(emu.base_url, ADMIN) as client:
        p = DEFAULT_POLICY
        print(
            f"emulator {emu.base_url}; production wait policy: API {p.api_initial:g} s x{p.api_factor:g} "
            f"up to {p.api_max:g} s, probe {args.path or '(none)'} every {p.probe_interval:g} s"
        )
        print(f"{'startup s':>9} {'wait s':>7} {'GETs':>5} {'ready lag':>9} {'gone s':>7} {'gone GETs':>9}"
              "  lag per state seen (s)")
        rows: list[WaitFigures] = []
        for startup in startups:
            for _ in range(args.apps):
                row = one_wait(client, emu.base_url, startup, args.path)
                rows.append(row)
                shown = "  ".join(f"{state}={lag:.2f}" for state, lag in row.lags.items())
                print(
                    f"{row.startup:>9.1f} {row.seconds:>7.2f} {row.requests:>5d} {row.ready_lag:>9.2f} "
                    f"{row.gone_seconds:>7.2f} {row.gone_requests:>9d}  {shown}"
                )
        for startup in startups:
            group = [r for r in rows if r.startup == startup]
            print(
                f"startup {startup:.0f} s: {statistics.mean(r.requests for r in group):.1f} GETs per "
                f"ready wait (one per {startup / max(statistics.mean(r.requests for r in group), 1):.1f} s), "
                f"ready lag mean {statistics.mean(r.ready_lag for r in group):.2f} s, "
                f"max {max(r.ready_lag for r in group):.2f} s; "
                f"gone: {statistics.mean(r.gone_requests for r in group):.1f} GETs, "
                f"{statistics.mean(r.gone_seconds for r in group):.2f} s"
            )


if __name__ == "__main__":
    main()
