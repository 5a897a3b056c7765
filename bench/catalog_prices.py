"""What pricing from the public catalog costs at preview: parse, cold fetch, cached load, fallback.

    .venv/bin/python -m bench.catalog_prices [--runs 20] [--catalog FILE]

Starts its own emulator (real `python -m emulator` over loopback) and times, median of `--runs`:
- parse: `pricing.parse_catalog` of the emulator's catalog body (or of `--catalog FILE`, e.g. a
  saved live `GET /1.0/order/catalog/public/cloud?ovhSubsidiary=FR` answer);
- cold: `price_catalog.load_prices` with an empty cache (request + parse + cache write);
- cached: `load_prices` with a fresh cached copy (no request);
- unreachable: `load_prices` against a closed loopback port (connection refused -> built-in);
and prints the sizes of the catalog body and of the trimmed cached copy.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from components import price_catalog, pricing
from emulator.runner import start_emulator


def _median_ms(fn: Callable[[], Any], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def _closed_port() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{sock.getsockname()[1]}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.catalog_prices", description=__doc__)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--catalog", type=Path, help="a saved catalog body to time the parse on")
    args = parser.parse_args(argv)
    with start_emulator() as emu, tempfile.TemporaryDirectory() as tmp:
        url = pricing.catalog_url("FR", override=emu.base_url)
        body = json.loads(args.catalog.read_text()) if args.catalog else httpx.get(url).json()
        now = datetime.now(UTC)
        parse = _median_ms(lambda: pricing.parse_catalog(body, sub="FR", fetched_at=now), args.runs)

        def cold() -> None:
            with tempfile.TemporaryDirectory() as empty:
                price_catalog.load_prices("FR", url=url, directory=Path(empty))

        cold_ms = _median_ms(cold, args.runs)
        warm_dir = Path(tmp)
        price_catalog.load_prices("FR", url=url, directory=warm_dir)
        cached_ms = _median_ms(
            lambda: price_catalog.load_prices("FR", url=url, directory=warm_dir), args.runs)
        dead = pricing.catalog_url("FR", override=_closed_port())
        fallback_ms = _median_ms(
            lambda: price_catalog.load_prices("FR", url=dead, directory=warm_dir), args.runs)
        body_kib = len(json.dumps(body)) / 1024
        cache_kib = price_catalog.cache_file("FR", warm_dir).stat().st_size / 1024
    origin = f" from {args.catalog}" if args.catalog else ""
    print(f"parse        {parse:8.3f} ms  ({body_kib:.1f} KiB body{origin})")
    print(f"cold fetch   {cold_ms:8.3f} ms  (request + parse + cache write, emulator on loopback)")
    print(f"cached       {cached_ms:8.3f} ms  (fresh copy, no request; {cache_kib:.1f} KiB on disk)")
    print(f"unreachable  {fallback_ms:8.3f} ms  (closed port -> built-in estimates)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
