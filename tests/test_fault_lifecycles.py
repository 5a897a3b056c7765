"""Randomized lifecycles of apps and tokens through the real provider process, under faults.

Each operation (create, read, update, delete, as the engine sends them over gRPC) runs with one or
two faults scripted between the provider and the emulator: 429, 5xx before and after the server
acted, delays, connections dropped before and after. An operation that fails is sent once more,
as a retried `pulumi up` would. At the end the test counts what a real API bill would show:
objects the state does not know (orphaned), second objects of one resource (duplicated), objects
of the state that are gone or tokens whose value does not work (lost), and secrets in any output,
error or log line (leaked). All must be zero. The seed is FAULT_SEED (printed on failure).
"""

from __future__ import annotations

import os
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import grpc
import httpx
import pytest

from components.resources import AiAppProvider, AiTokenProvider
from components.resources.spec_diff import DEPLOYMENT_LABEL
from components.resources.token import api_name
from emulator.runner import RunningEmulator
from tests.provider_harness import EmulatorControl, ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "faults-admin-token-7c1d93ab52"
HF = "hf_faultsSecretValue_0123456789"
SEED = int(os.environ.get("FAULT_SEED", "20250917"))
APP_LIFECYCLES, TOKEN_LIFECYCLES = 2, 8  # about 14 s per app lifecycle, 1 s per token one
T = TypeVar("T")

FAULTS: list[dict[str, Any]] = [
    {"status": 429, "retryAfter": 0.1},
    {"status": 503},
    {"status": 500},
    {"status": 502, "after": True},
    {"status": 504, "after": True},
    {"status": 500, "after": True},
    {"delaySeconds": 0.3},
    {"drop": True},
    {"drop": True, "before": True},
]


@pytest.fixture(scope="module")
def admin_token() -> str:
    return ADMIN


@pytest.fixture(scope="module")
def proc(emu: RunningEmulator) -> Iterator[ProviderProcess]:
    with ProviderProcess.start(env={"OVHAI_ENDPOINT": "", "OVHAI_TOKEN": ""}) as process:
        process.configure({"ovhai:endpoint": emu.base_url, "ovhai:token": Secret(ADMIN)})
        yield process


@dataclass
class Tally:
    """What the run did and found; the figures are printed (pytest -s) and asserted."""

    operations: int = 0
    faults: int = 0
    retried: int = 0
    orphaned: list[str] = field(default_factory=list)
    duplicated: list[str] = field(default_factory=list)
    lost: list[str] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    seen: list[Any] = field(default_factory=list)


