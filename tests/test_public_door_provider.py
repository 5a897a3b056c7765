"""Our client and the real dynamic provider through the public API door, over real loopback HTTP.

The emulator's public door is judged by OVHcloud's own library in tests/test_public_door.py; here
our side speaks to it: `OvhAiClient` with the `ovh_auth` signature and OAuth2 auths, and a real
`python -m pulumi.dynamic` process configured with the `ovh:*` keys of a stack (no AI token
anywhere), driven as the engine drives it. Bad input: both doors, half a door, the wrong door,
a consumer key without rights (403), a stale timestamp.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

from components.ovhai import Forbidden, InvalidRequest, OvhAiClient, Unauthorized
from components.ovhai.ovh_auth import OvhOAuth2Auth, OvhSignatureAuth, signature
from components.resources import AiAppProvider, AiTokenProvider
from components.resources.credentials import MissingCredentials, resolve
from components.resources.provider_base import open_client
from emulator.runner import RunningEmulator, start_emulator
from tests.provider_harness import EmulatorControl, ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "public-provider-admin-3b9d"
AK, AS, CK = "prov-ak", "prov-as-secret-51c2", "prov-ck-secret-8e0a"
RO_CK = "prov-ck-readonly-77f1"
CLIENT_ID, CLIENT_SECRET = "prov-svc", "prov-svc-secret-0d4f"
SERVICE = "fedcba9876543210fedcba9876543210"
SECRETS = (AS, CK, RO_CK, CLIENT_SECRET, ADMIN)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    args = [
        "--ovh-credentials", f"{AK}:{AS}:{CK}",
        "--ovh-credentials", f"{AK}:{AS}:{RO_CK}:GET",
        "--ovh-oauth2", f"{CLIENT_ID}:{CLIENT_SECRET}",
        "--service-name", SERVICE,
    ]  # fmt: skip
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


@pytest.fixture(scope="module")
def control(emu: RunningEmulator) -> EmulatorControl:
    return EmulatorControl(emu.base_url, ADMIN)


def signed_config(emu: RunningEmulator, consumer: str = CK) -> dict[str, Any]:
    return {
        "ovh:endpoint": emu.base_url + "/1.0",
        "ovh:applicationKey": AK,
        "ovh:applicationSecret": Secret(AS),
        "ovh:consumerKey": Secret(consumer),
        "vllm-ai-deploy:serviceName": SERVICE,
        "ovhai:region": "gra",
    }


def plain(config: dict[str, Any]) -> dict[str, Any]:
    return {k: v.value if isinstance(v, Secret) else v for k, v in config.items()}


def signed_client(emu: RunningEmulator, consumer: str = CK) -> OvhAiClient:
    return open_client(resolve(plain(signed_config(emu, consumer)), environ={}), max_retry_seconds=5)


def oauth_client(emu: RunningEmulator) -> OvhAiClient:
    config = {
        "ovh:endpoint": emu.base_url + "/1.0",
        "ovh:clientId": CLIENT_ID,
        "ovh:clientSecret": CLIENT_SECRET,
        "vllm-ai-deploy:serviceName": SERVICE,
        "ovhai:region": "gra",
    }
    return open_client(resolve(config, environ={}), max_retry_seconds=5)


def cpu_spec(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": "vllm/vllm-openai:latest",
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "labels": {"door": name},
        "defaultHttpPort": 8000,
    }


# ------------------------------------------------------------------------------ the signature


def test_signature_recipe() -> None:
    # python-ovh `raw_call`: sha1 of AS+CK+METHOD+URL+BODY+TIMESTAMP joined by '+', prefixed $1$.
    import hashlib

    text = "as+ck+GET+https://eu.api.ovh.com/1.0/me++1700000000"
    assert signature("as", "ck", "get", "https://eu.api.ovh.com/1.0/me", "", "1700000000") == (
        "$1$" + hashlib.sha1(text.encode()).hexdigest()
    )


# ------------------------------------------------------------------------------ our client


@pytest.mark.parametrize("make", [signed_client, oauth_client], ids=["signed", "oauth2"])
def test_apps_and_tokens_through_the_public_door(
    emu: RunningEmulator, control: EmulatorControl, make: Any
) -> None:
    name = f"pub-{uuid.uuid4().hex[:8]}"
    with make(emu) as client:
        assert client.public and "/cloud/project/" in client.path("app")
        hub = {"mountPath": "/hub", "permission": "RW", "cache": True,
               "volumeSource": {"dataStore": {"alias": "S3GRA", "container": "cache", "prefix": name}}}
        app = client.create_app({**cpu_spec(name), "volumes": [hub]})
        assert [a["id"] for a in control.apps(f"door={name}")] == [app.id]  # seen regionally
        running = client.wait_for_app(app.id, timeout=60, initial_interval=0.2)
        assert running.state == "RUNNING"
        assert [a.id for a in client.list_apps(label_selector=f"door={name}")] == [app.id]
        assert isinstance(client.get_app_logs(app.id), list)
        sync = client.datasync_app(app.id, "push")
        assert sync["spec"]["direction"] == "push"
        assert sync["id"] in {d["id"] for d in client.get_app_raw(app.id)["status"]["dataSync"]}
        token = client.create_token(f"t-{name}", "read", f"door={name}")
        assert token.value and token.id in {t.id for t in client.list_tokens()}
        assert client.renew_token(token.id).value != token.value
        client.delete_token(token.id)
        assert any(f.id == "l40s-1-gpu" for f in client.list_flavors())
        client.delete_app(app.id, force=True)
        client.wait_for_app_gone(app.id, timeout=30, initial_interval=0.2)


def test_datastore_aliases_through_our_client(emu: RunningEmulator) -> None:
    with signed_client(emu) as client:
        body = {
            "alias": "weights",
            "endpoint": "https://s3.gra.io.cloud.ovh.net",
            "owner": "customer",
            "type": "s3",
            "credentials": {"accessKey": "a", "secretKey": "s", "region": "gra"},
        }
        assert client.create_datastore_alias(body)["alias"] == "weights"
        assert [a["alias"] for a in client.list_datastore_aliases()] == ["weights"]
        assert client.get_datastore_alias("weights")["region"] == "GRA"
        client.delete_datastore_alias("weights")
        assert client.list_datastore_aliases() == []


def test_a_consumer_key_without_rights_gets_403_with_the_servers_message(emu: RunningEmulator) -> None:
    with signed_client(emu, RO_CK) as client:
        assert isinstance(client.list_apps(), list)  # GET is granted
        with pytest.raises(Forbidden, match="This call has not been granted") as caught:
            client.create_app(cpu_spec("refused"))
    assert caught.value.status == 403


def test_a_stale_timestamp_is_refused(emu: RunningEmulator) -> None:
    auth = OvhSignatureAuth(AK, AS, CK, emu.base_url + "/1.0", clock=lambda: time.time() - 7200)
    with OvhAiClient(emu.base_url + "/1.0", auth=auth, service_name=SERVICE, region="gra") as client:
        assert client.list_apps() is not None  # the delta to the server's time corrects the clock
        auth._delta = 0  # a client that forgets the server's time is two hours late
        with pytest.raises(InvalidRequest, match="Query out of time"):
            client.list_apps()


def test_a_wrong_secret_is_refused_and_never_shown(emu: RunningEmulator) -> None:
    auth = OvhSignatureAuth(AK, "wrong-secret-123", CK, emu.base_url + "/1.0")
    client = OvhAiClient(emu.base_url + "/1.0", auth=auth, service_name=SERVICE, region="gra")
    with client, pytest.raises(InvalidRequest, match="Invalid signature") as caught:
        client.list_apps()
    assert "wrong-secret-123" not in str(caught.value) and CK not in str(caught.value)


def test_oauth2_token_is_refetched_before_expiry(emu: RunningEmulator) -> None:
    now = [0.0]
    auth = OvhOAuth2Auth(CLIENT_ID, CLIENT_SECRET, emu.base_url + "/auth/oauth2/token", clock=lambda: now[0])
    with OvhAiClient(emu.base_url + "/1.0", auth=auth, service_name=SERVICE, region="gra") as client:
        client.list_apps()
        first = auth._token
        now[0] = 3600 - 30  # inside the refresh margin of a 3600 s token
        client.list_apps()
        assert auth._token != first


# ------------------------------------------------------------------------------ configuration


def test_both_doors_is_an_error_naming_the_keys() -> None:
    config = {"ovhai:token": "t", "ovh:applicationKey": "a", "ovh:applicationSecret": "s"}
    with pytest.raises(MissingCredentials, match=r"ovhai:token.*ovh:applicationKey, ovh:applicationSecret"):
        resolve(config, environ={})


def test_half_a_public_door_names_each_missing_key_and_its_command() -> None:
    with pytest.raises(MissingCredentials) as caught:
        resolve({"ovh:applicationKey": "a"}, environ={})
    message = str(caught.value)
    for command in (
        "pulumi config set --secret ovh:applicationSecret",
        "pulumi config set --secret ovh:consumerKey",
        "pulumi config set ovh:endpoint ovh-eu",
        "pulumi config set vllm-ai-deploy:serviceName",
        "pulumi config set ovhai:region gra",
    ):
        assert command in message


def test_credentials_of_the_wrong_door() -> None:
    config = {"ovhai:endpoint": "https://gra.ai.cloud.ovh.net", "ovh:clientId": "c", "ovh:clientSecret": "s",
              "ovh:endpoint": "ovh-eu", "vllm-ai-deploy:serviceName": "p", "ovhai:region": "gra"}  # fmt: skip
    with pytest.raises(MissingCredentials, match="ovhai:endpoint is the regional API's address"):
        resolve(config, environ={})
    with pytest.raises(MissingCredentials, match="both kinds"):
        resolve({"ovh:clientId": "c", "ovh:applicationKey": "a"}, environ={})
    with pytest.raises(MissingCredentials, match="unknown OVHcloud endpoint 'kimsufi"):
        resolve({**config, "ovhai:endpoint": None, "ovh:endpoint": "kimsufi-eu"}, environ={})


def test_the_stack_config_decides_the_door_not_an_ambient_environment() -> None:
    env = {"OVH_APPLICATION_KEY": "a", "OVH_APPLICATION_SECRET": "as-9f3e", "OVH_CONSUMER_KEY": "ck-41d0"}
    creds = resolve({"ovhai:token": "t", "ovhai:region": "gra"}, environ=env)
    assert creds.door == "regional"
    env.update(OVH_ENDPOINT="ovh-eu", OVH_CLOUD_PROJECT_SERVICE="p", OVHAI_REGION="gra")
    creds = resolve({}, environ=env)
    assert creds.door == "public" and creds.service_name == "p"
    assert "as-9f3e" not in repr(creds) and "ck-41d0" not in repr(creds)
    assert creds.secrets == ["as-9f3e", "ck-41d0"]


# ------------------------------------------------------------------------------ the real provider


@pytest.fixture(scope="module")
def proc(emu: RunningEmulator) -> Iterator[ProviderProcess]:
    blank = {k: "" for k in ("OVHAI_ENDPOINT", "OVHAI_TOKEN", "OVH_ENDPOINT", "OVH_APPLICATION_KEY",
                             "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY", "OVH_CLIENT_ID",
                             "OVH_CLIENT_SECRET")}  # fmt: skip
    with ProviderProcess.start(env=blank) as process:
        process.configure(signed_config(emu))
        yield process


def test_the_provider_deploys_through_the_public_door(
    proc: ProviderProcess, control: EmulatorControl
) -> None:
    seen: list[Any] = []
    token_blob = provider_blob(AiTokenProvider())
    props = {"name": "consumer", "role": "read", "labelSelector": "door=prov", "rotation": "1"}
    inputs, failures = proc.check("consumer", with_provider(props, token_blob))
    assert failures == []
    token_id, token_outs = proc.create("consumer", inputs)
    seen.append(token_outs)
    assert token_outs["value"] and token_outs["tokenId"] == token_id

    app_blob = provider_blob(AiAppProvider())
    key = "k" + uuid.uuid4().hex[:10]
    app_props = {
        "spec": cpu_spec(f"prov-{key}"),
        "readiness": {"path": "/health", "timeoutSeconds": 60},
        "deploymentKey": key,
    }
    inputs, failures = proc.check("app", with_provider(app_props, app_blob))
    assert failures == []
    app_id, outs = proc.create("app", inputs)
    seen.append(outs)
    assert outs["state"] == "RUNNING"
    assert [a["id"] for a in control.apps(f"door=prov-{key}")] == [app_id]
    # The readiness probe's token (minted for this app alone) is gone after the wait.
    with signed_client_from(control) as client:
        names = [t.spec.name for t in client.list_tokens()]
    assert f"probe-{app_id}" not in names
    proc.delete("app", app_id, outs)
    proc.delete("consumer", token_id, token_outs)
    text = str(seen) + proc.stderr()
    for secret in SECRETS:
        assert secret not in text


def signed_client_from(control: EmulatorControl) -> OvhAiClient:
    return OvhAiClient(control.base_url, control.admin_token)  # the regional door, as an admin


def test_a_provider_with_both_doors_fails_naming_the_keys(emu: RunningEmulator) -> None:
    config = {**signed_config(emu), "ovhai:token": Secret(ADMIN)}
    with ProviderProcess.start(env={"OVHAI_TOKEN": "", "OVH_APPLICATION_KEY": ""}) as process:
        process.configure(config)
        blob = provider_blob(AiTokenProvider())
        inputs, _ = process.check("t", with_provider({"name": "t", "role": "read", "rotation": "1"}, blob))
        with pytest.raises(grpc.RpcError) as caught:
            process.create("t", inputs)
    details = str(caught.value.details())  # type: ignore[attr-defined]
    assert "ovhai:token" in details and "ovh:applicationKey" in details
    for secret in SECRETS:
        assert secret not in details


# ------------------------------------------------------------------------------ retries on this door


def test_the_retry_policy_holds_on_the_public_door(emu: RunningEmulator, control: EmulatorControl) -> None:
    # Faults scripted on the regional path apply to the public door's calls (same handlers).
    control.reset_requests()
    control.faults([{"status": 503}, {"status": 502}], method="GET", path_prefix="/v1/app")
    control.faults([{"status": 429, "retryAfter": 0.2}], method="POST", path_prefix="/v1/token")
    try:
        with signed_client(emu) as client:
            assert isinstance(client.list_apps(), list)  # two 5xx, then the answer
            started = time.monotonic()
            token = client.create_token("after-429", "read")  # a 429: the server did not act
            assert time.monotonic() - started >= 0.2  # Retry-After passed through and honoured
            client.delete_token(token.id)
    finally:
        control.clear_faults()
    counts = control.requests()["byRoute"]
    assert counts["GET /v1/app"] == 3 and counts["POST /v1/token"] == 2


def test_regional_only_objects_say_so_on_the_public_door(emu: RunningEmulator) -> None:
    with signed_client(emu) as client, pytest.raises(InvalidRequest, match="regional AI API only"):
        client.list_volumes()


def test_a_wrong_service_account_is_unauthorized_at_once(emu: RunningEmulator) -> None:
    auth = OvhOAuth2Auth(CLIENT_ID, "wrong-svc-secret", emu.base_url + "/auth/oauth2/token")
    client = OvhAiClient(emu.base_url + "/1.0", auth=auth, service_name=SERVICE, region="gra")
    started = time.monotonic()
    with client, pytest.raises(Unauthorized, match="OAuth2 token") as caught:
        client.list_apps()
    assert time.monotonic() - started < 2  # not retried: a wrong secret stays wrong
    assert "wrong-svc-secret" not in str(caught.value)
