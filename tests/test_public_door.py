"""The emulator's OVHcloud public API door, judged by OVHcloud's own Python library (`ovh`).

`ovh` signs requests and runs the OAuth2 client-credentials flow the way OVHcloud does (python-ovh
`ovh/client.py`, `ovh/oauth2.py`): when the emulator accepts its requests and refuses broken ones
with the errors `ovh` maps to its own exceptions, the emulator checks as OVHcloud does. Two
private attributes of `ovh.Client` are set (`_endpoint`, `_oauth2`) because the library only knows
OVHcloud's hosts; oauthlib refuses plain-HTTP token URLs unless OAUTHLIB_INSECURE_TRANSPORT is set
(loopback only). Everything else is real: a `python -m emulator` process over loopback HTTP.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import ovh
import pytest
from ovh.oauth2 import OAuth2

from emulator.runner import RunningEmulator, start_emulator
from tests.provider_harness import EmulatorControl

ADMIN = "public-door-admin-7c1e"
AK, AS, CK = "test-ak-1", "test-as-1-secret", "test-ck-1-secret"
RO_CK, NONE_CK = "test-ck-readonly", "test-ck-norights"
CLIENT_ID, CLIENT_SECRET = "svc-account-1", "svc-secret-1"
SERVICE = "0123456789abcdef0123456789abcdef"


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    args = [
        "--ovh-credentials", f"{AK}:{AS}:{CK}",
        "--ovh-credentials", f"{AK}:{AS}:{RO_CK}:GET",
        "--ovh-credentials", f"{AK}:{AS}:{NONE_CK}:",
        "--ovh-oauth2", f"{CLIENT_ID}:{CLIENT_SECRET}",
        "--service-name", SERVICE,
    ]  # fmt: skip
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


@pytest.fixture(scope="module")
def control(emu: RunningEmulator) -> EmulatorControl:
    return EmulatorControl(emu.base_url, ADMIN)


def signed(emu: RunningEmulator, *, secret: str = AS, consumer: str = CK) -> ovh.Client:
    client = ovh.Client(
        endpoint="ovh-eu", application_key=AK, application_secret=secret, consumer_key=consumer,
        config_file="/dev/null",
    )  # fmt: skip
    client._endpoint = emu.base_url + "/1.0"  # the library knows only OVHcloud's hosts
    return client


@pytest.fixture
def oauth_client(emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch) -> ovh.Client:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")  # plain HTTP on loopback
    client = ovh.Client(
        endpoint="ovh-eu", client_id=CLIENT_ID, client_secret=CLIENT_SECRET, config_file="/dev/null"
    )
    client._endpoint = emu.base_url + "/1.0"
    client._oauth2 = OAuth2(CLIENT_ID, CLIENT_SECRET, emu.base_url + "/auth/oauth2/token")
    return client


def app_spec(name: str) -> dict[str, Any]:
    return {
        "name": name,
        "image": "vllm/vllm-openai:latest",
        "region": "GRA",
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1},
        "labels": {"door": name},
        "defaultHttpPort": 8000,
    }


def ai(path: str) -> str:
    return f"/cloud/project/{SERVICE}/ai/{path}"


def test_auth_time_is_the_server_time(emu: RunningEmulator) -> None:
    client = signed(emu)
    assert abs(client.time_delta) <= 2  # python-ovh reads GET /auth/time and keeps the delta


def test_an_app_created_through_the_public_door_is_seen_through_the_regional_one(
    emu: RunningEmulator, control: EmulatorControl
) -> None:
    client = signed(emu)
    created = client.post(ai("app"), **app_spec("via-public"))
    assert created["spec"]["name"] == "via-public" and created["id"]
    regional = control.apps("door=via-public")
    assert [a["id"] for a in regional] == [created["id"]]
    listed = client.get(ai("app"), labelSelector="door=via-public")
    assert isinstance(listed, list) and [a["id"] for a in listed] == [created["id"]]  # a bare array
    assert client.get(ai(f"app/{created['id']}"))["id"] == created["id"]
    client.put(ai(f"app/{created['id']}/label"), name="extra", value="yes")
    assert client.get(ai(f"app/{created['id']}"))["spec"]["labels"]["extra"] == "yes"
    logs = client.get(ai(f"app/{created['id']}/log"))
    assert isinstance(logs["logs"], list) and "lastActivity" in logs  # cloud.project.ai.Logs
    # A data sync needs a RUNNING app with a datastore volume: OVHcloud's library raises its own error.
    with pytest.raises(ovh.exceptions.BadParametersError, match="needs a RUNNING app"):
        client.post(ai(f"app/{created['id']}/datasync"), direction="pull")
    client.delete(ai(f"app/{created['id']}"), force=True)


def test_an_app_created_regionally_is_seen_through_the_public_door(
    emu: RunningEmulator, oauth_client: ovh.Client
) -> None:
    spec = app_spec("via-regional")
    spec.pop("region")
    response = httpx.post(
        emu.base_url + "/v1/app", json=spec, headers={"Authorization": f"Bearer {ADMIN}"}, timeout=30
    )
    response.raise_for_status()
    app_id = response.json()["id"]
    found = oauth_client.get(ai(f"app/{app_id}"))  # OAuth2 client credentials, bearer
    assert found["spec"]["name"] == "via-regional"
    oauth_client.delete(ai(f"app/{app_id}"), force=True)


def test_tokens_are_minted_with_the_api_credentials(emu: RunningEmulator) -> None:
    client = signed(emu)
    token = client.post(ai("token"), name="consumer", role="ai_training_read", region="GRA",
                        labelSelector="door=x")  # fmt: skip
    value = token["status"]["value"]
    assert value and token["spec"]["region"] == "GRA"
    ids = [t["id"] for t in client.get(ai("token"))]
    assert token["id"] in ids
    renewed = client.post(ai(f"token/{token['id']}/renew"))
    assert renewed["status"]["value"] != value
    # The minted token works on the regional door (the app URLs' bearer).
    bearer = {"Authorization": f"Bearer {renewed['status']['value']}"}
    assert httpx.get(emu.base_url + "/v1/token", headers=bearer).status_code == 200
    client.delete(ai(f"token/{token['id']}"))
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        client.get(ai(f"token/{token['id']}"))


def test_datastore_aliases(emu: RunningEmulator) -> None:
    client = signed(emu)
    body = {
        "alias": "models",
        "endpoint": "https://s3.gra.io.cloud.ovh.net",
        "owner": "customer",
        "type": "s3",
        "credentials": {"accessKey": "AK", "secretKey": "SK-secret", "region": "gra"},
    }
    created = client.post(ai("data/region/GRA/alias"), **body)
    assert created["alias"] == "models" and "credentials" not in created
    assert [a["alias"] for a in client.get(ai("data/region/GRA/alias"))] == ["models"]
    assert "SK-secret" not in str(client.get(ai("data/region/GRA/alias/models")))
    with pytest.raises(ovh.exceptions.ResourceConflictError):
        client.post(ai("data/region/GRA/alias"), **body)
    client.delete(ai("data/region/GRA/alias/models"))
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        client.get(ai("data/region/GRA/alias/models"))


def test_flavors_and_quota_per_region(emu: RunningEmulator) -> None:
    client = signed(emu)
    flavors = client.get(ai("capabilities/region/GRA/flavor"))
    assert isinstance(flavors, list) and any(f["id"] == "l40s-1-gpu" for f in flavors)
    assert client.get(ai("capabilities/region/GRA/flavor/l40s-1-gpu"))["id"] == "l40s-1-gpu"
    assert client.get(ai("capabilities/quota"))


# ---------------------------------------------------------------------------------- refusals


def raw_error(error: ovh.exceptions.APIError) -> tuple[int, dict[str, Any]]:
    response = error.response
    assert response is not None
    assert response.headers.get("X-Ovh-QueryID")
    return response.status_code, response.json()


def test_a_wrong_signature_is_refused(emu: RunningEmulator) -> None:
    with pytest.raises(ovh.exceptions.BadParametersError, match="Invalid signature") as caught:
        signed(emu, secret="not-the-secret").get(ai("app"))
    status, body = raw_error(caught.value)
    assert status == 400 and body["class"] == "Client::BadRequest"
    assert body["errorCode"] == "INVALID_SIGNATURE"


def test_a_stale_timestamp_is_refused(emu: RunningEmulator) -> None:
    client = signed(emu)
    client._time_delta = -3600  # a clock an hour late: the timestamp is out of the window
    with pytest.raises(ovh.exceptions.BadParametersError, match="Query out of time") as caught:
        client.get(ai("app"))
    status, body = raw_error(caught.value)
    assert status == 400 and body["class"] == "Client::BadRequest"


def test_a_consumer_key_without_rights_gets_403(emu: RunningEmulator) -> None:
    with pytest.raises(ovh.exceptions.NotGrantedCall, match="not been granted") as caught:
        signed(emu, consumer=NONE_CK).get(ai("app"))
    status, body = raw_error(caught.value)
    assert status == 403 and body["class"] == "Client::Forbidden"
    read_only = signed(emu, consumer=RO_CK)
    assert isinstance(read_only.get(ai("app")), list)
    with pytest.raises(ovh.exceptions.NotGrantedCall):
        read_only.post(ai("app"), **app_spec("not-granted"))


def test_unknown_keys_are_refused(emu: RunningEmulator) -> None:
    with pytest.raises(ovh.exceptions.NotCredential):
        signed(emu, consumer="no-such-consumer").get(ai("app"))
    client = signed(emu)
    client._application_key = "no-such-application"
    with pytest.raises(ovh.exceptions.InvalidKey):
        client.get(ai("app"))


def test_another_project_is_not_found(emu: RunningEmulator) -> None:
    with pytest.raises(ovh.exceptions.ResourceNotFoundError, match="service does not exist"):
        signed(emu).get("/cloud/project/another/ai/app")


def test_a_wrong_service_account_gets_no_token(
    emu: RunningEmulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OAUTHLIB_INSECURE_TRANSPORT", "1")
    client = ovh.Client(
        endpoint="ovh-eu", client_id=CLIENT_ID, client_secret="wrong", config_file="/dev/null"
    )
    client._endpoint = emu.base_url + "/1.0"
    client._oauth2 = OAuth2(CLIENT_ID, "wrong", emu.base_url + "/auth/oauth2/token")
    with pytest.raises(ovh.exceptions.OAuth2FailureError):
        client.get(ai("app"))


def test_a_bad_bearer_is_unauthorized(emu: RunningEmulator) -> None:
    response = httpx.get(emu.base_url + "/1.0" + ai("app"), headers={"Authorization": "Bearer nope"})
    assert response.status_code == 401 and response.json()["class"] == "Client::Unauthorized"
    # The regional door's admin token is no credential of the public door.
    response = httpx.get(emu.base_url + "/1.0" + ai("app"), headers={"Authorization": f"Bearer {ADMIN}"})
    assert response.status_code == 401


# ---------------------------------------------------------------------------------- CLI flags


@pytest.mark.parametrize(
    "flags",
    [["--ovh-credentials", "only:two"], ["--ovh-credentials", "a:b:c:PATCH"], ["--ovh-oauth2", "nosecret"]],
)
def test_bad_flags_exit_2_naming_the_flag(flags: list[str]) -> None:
    import subprocess
    import sys

    result = subprocess.run([sys.executable, "-m", "emulator", "--port", "0", *flags],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2 and flags[0] in result.stderr


def test_the_documented_defaults() -> None:
    with start_emulator(admin_token=ADMIN) as running:
        client = ovh.Client(
            endpoint="ovh-eu", application_key="emulator-application-key",
            application_secret="emulator-application-secret", consumer_key="emulator-consumer-key",
            config_file="/dev/null",
        )  # fmt: skip
        client._endpoint = running.base_url + "/1.0"
        assert client.get("/cloud/project/emulator-project/ai/app") == []