class Run:
    def __init__(self, proc: ProviderProcess, emu: RunningEmulator, control: EmulatorControl) -> None:
        self.proc, self.emu, self.control = proc, emu, control
        self.rng = random.Random(SEED)
        self.tally = Tally()
        self.run = uuid.uuid4().hex[:8]
        self.values: list[str] = []  # minted token values: in outputs by design, never in a log

    def admin(self, path: str) -> httpx.Response:
        return httpx.get(self.emu.base_url + path, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)

    def op(self, call: Callable[[], T]) -> T:
        """One engine operation with one or two random faults before it; sent again if it fails."""
        self.tally.operations += 1
        faults = self.rng.sample(FAULTS, self.rng.choice((1, 2)))
        self.tally.faults += len(faults)
        self.control.faults(faults, path_prefix="/v1/")
        try:
            result = call()
        except grpc.RpcError as error:
            self.tally.seen.append(error.details())
            self.tally.retried += 1
            result = call()
        finally:
            self.control.clear_faults()
        self.tally.seen.append(result)
        return result

    # -- apps ------------------------------------------------------------------------------
    def app_props(self, key: str, env: str) -> dict[str, Any]:
        return {
            "spec": {
                "name": f"faults-{key}",
                "image": "vllm/vllm-openai:latest",
                "defaultHttpPort": 8000,
                "labels": {"faults/run": self.run, "emulator/startup-seconds": "0.3"},
                "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
                "envVars": [{"name": "STEP", "value": env}],
            },
            "secretEnv": {"HF_TOKEN": HF},
            "readiness": {"path": "/health", "timeoutSeconds": 60},
            "deploymentKey": key,
        }

    def live_apps(self, key: str) -> list[dict[str, Any]]:
        body = self.admin(f"/v1/app?labelSelector={DEPLOYMENT_LABEL}={key}").json()
        return [a for a in body["items"] if a["status"]["state"] not in ("DELETING", "DELETED")]

    def app_lifecycle(self, blob: str, index: int) -> None:
        name, key = f"app{index}", f"f{self.run}{index}"
        inputs, _ = self.proc.check(name, with_provider(self.app_props(key, "1"), blob))
        id_, outs = self.op(lambda: self.proc.create(name, inputs))
        self.expect_one_app(key, id_)
        _, outs, _ = self.op(lambda: self.proc.read(name, id_, outs, inputs))
        news, _ = self.proc.check(name, with_provider(self.app_props(key, "2"), blob), inputs)
        outs = self.op(lambda: self.proc.update(name, id_, outs, news))
        self.expect_one_app(key, id_)
        env = {e["name"]: e["value"] for e in self.live_apps(key)[0]["spec"]["envVars"]}
        if env.get("STEP") != "2" or env.get("HF_TOKEN") != HF:
            self.tally.lost.append(f"{name}: update not applied ({env.get('STEP')})")
        self.op(lambda: self.proc.delete(name, id_, outs))
        self.wait_gone(key, name)

    def expect_one_app(self, key: str, id_: str) -> None:
        ids = [a["id"] for a in self.live_apps(key)]
        if len(ids) > 1:
            self.tally.duplicated.extend(ids)
        if id_ not in ids:
            self.tally.lost.append(id_)

    def wait_gone(self, key: str, name: str) -> None:
        deadline = time.monotonic() + 10
        while self.live_apps(key) and time.monotonic() < deadline:
            time.sleep(0.1)
        self.tally.orphaned.extend(f"{name}: app {a['id']}" for a in self.live_apps(key))

    # -- tokens ----------------------------------------------------------------------------
    def tagged(self, wire_name: str) -> list[dict[str, Any]]:
        return [t for t in self.admin("/v1/token").json()["items"] if t["spec"]["name"] == wire_name]

    def works(self, value: str) -> bool:
        answer = httpx.get(
            self.emu.base_url + "/v1/me", headers={"Authorization": f"Bearer {value}"}, timeout=10
        )
        return answer.status_code == 200

    def token_lifecycle(self, blob: str, index: int) -> None:
        # Pairs alike in name, role and selector: only their keys differ (as the component makes).
        name, key = f"token{index}", f"{self.run}/token{index}"
        props = {"name": f"twin{index // 2}", "role": "read", "labelSelector": f"faults/run={self.run}"}
        inputs, _ = self.proc.check(name, with_provider({**props, "tokenKey": key, "rotation": "1"}, blob))
        wire = api_name(props["name"], key)
        id_, outs = self.op(lambda: self.proc.create(name, inputs))
        self.expect_one_token(wire, id_, outs["value"])
        _, outs, _ = self.op(lambda: self.proc.read(name, id_, outs, inputs))
        news = {**inputs, "rotation": "2"}
        outs = self.op(lambda: self.proc.update(name, id_, outs, news))
        self.expect_one_token(wire, id_, outs["value"])
        self.op(lambda: self.proc.delete(name, id_, outs))
        self.tally.orphaned.extend(f"{name}: token {t['id']}" for t in self.tagged(wire))

    def expect_one_token(self, wire: str, id_: str, value: str) -> None:
        self.values.append(value)
        ids = [t["id"] for t in self.tagged(wire)]
        if len(ids) > 1:
            self.tally.duplicated.extend(ids)
        if id_ not in ids or not self.works(value):
            self.tally.lost.append(f"token {id_}")

    def leaks(self, values: list[str]) -> list[str]:
        stderr = self.proc.stderr()
        found = [f"stderr has {v[:6]}..." for v in [*values, *self.values] if v in stderr]
        for answer in self.tally.seen:
            found.extend(f"an answer has {v[:6]}..." for v in values if v in repr(answer))
        return found


def test_randomized_lifecycles_under_faults_leave_nothing_behind(
    proc: ProviderProcess, emu: RunningEmulator, control: EmulatorControl
) -> None:
    run = Run(proc, emu, control)
    started = time.monotonic()
    app_blob, token_blob = provider_blob(AiAppProvider()), provider_blob(AiTokenProvider())
    for index in range(APP_LIFECYCLES):
        run.app_lifecycle(app_blob, index)
    for index in range(TOKEN_LIFECYCLES):
        run.token_lifecycle(token_blob, index)
    tally = run.tally
    # Minted token values appear in outputs by design; the secrets no output or log may show:
    tally.leaked = run.leaks([ADMIN, HF])
    elapsed = time.monotonic() - started
    print(
        f"\nfault lifecycles (seed {SEED}): {APP_LIFECYCLES} apps + {TOKEN_LIFECYCLES} tokens, "
        f"{tally.operations} operations, {tally.faults} faults, {tally.retried} operations sent again, "
        f"orphaned {len(tally.orphaned)}, duplicated {len(tally.duplicated)}, lost {len(tally.lost)}, "
        f"leaked {len(tally.leaked)}, {elapsed:.1f} s"
    )
    assert (tally.orphaned, tally.duplicated, tally.lost, tally.leaked) == ([], [], [], []), (SEED, tally)
    assert elapsed < 60
