"""The providers in-process against the emulator over loopback: every path, failures included."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from pulumi.dynamic import CheckResult, Config, ConfigureRequest, DiffResult

from components.resources import (
    AiAppProvider,
    AiTokenProvider,
    AppFailed,
    MissingCredentials,
    ProviderError,
    TokenError,
)
from components.resources.fingerprint import fingerprint
from components.resources.readiness import WaitPolicy
from components.resources.spec_diff import DEPLOYMENT_LABEL
from components.resources.token import api_name
from emulator.runner import RunningEmulator
from tests.provider_harness import EmulatorControl

ADMIN = "inproc-admin-token-83c1d0a2"
HF = "hf_inProcessSecret_abcdef123456"


@pytest.fixture(scope="module")
def admin_token() -> str:
    """This module's emulator (`emu`, `control` in conftest) runs with ADMIN."""
    return ADMIN


@pytest.fixture(autouse=True)
def _no_faults_left(control: EmulatorControl) -> Iterator[None]:
    yield
    control.clear_faults()


@dataclass
class Result:
    id: str
    outs: dict[str, Any]


class Driver:
    """A provider with the engine's Optional results narrowed (what the process would send back)."""

    def __init__(self, provider: AiAppProvider | AiTokenProvider) -> None:
        self.provider = provider

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        return self.provider.check(olds, news)

    def diff(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        return self.provider.diff(id_, olds, news)

    def create(self, inputs: dict[str, Any]) -> Result:
        result = self.provider.create(inputs)
        assert result.outs is not None
        return Result(result.id, result.outs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> Result:
        result = self.provider.update(id_, olds, news)
        assert result.outs is not None
        return Result(id_, result.outs)

    def read(self, id_: str, props: dict[str, Any]) -> Result:
        result = self.provider.read(id_, props)
        return Result(result.id or "", result.outs or {})

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        self.provider.delete(id_, props)


def configured(cls: type[AiAppProvider] | type[AiTokenProvider], endpoint: str, token: str = ADMIN) -> Driver:
    provider = cls()
    provider.configure(ConfigureRequest(Config({"ovhai:endpoint": endpoint, "ovhai:token": token}, "p")))
    return Driver(provider)


@pytest.fixture
def provider(emu: RunningEmulator) -> Driver:
    return configured(AiAppProvider, emu.base_url)


def props(key: str | None = None, **spec: Any) -> dict[str, Any]:
    key = key or "k" + uuid.uuid4().hex[:10]
    base = {
        "name": f"app-{key}",
        "image": "vllm/vllm-openai:latest",
        "defaultHttpPort": 8000.0,
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1.0},
        "labels": {"team": "ml"},
        "envVars": [{"name": "HF_HOME", "value": "/hub"}],
    }
    news = {
        "spec": {**base, **spec},
        "secretEnv": {"HF_TOKEN": HF},
        "readiness": {"path": "/health", "timeoutSeconds": 30.0},
        "deploymentKey": key,
    }
    return news


def checked(provider: Driver, news: dict[str, Any]) -> dict[str, Any]:
    result = provider.check({}, news)
    assert [(f.property, f.reason) for f in result.failures] == []
    inputs: dict[str, Any] = result.inputs
    return inputs


def labelled(control: EmulatorControl, inputs: dict[str, Any]) -> list[dict[str, Any]]:
    return control.apps(f"{DEPLOYMENT_LABEL}={inputs['deploymentKey']}")


def test_update_paths_and_drift(provider: Driver, control: EmulatorControl) -> None:
    inputs = checked(provider, props())
    created = provider.create(inputs)
    outs = created.outs
    assert outs["state"] == "RUNNING" and outs["createdAt"].endswith("Z")

    # Labels, scaling, a secret env value and the command, all in one update.
    news = checked(
        provider,
        {
            **inputs,
            "spec": {
                **inputs["spec"],
                "labels": {"team": "research"},
                "scalingStrategy": {"fixed": {"replicas": 2}},
                "command": ["bash", "-c", "serve"],
            },
            "secretEnv": {"HF_TOKEN": HF + "-rotated"},
        },
    )
    diff = provider.diff(created.id, outs, news)
    assert diff.changes and diff.replaces == []
    updated = provider.update(created.id, outs, news).outs
    assert updated["state"] == "RUNNING" and updated["availableReplicas"] == 2
    assert updated["fingerprintKey"] == outs["fingerprintKey"]
    assert updated["secretEnv"]["HF_TOKEN"] == fingerprint(
        outs["fingerprintKey"], "HF_TOKEN", HF + "-rotated"
    )
    live = labelled(control, inputs)[0]["spec"]
    assert live["labels"]["team"] == "research" and live["command"] == ["bash", "-c", "serve"]
    assert {"name": "HF_TOKEN", "value": HF + "-rotated"} in live["envVars"]
    assert not provider.diff(created.id, updated, news).changes

    # Out-of-band changes show up on refresh, and the next update brings the app back.
    control._call("PUT", f"/v1/app/{created.id}/image", json={"url": "someone/else:1"})
    control.stop_app(created.id)
    refreshed = provider.read(created.id, updated).outs
    assert refreshed["spec"]["image"] == "someone/else:1"
    assert refreshed["state"] in ("STOPPING", "STOPPED")
    diff = provider.diff(created.id, refreshed, news)
    assert diff.changes and diff.replaces == []
    time.sleep(1.0)  # let the stop finish (fast timings)
    refreshed = provider.read(created.id, updated).outs
    healed = provider.update(created.id, refreshed, news).outs
    assert healed["state"] == "RUNNING" and healed["spec"]["image"] == "vllm/vllm-openai:latest"
    provider.delete(created.id, healed)
    assert labelled(control, inputs) == []


def test_create_adopts_an_app_left_by_an_interrupted_run(provider: Driver, control: EmulatorControl) -> None:
    inputs = checked(provider, props())
    first = provider.create(inputs)
    # The next attempt (state lost, e.g. an interrupted `pulumi up`) asks for a newer image.
    newer = checked(provider, {**inputs, "spec": {**inputs["spec"], "image": "vllm/vllm-openai:v2"}})
    second = provider.create(newer)
    assert second.id == first.id and len(labelled(control, inputs)) == 1
    assert labelled(control, inputs)[0]["spec"]["image"] == "vllm/vllm-openai:v2"
    # A read with no prior state (`pulumi import`) recovers the spec and the deployment key.
    imported = provider.read(second.id, {}).outs
    assert imported["deploymentKey"] == inputs["deploymentKey"]
    assert imported["spec"]["image"] == "vllm/vllm-openai:v2" and "ovh/id" not in imported["spec"]["labels"]
    provider.delete(second.id, second.outs)


def test_failing_image_reports_state_info_and_logs_then_deletes(
    provider: Driver, control: EmulatorControl
) -> None:
    inputs = checked(provider, props(image="vllm/vllm-openai:emulator-fail"))
    with pytest.raises(AppFailed) as caught:
        provider.create(inputs)
    message = str(caught.value)
    assert "ended FAILED" in message and "CUDA out of memory" in message and "was deleted" in message
    assert "  | " in message  # the log tail
    assert HF not in message and ADMIN not in message
    assert labelled(control, inputs) == []


def test_keep_failed_apps_keeps_it_and_a_fixed_retry_replaces_it(
    provider: Driver, control: EmulatorControl
) -> None:
    inputs = checked(provider, {**props(image="x/emulator-fail:1"), "keepFailedApps": True})
    with pytest.raises(AppFailed, match="kept for inspection"):
        provider.create(inputs)
    kept = labelled(control, inputs)
    assert len(kept) == 1 and kept[0]["status"]["state"] == "FAILED"
    fixed = checked(provider, {**inputs, "spec": {**inputs["spec"], "image": "vllm/vllm-openai:latest"}})
    created = provider.create(fixed)
    assert created.id != kept[0]["id"] and [a["id"] for a in labelled(control, inputs)] == [created.id]
    provider.delete(created.id, created.outs)


def test_readiness_timeout_fails_and_cleans_up(provider: Driver, control: EmulatorControl) -> None:
    news = props(image="vllm/vllm-openai:emulator-never-ready")
    news["readiness"] = {"path": "/health", "timeoutSeconds": 4.0}
    inputs = checked(provider, news)
    with pytest.raises(AppFailed) as caught:
        provider.create(inputs)
    message = str(caught.value)
    assert "readiness.timeoutSeconds=4" in message and "state RUNNING" in message and "HTTP 503" in message
    assert labelled(control, inputs) == []


def test_failed_update_keeps_the_app_and_says_why(provider: Driver, control: EmulatorControl) -> None:
    inputs = checked(provider, props())
    created = provider.create(inputs)
    broken = checked(provider, {**inputs, "spec": {**inputs["spec"], "image": "v/emulator-fail:2"}})
    with pytest.raises(AppFailed, match="ended FAILED"):
        provider.update(created.id, created.outs, broken)
    assert len(labelled(control, inputs)) == 1  # in the state: the next up or destroy handles it
    provider.delete(created.id, created.outs)


def test_bad_token_is_a_clear_401(emu: RunningEmulator) -> None:
    provider = configured(AiAppProvider, emu.base_url, token="wrong-token-1234")
    with pytest.raises(ProviderError) as caught:
        provider.create(checked(provider, props()))
    message = str(caught.value)
    assert "401" in message and "ovhai:token" in message and "wrong-token-1234" not in message


def test_over_quota_is_a_clear_402(provider: Driver, control: EmulatorControl) -> None:
    inputs = checked(
        provider,
        props(resources={"flavor": "l40s-1-gpu", "gpu": 4}, scalingStrategy={"fixed": {"replicas": 2}}),
    )
    with pytest.raises(ProviderError) as caught:
        provider.create(inputs)
    assert "402" in str(caught.value) and "GPU quota" in str(caught.value)
    assert labelled(control, inputs) == []


def test_conflict_is_reported_with_a_hint(provider: Driver, control: EmulatorControl) -> None:
    inputs = checked(provider, props())
    created = provider.create(inputs)
    news = checked(provider, {**inputs, "spec": {**inputs["spec"], "command": ["true"]}})
    control.faults([{"status": 409, "message": "app is busy"}], method="PUT")
    with pytest.raises(ProviderError) as caught:
        provider.update(created.id, created.outs, news)
    assert "409" in str(caught.value) and "retry once it is RUNNING" in str(caught.value)
    provider.delete(created.id, created.outs)


def test_rate_limits_and_server_errors_are_ridden_out(
    provider: Driver, control: EmulatorControl, capsys: pytest.CaptureFixture[str]
) -> None:
    inputs = checked(provider, props())
    control.faults(
        [
            {"status": 429, "retryAfter": 0.2},
            {"status": 503},
            {"status": 502},
            {"status": 429, "retryAfter": 0.1},
        ],
        method="GET",
        path_prefix="/v1/app",
    )
    created = provider.create(inputs)
    assert created.outs["state"] == "RUNNING"
    # Each retry is said on stderr with the resource's name, so a slow `pulumi up` explains itself.
    retries = [line for line in capsys.readouterr().err.splitlines() if "retrying in" in line]
    assert len(retries) == 4
    assert all(line.startswith(f"{inputs['spec']['name']}: retrying in") for line in retries)
    assert "429" in retries[0] and "503" in retries[1]
    control.faults(
        [{"status": 500}], method="POST", path_prefix="/v1/app"
    )  # a 5xx on create: look, then retry
    again = checked(provider, props())
    second = provider.create(again)
    assert len(labelled(control, again)) == 1
    for result in (created, second):
        provider.delete(result.id, result.outs)


def test_delete_of_a_gone_app_succeeds(provider: Driver) -> None:
    provider.delete("00000000-0000-0000-0000-000000000000", props())
    assert provider.read("00000000-0000-0000-0000-000000000000", props()).id == ""


def test_missing_credentials_name_both_ways(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OVHAI_ENDPOINT", raising=False)
    monkeypatch.delenv("OVHAI_TOKEN", raising=False)
    provider = AiAppProvider()
    provider.configure(ConfigureRequest(Config({}, "p")))
    assert provider.check({}, props()).failures == []  # check needs no credentials
    with pytest.raises(MissingCredentials, match="OVHAI_TOKEN"):
        provider.create(props())


def test_default_policy_keeps_api_calls_few(provider: Driver, control: EmulatorControl) -> None:
    assert isinstance(provider.provider, AiAppProvider) and provider.provider.policy == WaitPolicy()
    inputs = checked(provider, props())
    control.reset_requests()
    created = provider.create(inputs)
    counts = control.requests()
    assert counts["count"] <= 4, counts  # lookup, POST, a confirming GET (and maybe one poll)
    provider.delete(created.id, created.outs)


def test_token_paths(emu: RunningEmulator) -> None:
    tokens = configured(AiTokenProvider, emu.base_url)
    inputs = tokens.check({}, {"name": "reader", "role": "read", "labelSelector": "team=ml"}).inputs
    created = tokens.create(inputs)
    assert created.outs["value"] and created.outs["version"] == 1
    same = tokens.update(created.id, created.outs, {**inputs})
    assert same.outs["value"] == created.outs["value"]  # no rotation change: nothing renewed
    renewed = tokens.update(created.id, created.outs, {**inputs, "rotation": "2026-01"})
    assert renewed.outs["value"] != created.outs["value"] and renewed.outs["version"] == 2
    tokens.delete(created.id, renewed.outs)
    tokens.delete(created.id, renewed.outs)  # twice: 404 is success
    assert tokens.read(created.id, renewed.outs).id == ""
    bad = configured(AiTokenProvider, emu.base_url, token="nope-nope-nope")
    with pytest.raises(TokenError, match="401"):
        bad.create(inputs)


def admin_tokens(emu: RunningEmulator) -> list[dict[str, Any]]:
    body = httpx.get(emu.base_url + "/v1/token", headers={"Authorization": f"Bearer {ADMIN}"}, timeout=10)
    items: list[dict[str, Any]] = body.json()["items"]
    return items


def works(emu: RunningEmulator, value: str) -> bool:
    me = httpx.get(emu.base_url + "/v1/me", headers={"Authorization": f"Bearer {value}"}, timeout=10)
    return me.status_code == 200


@pytest.mark.parametrize(
    "fault",
    [{"drop": True}, {"status": 504, "after": True}, {"status": 500, "after": True}],
    ids=["dropped", "504-after", "500-after"],
)
def test_token_create_whose_answer_was_lost_leaves_one_working_token(
    emu: RunningEmulator, control: EmulatorControl, fault: dict[str, Any]
) -> None:
    tokens = configured(AiTokenProvider, emu.base_url)
    key = f"stack/lost/{uuid.uuid4().hex[:8]}"
    news = {"name": "lost-answer", "role": "read", "labelSelector": "team=lost", "tokenKey": key}
    inputs = tokens.check({}, news).inputs
    wire = api_name("lost-answer", key)
    # The server makes the token, then the connection drops, or a gateway answers a 5xx instead.
    control.faults([fault], method="POST", path_prefix="/v1/token")
    created = tokens.create(inputs)
    named = [t for t in admin_tokens(emu) if t["spec"]["name"] == wire]
    assert [t["id"] for t in named] == [created.id]  # the lost create's token, adopted: no second one
    assert works(emu, created.outs["value"]) and created.outs["version"] == 2  # renewed to learn it
    assert (
        tokens.read(created.id, created.outs).outs["name"] == "lost-answer"
    )  # the tag stays out of the user's name
    tokens.delete(created.id, created.outs)


def test_twin_tokens_keep_working_whatever_answers_are_lost(
    emu: RunningEmulator, control: EmulatorControl
) -> None:
    # Two resources alike in name, role and selector (as the component can make): only their keys differ.
    tokens = configured(AiTokenProvider, emu.base_url)
    run = uuid.uuid4().hex[:8]
    twins = [
        tokens.check(
            {}, {"name": "twin", "role": "read", "labelSelector": "team=twin", "tokenKey": f"{run}/{i}"}
        ).inputs
        for i in (1, 2)
    ]
    first = tokens.create(twins[0])
    control.faults([{"drop": True}], method="POST", path_prefix="/v1/token")
    control.faults([{"status": 503}], method="GET", path_prefix="/v1/token")
    second = tokens.create(twins[1])  # its answer is lost; the cleanup must leave the first alone
    assert first.id != second.id
    assert works(emu, first.outs["value"]) and works(emu, second.outs["value"])
    again = tokens.create(twins[0])  # a retried create of the first adopts its own token
    assert again.id == first.id and works(emu, again.outs["value"]) and works(emu, second.outs["value"])
    for result in (again, second):
        tokens.delete(result.id, result.outs)


def test_api_giving_up_mid_wait_names_the_app_and_the_retry_adopts_it(
    provider: Driver, control: EmulatorControl
) -> None:
    inputs = checked(provider, props())
    control.faults([{"status": 400, "message": "boom"}], method="GET", path_prefix="/v1/app/")
    with pytest.raises(ProviderError) as caught:
        provider.create(inputs)
    assert "boom" in str(caught.value) and "the next `pulumi up` adopts it" in str(caught.value)
    [orphan] = labelled(control, inputs)
    again = provider.create(inputs)
    assert again.id == orphan["id"] and len(labelled(control, inputs)) == 1
    provider.delete(again.id, again.outs)
