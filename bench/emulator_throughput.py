"""Emulator request throughput on loopback.

Starts `python -m emulator` on a free port, creates one app, then sends a bounded number of
`GET /v1/app/{id}` requests from a few concurrent clients (each on its own keep-alive
connection) and prints requests per second and p50/p95 latency.

    .venv/bin/python -m bench.emulator_throughput [--requests 2000] [--clients 4] [--max-seconds 30]
"""

from __future__ import annotations

import argparse
import statistics
import threading
import time

import httpx

from emulator.runner import start_emulator

ADMIN = "bench-admin-token"


def run(requests: int, clients: int, max_seconds: float) -> None:
    with start_emulator(admin_token=ADMIN) as emulator:
        headers = {"Authorization": f"Bearer {ADMIN}"}
        with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10) as setup:
            app = setup.post(
                "/v1/app",
                json={"image": "vllm/vllm-openai:latest", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}},
            ).json()
        path = f"/v1/app/{app['id']}"
        latencies: list[float] = []
        errors = 0
        lock = threading.Lock()
        remaining = [requests]
        deadline = time.monotonic() + max_seconds

        def worker() -> None:
            nonlocal errors
            with httpx.Client(base_url=emulator.base_url, headers=headers, timeout=10) as client:
                while time.monotonic() < deadline:
                    with lock:
                        if remaining[0] <= 0:
                            return
                        remaining[0] -= 1
                    started = time.perf_counter()
                    response = client.get(path)
                    elapsed = time.perf_counter() - started
                    with lock:
                        latencies.append(elapsed)
                        errors += response.status_code != 200

        threads = [threading.Thread(target=worker) for _ in range(clients)]
        started = time.perf_counter()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        wall = time.perf_counter() - started

    latencies.sort()
    done = len(latencies)
    p50 = statistics.median(latencies) * 1000
    p95 = latencies[min(done - 1, int(done * 0.95))] * 1000
    print(f"emulator throughput: {done} x GET /v1/app/{{id}} with {clients} clients in {wall:.2f} s")
    print(f"  {done / wall:.0f} requests/s, p50 {p50:.2f} ms, p95 {p95:.2f} ms, errors {errors}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--max-seconds", type=float, default=30.0)
    args = parser.parse_args()
    run(args.requests, args.clients, args.max_seconds)


if __name__ == "__main__":
    main()
