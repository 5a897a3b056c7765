"""How well `OvhAiClient.wait_for_app` polls: requests per wait and the lag between a state change
(as scheduled by the emulator, `status.history[].date`) and the moment the client saw it.

    .venv/bin/python -m bench.client_polling [--apps 3] [--startup 3,10] [--initial 0.5] [--max 5]

Starts its own emulator (real `python -m emulator` over loopback), creates apps one at a time and
waits for each, so that the emulator's request counter (`GET /_emulator/requests`) belongs to one
wait at a time.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass, field

import httpx

from components.ovhai import OvhAiClient
from emulator.runner import start_emulator

ADMIN = "bench-admin-token"


@dataclass
class WaitFigures:
    startup: float
    requests: int
    seconds: float
    lags: dict[str, float] = field(default_factory=dict)


def request_count(base_url: str) -> int:
    answer = httpx.get(f"{base_url}/_emulator/requests", headers={"Authorization": f"Bearer {ADMIN}"})
    answer.raise_for_status()
    return int(answer.json()["byRoute"].get("GET /v1/app/{id}", 0))


def one_wait(
    client: OvhAiClient, base_url: str, startup: float, initial: float, maximum: float
) -> WaitFigures:
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
    app = client.wait_for_app(
        app.id, timeout=startup + 60, on_change=on_change, initial_interval=initial, max_interval=maximum
    )
    seconds = time.monotonic() - started
    figures = WaitFigures(startup, request_count(base_url) - before, seconds)
    for entry in app.status.history:
        state = str(entry.state)
        if state in observed and state != "QUEUED":  # QUEUED is known from the create answer itself
            figures.lags[state] = max(0.0, observed[state] - entry.date.timestamp())
    client.delete_app(app.id, force=True)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--apps", type=int, default=3, help="waits per startup duration")
    parser.add_argument("--startup", default="3,10", help="comma-separated QUEUED->RUNNING seconds")
    parser.add_argument("--initial", type=float, default=0.5, help="initial polling interval (s)")
    parser.add_argument("--max", type=float, default=5.0, help="maximum polling interval (s)")
    args = parser.parse_args()
    startups = [float(s) for s in args.startup.split(",") if s]

    with start_emulator(admin_token=ADMIN) as emu, OvhAiClient(emu.base_url, ADMIN) as client:
        print(f"emulator {emu.base_url}; polling initial {args.initial} s, max {args.max} s")
        print(f"{'startup s':>9} {'wait s':>7} {'GETs':>5}  lag per state seen (s)")
        rows: list[WaitFigures] = []
        for startup in startups:
            for _ in range(args.apps):
                row = one_wait(client, emu.base_url, startup, args.initial, args.max)
                rows.append(row)
                shown = "  ".join(f"{state}={lag:.2f}" for state, lag in row.lags.items())
                print(f"{row.startup:>9.1f} {row.seconds:>7.2f} {row.requests:>5d}  {shown}")
        for startup in startups:
            group = [r for r in rows if r.startup == startup]
            lags = [lag for r in group for lag in r.lags.values()]
            print(
                f"startup {startup:.0f} s: {statistics.mean(r.requests for r in group):.1f} GETs per wait, "
                f"lag mean {statistics.mean(lags):.2f} s, max {max(lags):.2f} s, "
                f"RUNNING lag mean {statistics.mean(r.lags.get('RUNNING', 0.0) for r in group):.2f} s"
            )


if __name__ == "__main__":
    main()
