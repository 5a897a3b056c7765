"""Cost of an AiDatastoreAlias through its provider: create, a key rotation (update), delete.

Run: `python -m bench.datastore_alias` (one emulator on a free port, public door signed; `--n N`,
default 30). Each operation runs in-process through `AiDatastoreAliasProvider` as the provider
process would (one client per operation: the signature's `/auth/time` offset is fetched once per
process and shared), and the API requests each operation sent (counted at `OvhAiClient.request`:
the emulator's request counter covers the forwarded AI routes only, not the alias routes): a create
is a GET (is the alias free?) and a POST; an update a PUT; a delete a GET (still ours?) and a
DELETE. Figures are the emulator on loopback: our client, the signature and the emulator's checks,
not OVHcloud's latency.
"""

from __future__ import annotations

import argparse
import statistics
import time
from typing import Any

from pulumi.dynamic import Config, ConfigureRequest

from components.ovhai import OvhAiClient
from components.resources import AiDatastoreAliasProvider
from emulator.runner import start_emulator

ADMIN = "bench-alias-admin"
AK, AS, CK = "bench-ak", "bench-as", "bench-ck"
SERVICE = "bench-project"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=30)
    n = parser.parse_args().n
    args = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--service-name", SERVICE]
    with start_emulator(admin_token=ADMIN, extra_args=args) as emu:
        sent: list[str] = []
        original = OvhAiClient.request

        def counting(self: OvhAiClient, method: str, path: str, **kwargs: Any) -> Any:
            sent.append(method)
            return original(self, method, path, **kwargs)

        OvhAiClient.request = counting  # type: ignore[method-assign]
        provider = AiDatastoreAliasProvider()
        raw = {"ovh:endpoint": emu.base_url + "/1.0", "ovh:applicationKey": AK, "ovh:applicationSecret": AS,
               "ovh:consumerKey": CK, "vllm-ai-deploy:serviceName": SERVICE}  # fmt: skip
        provider.configure(ConfigureRequest(Config(raw_config=raw, project_name="bench")))
        times: dict[str, list[float]] = {"create": [], "update": [], "delete": []}
        counts: dict[str, str] = {}

        def record(name: str, start: float) -> None:
            times[name].append((time.perf_counter() - start) * 1000)
            counts[name] = " ".join(sent)
            sent.clear()

        for i in range(n):
            props: dict[str, Any] = {
                "alias": f"bench{i}", "region": "GRA", "endpoint": "https://s3.gra.io.cloud.ovh.net",
                "owner": "customer", "type": "s3",
                "credentials": {"accessKey": "ak", "secretKey": "sk-1", "region": "gra"},
            }  # fmt: skip
            rotated = {**props, "credentials": {**props["credentials"], "secretKey": "sk-2"}}
            sent.clear()
            start = time.perf_counter()
            created = provider.create(props)
            record("create", start)
            start = time.perf_counter()
            provider.update(str(created.id), dict(created.outs or {}), rotated)
            record("update", start)
            start = time.perf_counter()
            provider.delete(str(created.id), rotated)
            record("delete", start)
        print(f"AiDatastoreAlias through the public door (signed), emulator on loopback, n={n}")
        print(f"{'operation':<10}{'median ms':>10}{'p95 ms':>9}  API requests")
        for name, values in times.items():
            ordered = sorted(values)
            p95 = ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))]
            print(f"{name:<10}{statistics.median(values):>10.2f}{p95:>9.2f}  {counts[name]}")


if __name__ == "__main__":
    main()
