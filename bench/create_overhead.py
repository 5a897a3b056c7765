"""Create-to-ready overhead of AiApp, and the API requests each create costs.

Run: `python -m bench.create_overhead` (default start-ups 5, 30 and 120 s, run side by side, one
emulator each, so the whole run takes about the longest start-up). `--startups 5,30` picks others;
`--process` drives the real `python -m pulumi.dynamic` process instead of the provider in-process.

For each scripted start-up S (the emulator's `emulator/startup-seconds` label: QUEUED -> RUNNING
takes exactly S seconds from the POST), the provider's create is timed end to end; overhead =
create time - S. The emulator counts the `/v1` requests it received (`GET /_emulator/requests`);
probes of the app's own readiness URL are not API requests and are not counted.
Targets (issue 3): overhead <= max(1 s, 2 % of S); on average <= 1 API request per 5 s of start-up.
"""

from __future__ import annotations

import argparse
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from components.resources import AiAppProvider
from emulator.runner import start_emulator
from tests.provider_harness import EmulatorControl, ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "bench-admin-token"


@dataclass
class Figure:
    startup: float
    create_seconds: float
    requests: int
    by_route: dict[str, int]

    @property
    def overhead(self) -> float:
        return self.create_seconds - self.startup

    @property
    def allowed(self) -> float:
        return max(1.0, 0.02 * self.startup)


def props(startup: float) -> dict[str, Any]:
    key = "bench" + uuid.uuid4().hex[:8]
    return {
        "spec": {
            "name": f"bench-{int(startup)}s",
            "image": "vllm/vllm-openai:latest",
            "defaultHttpPort": 8000,
            "resources": {"flavor": "l40s-1-gpu", "gpu": 1},
            "labels": {"emulator/startup-seconds": f"{startup:g}"},
        },
        "secretEnv": {"HF_TOKEN": "hf_bench_not_a_real_token"},
        "readiness": {"path": "/health", "timeoutSeconds": startup + 120},
        "deploymentKey": key,
    }


def measure(startup: float, through_process: bool, extra_args: list[str]) -> Figure:
    with start_emulator(admin_token=ADMIN, extra_args=extra_args) as emu:
        control = EmulatorControl(emu.base_url, ADMIN)
        news = props(startup)
        if through_process:
            with ProviderProcess.start(env={"OVHAI_ENDPOINT": "", "OVHAI_TOKEN": ""}) as proc:
                proc.configure({"ovhai:endpoint": emu.base_url, "ovhai:token": Secret(ADMIN)})
                inputs, failures = proc.check("bench", with_provider(news, provider_blob(AiAppProvider())))
                assert not failures, failures
                control.reset_requests()
                started = time.monotonic()
                proc.create("bench", inputs)
                elapsed = time.monotonic() - started
        else:
            provider = AiAppProvider()
            provider.configure(
                ConfigureRequest(Config({"ovhai:endpoint": emu.base_url, "ovhai:token": ADMIN}, "b"))
            )
            checked = provider.check({}, news)
            assert not checked.failures
            control.reset_requests()
            started = time.monotonic()
            provider.create(checked.inputs)
            elapsed = time.monotonic() - started
        counts = control.requests()
        return Figure(startup, elapsed, int(counts["count"]), dict(counts["byRoute"]))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--startups", default="5,30,120", help="scripted start-ups in seconds (comma-separated)"
    )
    parser.add_argument("--process", action="store_true", help="drive the real dynamic-provider process")
    parser.add_argument("--timings", default=None, help="passed to the emulator (--timings)")
    args = parser.parse_args(argv)
    startups = [float(s) for s in args.startups.split(",") if s.strip()]
    extra = ["--timings", args.timings] if args.timings else []

    figures: dict[float, Figure] = {}
    errors: list[BaseException] = []

    def run(startup: float) -> None:
        try:
            figures[startup] = measure(startup, args.process, extra)
        except BaseException as error:  # reported below
            errors.append(error)

    threads = [threading.Thread(target=run, args=(s,)) for s in startups]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise errors[0]

    mode = "provider process" if args.process else "in-process provider"
    print(f"AiApp create-to-ready overhead ({mode}, emulator over loopback)")
    header = f"{'start-up':>9} {'create':>8} {'overhead':>9} {'allowed':>8} {'API req':>8} {'s per req':>9}"
    print(header + "  requests")
    ok = True
    for startup in startups:
        f = figures[startup]
        ok &= f.overhead <= f.allowed
        routes = ", ".join(f"{route} x{n}" for route, n in sorted(f.by_route.items()))
        print(
            f"{startup:>8.0f}s {f.create_seconds:>7.2f}s {f.overhead:>+8.2f}s {f.allowed:>7.2f}s "
            f"{f.requests:>8} {startup / max(f.requests, 1):>8.1f}s  {routes}"
        )
    total_requests = sum(f.requests for f in figures.values())
    total_startup = sum(startups)
    rate_ok = total_requests <= total_startup / 5
    print(
        f"average: {total_requests} API requests over {total_startup:.0f} s of start-up = one per "
        f"{total_startup / max(total_requests, 1):.1f} s (target: one per 5 s or fewer) -> "
        f"{'OK' if rate_ok else 'MISSED'}; overhead target {'OK' if ok else 'MISSED'}"
    )
    return 0 if ok and rate_ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
