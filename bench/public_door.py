"""Cost of the public API door against the regional one: per call, and per provider operation.

Run: `python -m bench.public_door` (one emulator on a free port; `--calls N`, default 300).

For each door (regional AI token; public signed AK/AS/CK; public OAuth2), times N `GET app/{id}`
through `OvhAiClient` on one keep-alive connection (median and p95 per call), then the first call
of a fresh client as a provider operation opens it (the signature's `/auth/time` and the OAuth2
token are fetched once per process and shared, so a second operation pays neither); then one
AiApp create per door, in-process (its time and the API requests the emulator counted: on the
public door the readiness probe's own read token adds a create and a delete). Figures are
the emulator on loopback: they measure our client and the emulator's checks, not OVHcloud.
"""

from __future__ import annotations

import argparse
import statistics
import time
import uuid
from collections.abc import Callable

from pulumi.dynamic import Config, ConfigureRequest

from components.ovhai import OvhAiClient, ovh_auth
from components.resources import AiAppProvider
from components.resources.credentials import resolve
from components.resources.provider_base import open_client
from emulator.runner import start_emulator
from tests.provider_harness import EmulatorControl

ADMIN = "bench-public-admin"
AK, AS, CK = "bench-ak", "bench-as", "bench-ck"
CID, CSECRET = "bench-id", "bench-secret"
SERVICE = "bench-project"


def timed(call: Callable[[], object], n: int) -> list[float]:
    out = []
    for _ in range(n):
        start = time.perf_counter()
        call()
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=300)
    args = parser.parse_args()
    extra = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--ovh-oauth2", f"{CID}:{CSECRET}",
             "--service-name", SERVICE]  # fmt: skip
    with start_emulator(admin_token=ADMIN, extra_args=extra) as emu:
        public = {"ovh:endpoint": emu.base_url + "/1.0", "vllm-ai-deploy:serviceName": SERVICE,
                  "ovhai:region": "gra"}  # fmt: skip
        signed = {**public, "ovh:applicationKey": AK, "ovh:applicationSecret": AS, "ovh:consumerKey": CK}
        oauth = {**public, "ovh:clientId": CID, "ovh:clientSecret": CSECRET}
        doors: dict[str, Callable[[], OvhAiClient]] = {
            "regional (AI token)": lambda: OvhAiClient(emu.base_url, ADMIN),
            "public, signed": lambda: open_client(resolve(signed, environ={})),
            "public, OAuth2": lambda: open_client(resolve(oauth, environ={})),
        }
        spec = {"name": "bench", "image": "img", "resources": {"flavor": "ai1-1-cpu", "cpu": 1}}
        with OvhAiClient(emu.base_url, ADMIN) as admin:
            app = admin.create_app(spec)
        head = ("door", "median ms", "p95 ms", "first call, cold ms", "first call, warm ms")
        print(f"{head[0]:22} {head[1]:>10} {head[2]:>8} {head[3]:>20} {head[4]:>20}")
        for name, make in doors.items():
            ovh_auth._DELTAS.clear()
            ovh_auth._TOKENS.clear()
            with make() as client:
                cold = timed(lambda c=client: c.get_app(app.id), 1)[0]  # type: ignore[misc]
            with make() as client:
                warm = timed(lambda c=client: c.get_app(app.id), 1)[0]  # type: ignore[misc]
                samples = timed(lambda c=client: c.get_app(app.id), args.calls)  # type: ignore[misc]
            p95 = statistics.quantiles(samples, n=20)[-1]
            print(f"{name:22} {statistics.median(samples):10.2f} {p95:8.2f} {cold:20.2f} {warm:20.2f}")

        # One AiApp create (CPU app, readiness /health) per door: time and API requests.
        control = EmulatorControl(emu.base_url, ADMIN)
        configs = {"regional (AI token)": {"ovhai:endpoint": emu.base_url, "ovhai:token": ADMIN},
                   "public, signed": signed, "public, OAuth2": oauth}  # fmt: skip
        print(f"\n{'AiApp create':22} {'seconds':>8} {'requests':>9}  by route")
        for name, config in configs.items():
            provider = AiAppProvider()
            provider.configure(ConfigureRequest(Config(config, "bench")))
            checked = provider.check({}, {
                "spec": {"name": f"bench-{uuid.uuid4().hex[:6]}", "image": "vllm/vllm-openai:latest",
                         "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "defaultHttpPort": 8000},
                "readiness": {"path": "/health", "timeoutSeconds": 60},
                "deploymentKey": uuid.uuid4().hex[:10],
            })  # fmt: skip
            control.reset_requests()
            started = time.monotonic()
            provider.create(checked.inputs)
            elapsed = time.monotonic() - started
            counts = control.requests()
            routes = ", ".join(f"{k} x{v}" for k, v in sorted(counts["byRoute"].items()))
            print(f"{name:22} {elapsed:8.2f} {counts['count']:9d}  {routes}")


if __name__ == "__main__":
    main()
