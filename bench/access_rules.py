"""Cost of consumer-key access rules: per signed call in the emulator, and the preview's rights check.

Run: `python -m bench.access_rules` (one emulator on a free port; `--calls N`, default 300).

1. N signed `GET app` through `OvhAiClient` on one keep-alive connection, for a key granted `/*`
   (4 rules), the product's 4 rules, and 64 rules of which only the last grants the call (the
   matcher's worst case at a realistic size): median and p95 per call.
2. The preview's check (`rights_check.check_consumer_key`: one signed `GET /auth/currentCredential`
   plus, cold, the `/auth/time` it needs), first in a fresh process state, then warm; and
   `rights.missing_rules` alone on the 64-rule list.
Figures are the emulator on loopback: our client, the emulator's checks and our matcher, not OVHcloud.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

from components.ovhai import ovh_auth, rights
from components.ovhai.rights_check import check_consumer_key
from components.resources.credentials import resolve
from components.resources.provider_base import open_client
from emulator.runner import start_emulator

ADMIN = "bench-rules-admin"
AK, AS = "bench-ak", "bench-as"
SERVICE = "bench-project"
KEYS = {"granted /* (4 rules)": "ck-all", "the product's 4 rules": "ck-ai",
        "64 rules, the last grants": "ck-64"}


def timed(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def many_rules() -> list[dict[str, str]]:
    rules = [{"method": "GET", "path": f"/cloud/project/{SERVICE}/other-{i}/*"} for i in range(63)]
    return [*rules, {"method": "GET", "path": "/cloud/project/*/ai/*"}]


def flag(ck: str, rules: list[dict[str, str]]) -> str:
    return f"{ck}=" + ",".join(f"{r['method']}:{r['path']}" for r in rules)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    extra = ["--service-name", SERVICE]
    for ck in KEYS.values():
        extra += ["--ovh-credentials", f"{AK}:{AS}:{ck}"]
    extra += ["--ovh-access-rules", flag("ck-ai", rights.needed_rules(SERVICE)),
              "--ovh-access-rules", flag("ck-64", many_rules())]  # fmt: skip
    with start_emulator(admin_token=ADMIN, extra_args=extra) as emu:
        base = emu.base_url + "/1.0"
        print(f"signed GET app, {args.calls} calls each (ms per call)")
        print("| consumer key | median | p95 |\n|---|---|---|")
        for label, ck in KEYS.items():
            config = {"ovh:endpoint": base, "vllm-ai-deploy:serviceName": SERVICE,
                      "ovhai:region": "gra", "ovh:applicationKey": AK, "ovh:applicationSecret": AS,
                      "ovh:consumerKey": ck}  # fmt: skip
            with open_client(resolve(config, environ={})) as client:
                client.list_apps()  # warm: connection and /auth/time
                times = sorted(timed(client.list_apps, args.calls))
            p95 = times[int(len(times) * 0.95) - 1]
            print(f"| {label} | {statistics.median(times):.2f} | {p95:.2f} |")

        ovh_auth._DELTAS.clear()  # a fresh provider process: no server time known yet
        started = time.perf_counter()
        cold = check_consumer_key(base, AK, AS, "ck-64", SERVICE)
        cold_ms = (time.perf_counter() - started) * 1000
        warm = sorted(timed(lambda: check_consumer_key(base, AK, AS, "ck-64", SERVICE), 50))
        assert cold.problem and not cold.warning  # 64 GET rules: POST/PUT/DELETE missing
        rules = many_rules()
        pure = sorted(timed(lambda: rights.missing_rules(rules, SERVICE), 200))
        print("\npreview rights check (GET /auth/currentCredential + missing_rules, ms)")
        print("| cold (+ /auth/time) | warm median | missing_rules alone, 64 rules |\n|---|---|---|")
        print(f"| {cold_ms:.2f} | {statistics.median(warm):.2f} | {statistics.median(pure):.3f} |")


if __name__ == "__main__":
    main()
