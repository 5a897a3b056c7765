"""Consumer-key access rules on the emulator's public door, and our errors that name them.

OVHcloud's semantics (see emulator/ovh_auth.py and components/ovhai/rights.py for the sources):
rules `{method, path}`, `*` matching any characters (`/` included), `/x/*` not granting `/x`, the
query string not matched, 403 NOT_GRANTED_CALL otherwise, `GET /auth/currentCredential` answered
whatever the rules. OVHcloud's own `ovh` library is the judge of the emulator; then our client and
the real dynamic-provider process meet a key without the rights and must name the call and the
rules needed. The emulator's matcher and the product's (`rights.grants`) are two copies (the
emulator imports nothing from `components`): a contract test holds them to the same answers.
"""

from __future__ import annotations

import subprocess
import sys
import uuid
from collections.abc import Iterator
from typing import Any

import grpc
import ovh
import pulumi
import pytest

from components.ovhai import NotGrantedCall, OvhAiClient, rights
from components.resources import AiAppProvider
from components.resources.credentials import resolve
from components.resources.provider_base import open_client
from emulator.ovh_auth import AccessRule, OvhDoorConfig, OvhRefusal, api_path
from emulator.runner import RunningEmulator, start_emulator
from tests.provider_harness import ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "rules-admin-5e2a"
AK, AS = "rules-ak", "rules-as-secret-93d1"
FULL_CK, AI_CK, APPS_RO_CK, NONE_CK = "ck-full-1f", "ck-ai-2e", "ck-apps-ro-3d", "ck-none-4c"
SERVICE = "a1b2c3d4e5f60718293a4b5c6d7e8f90"
OTHER = "ffffffffffffffffffffffffffffffff"


def _rules_flag(ck: str, rules: list[dict[str, str]]) -> str:
    return f"{ck}=" + ",".join(f"{r['method']}:{r['path']}" for r in rules)


@pytest.fixture(scope="module")
def emu() -> Iterator[RunningEmulator]:
    args = [
        "--ovh-credentials", f"{AK}:{AS}:{FULL_CK}",
        "--ovh-credentials", f"{AK}:{AS}:{AI_CK}",
        "--ovh-credentials", f"{AK}:{AS}:{APPS_RO_CK}",
        "--ovh-credentials", f"{AK}:{AS}:{NONE_CK}:",
        "--ovh-access-rules", _rules_flag(AI_CK, rights.needed_rules(SERVICE)),
        "--ovh-access-rules", f"{APPS_RO_CK}=GET:/cloud/project/*/ai/app,GET:/cloud/project/*/ai/app/*",
        "--service-name", SERVICE,
    ]  # fmt: skip
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


def judge(emu: RunningEmulator, consumer: str) -> ovh.Client:
    client = ovh.Client(endpoint="ovh-eu", application_key=AK, application_secret=AS,
                        consumer_key=consumer, config_file="/dev/null")  # fmt: skip
    client._endpoint = emu.base_url + "/1.0"  # the library knows only OVHcloud's hosts
    return client


def ours(emu: RunningEmulator, consumer: str) -> OvhAiClient:
    config = {"ovh:endpoint": emu.base_url + "/1.0", "ovh:applicationKey": AK,
              "ovh:applicationSecret": AS, "ovh:consumerKey": consumer,
              "vllm-ai-deploy:serviceName": SERVICE, "ovhai:region": "gra"}  # fmt: skip
    return open_client(resolve(config, environ={}), max_retry_seconds=2)


def ai(path: str, service: str = SERVICE) -> str:
    return f"/cloud/project/{service}/ai/{path}"


def cpu_spec(name: str) -> dict[str, Any]:
    return {"name": name, "image": "vllm/vllm-openai:latest", "region": "GRA",
            "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "labels": {"rules": name},
            "defaultHttpPort": 8000}  # fmt: skip


# ------------------------------------------------------------------------------ pure semantics


@pytest.mark.parametrize(
    ("rule", "method", "path", "granted"),
    [
        (("GET", "/*"), "GET", "/cloud/project/x/ai/app/1/log", True),  # `*` crosses `/`
        (("GET", "/*"), "POST", "/me", False),  # the method is part of the rule
        (("GET", "/sms/*"), "GET", "/sms", False),  # python-ovh add_recursive_rules adds both
        (("GET", "/sms"), "GET", "/sms", True),
        (("GET", "/sms/*"), "GET", "/sms/a/jobs/b", True),
        (("GET", "/cloud/project/*/ai/*"), "GET", "/cloud/project/p/ai/token", True),
        (("GET", "/cloud/project/*/ai/*"), "GET", "/cloud/project/p/kube", False),
        (("GET", "/cloud/project/p/ai/app"), "GET", "/cloud/project/p/ai/app/1", False),
        (("DELETE", "/a.b/*"), "DELETE", "/aXb/c", False),  # only `*` is special
    ],
)
def test_rule_semantics_agree_in_the_emulator_and_the_product(
    rule: tuple[str, str], method: str, path: str, granted: bool
) -> None:
    assert AccessRule(*rule).grants(method, path) is granted
    assert rights.grants({"method": rule[0], "path": rule[1]}, method, path) is granted


def test_the_query_string_and_the_api_root_are_not_matched() -> None:
    assert api_path("https://eu.api.ovh.com/1.0/cloud/project/p/ai/app?labelSelector=a%3Db") == (
        "/cloud/project/p/ai/app"
    )


def test_needed_rules_are_one_list_and_missing_rules_names_what_lacks() -> None:
    needed = rights.needed_rules(SERVICE)
    assert [r["method"] for r in needed] == ["GET", "POST", "PUT", "DELETE"]
    assert {r["path"] for r in needed} == {f"/cloud/project/{SERVICE}/ai/*"}
    assert rights.missing_rules(needed, SERVICE) == []
    assert rights.missing_rules(rights.needed_rules(None), SERVICE) == []  # `*` for the project
    assert rights.missing_rules([{"method": m, "path": "/*"} for m in rights.METHODS], SERVICE) == []
    apps_only = [{"method": "GET", "path": "/cloud/project/*/ai/app"}]
    assert [r["method"] for r in rights.missing_rules(apps_only, SERVICE)] == list(rights.METHODS)


def test_the_methods_form_and_the_rules_flag_parse() -> None:
    door = OvhDoorConfig.parse(
        ["a:s:ck1", "a:s:ck2:GET", "a:s:ck3:", "a:s:ck4"], None, None, ["ck4=GET:/me,put:/me/*"]
    )
    assert door.consumers["ck1"].rules == tuple(AccessRule(m, "/*") for m in ("DELETE", "GET", "POST", "PUT"))
    assert door.consumers["ck2"].rules == (AccessRule("GET", "/*"),)
    assert door.consumers["ck3"].rules == ()
    assert door.consumers["ck4"].rules == (AccessRule("GET", "/me"), AccessRule("PUT", "/me/*"))


@pytest.mark.parametrize(
    "flags",
    [
        ["--ovh-access-rules", "unknown-ck=GET:/*"],
        ["--ovh-access-rules", "emulator-consumer-key=PATCH:/*"],
        ["--ovh-access-rules", "emulator-consumer-key=GET:no-slash"],
        ["--ovh-access-rules", "no-equals-sign"],
    ],
)
def test_bad_rule_flags_exit_2_naming_the_flag(flags: list[str]) -> None:
    result = subprocess.run([sys.executable, "-m", "emulator", "--port", "0", *flags],
                            capture_output=True, text=True, timeout=30)  # fmt: skip
    assert result.returncode == 2 and "--ovh-access-rules" in result.stderr, result.stderr


# ------------------------------------------------------------------------------ OVHcloud's library judges


def test_current_credential_shows_the_rules_whatever_they_are(emu: RunningEmulator) -> None:
    for consumer, expected in [
        (AI_CK, rights.needed_rules(SERVICE)),
        (NONE_CK, []),  # a key granted nothing still reads its own credential
        (FULL_CK, [{"method": m, "path": "/*"} for m in ("DELETE", "GET", "POST", "PUT")]),
    ]:
        credential = judge(emu, consumer).get("/auth/currentCredential")
        assert credential["rules"] == expected
        assert credential["status"] == "validated" and credential["ovhSupport"] is False
        assert set(credential) >= {"credentialId", "applicationId", "creation", "expiration", "lastUse"}
        assert consumer not in str(credential)  # the key itself is never rendered


def test_a_key_with_the_products_rules_does_what_the_product_does(emu: RunningEmulator) -> None:
    client = judge(emu, AI_CK)
    name = f"r-{uuid.uuid4().hex[:8]}"
    app = client.post(ai("app"), **cpu_spec(name))
    assert client.get(ai(f"app/{app['id']}"))["id"] == app["id"]
    client.put(ai(f"app/{app['id']}/label"), name="extra", value="1")
    token = client.post(ai("token"), name=f"t-{name}", role="ai_training_read", labelSelector=f"rules={name}",
                        region="GRA")  # fmt: skip
    client.delete(ai(f"token/{token['id']}"))
    client.delete(ai(f"app/{app['id']}"), force=True)
    # The rules name this project: another project's routes are not granted (403 before 404).
    with pytest.raises(ovh.exceptions.NotGrantedCall):
        client.get(ai("app", OTHER))


def test_a_key_ruled_on_apps_reads_apps_only(emu: RunningEmulator) -> None:
    client = judge(emu, APPS_RO_CK)
    assert isinstance(client.get(ai("app")), list)
    assert isinstance(client.get(ai("app"), labelSelector="rules=none"), list)  # the query is not matched
    for call in (lambda: client.get(ai("token")), lambda: client.post(ai("app"), **cpu_spec("refused"))):
        with pytest.raises(ovh.exceptions.NotGrantedCall, match="This call has not been granted"):
            call()
    # A signed call through the full key still answers another project 404 (the rules came first).
    with pytest.raises(ovh.exceptions.ResourceNotFoundError):
        judge(emu, FULL_CK).get(ai("app", OTHER))


def test_the_emulator_and_missing_rules_agree_on_the_products_calls(emu: RunningEmulator) -> None:
    """The contract between the two copies: a key lacks a needed rule exactly when the emulator
    refuses one of the product's calls of that method."""
    credential = judge(emu, APPS_RO_CK).get("/auth/currentCredential")
    missing = {r["method"] for r in rights.missing_rules(credential["rules"], SERVICE)}
    assert missing == set(rights.METHODS)  # GET too: tokens, flavors, aliases are not granted
    with ours(emu, APPS_RO_CK) as client:
        client.list_apps()
        with pytest.raises(NotGrantedCall):
            client.list_tokens()
    assert rights.missing_rules(judge(emu, AI_CK).get("/auth/currentCredential")["rules"], SERVICE) == []


# ------------------------------------------------------------------------------ our errors name the rights


def test_our_client_names_the_refused_call_and_the_rules_needed(emu: RunningEmulator) -> None:
    with ours(emu, APPS_RO_CK) as client, pytest.raises(NotGrantedCall) as caught:
        client.create_token("refused", "read")
    text = str(caught.value)
    assert caught.value.status == 403
    assert f"POST /cloud/project/{SERVICE}/ai/token" in text
    for rule in rights.needed_rules(SERVICE):
        assert f"{rule['method']} {rule['path']}" in text
    assert "createToken" in text and "pulumi config set --secret ovh:consumerKey" in text
    assert AS not in text and APPS_RO_CK not in text


def test_the_provider_process_names_the_rights_with_no_secret(emu: RunningEmulator) -> None:
    config = {"ovh:endpoint": emu.base_url + "/1.0", "ovh:applicationKey": AK,
              "ovh:applicationSecret": Secret(AS), "ovh:consumerKey": Secret(APPS_RO_CK),
              "vllm-ai-deploy:serviceName": SERVICE, "ovhai:region": "gra"}  # fmt: skip
    blank = {k: "" for k in ("OVHAI_ENDPOINT", "OVHAI_TOKEN", "OVH_ENDPOINT", "OVH_APPLICATION_KEY",
                             "OVH_APPLICATION_SECRET", "OVH_CONSUMER_KEY")}  # fmt: skip
    with ProviderProcess.start(env=blank) as process:
        process.configure(config)
        props = {"spec": cpu_spec("refused-by-rules"), "readiness": {"path": "/health", "timeoutSeconds": 30},
                 "deploymentKey": "rules-key"}  # fmt: skip
        inputs, failures = process.check("ui", with_provider(props, provider_blob(AiAppProvider())))
        assert failures == []
        with pytest.raises(grpc.RpcError) as caught:
            process.create("ui", inputs)
        stderr = process.stderr()
    details = str(caught.value.details())  # type: ignore[attr-defined]
    assert "not granted" in details and f"/cloud/project/{SERVICE}/ai/" in details, details
    assert f"POST /cloud/project/{SERVICE}/ai/*" in details
    for secret in (AS, APPS_RO_CK):
        assert secret not in details and secret not in stderr


# ------------------------------------------------------------------------------ before anything is declared


def _chat_ui(emu: RunningEmulator, consumer: str, **changes: str | None) -> tuple[Any, Any]:
    from tests.program_harness import RecordingMocks
    from tests.test_consumer import PUBLIC_SECRETS, public_door, run

    door = public_door(**{"ovh:endpoint": emu.base_url + "/1.0", "ovh:applicationKey": AK,
                          "ovh:applicationSecret": AS, "ovh:consumerKey": consumer,
                          "vllm-ai-deploy:serviceName": SERVICE, **changes})  # fmt: skip
    mocks = RecordingMocks()
    try:
        return run(door=door, secret_keys=PUBLIC_SECRETS, mocks=mocks, tokenSource="mint"), None
    except pulumi.RunError as error:
        assert mocks.resources == []  # nothing declared, not even the StackReference
        return None, error


def test_a_consumer_key_without_the_rights_fails_the_preview_naming_them(emu: RunningEmulator) -> None:
    _, error = _chat_ui(emu, APPS_RO_CK)
    text = str(error)
    assert "ovh:consumerKey" in text and "lacks the access rules" in text, text
    for rule in rights.needed_rules(SERVICE):
        assert f"{rule['method']} {rule['path']}" in text
    assert "pulumi config set --secret ovh:consumerKey" in text
    assert AS not in text and APPS_RO_CK not in text


def test_a_consumer_key_with_the_rights_passes_and_the_ui_deploys(emu: RunningEmulator) -> None:
    result, error = _chat_ui(emu, AI_CK)
    assert error is None
    (mocks, _) = result
    assert len(mocks.of_kind("app")) == 1 and len(mocks.of_kind("token")) == 1


def test_config_errors_come_before_the_rights_check(emu: RunningEmulator) -> None:
    # Half a door (no consumer key) with a key that would also lack rights: the config error alone.
    _, error = _chat_ui(emu, APPS_RO_CK, **{"ovh:applicationSecret": None})
    text = str(error)
    assert "ovh:applicationSecret" in text and "lacks the access rules" not in text, text


def test_a_rights_check_that_cannot_run_only_warns() -> None:
    from components.ovhai.rights_check import check_consumer_key

    found = check_consumer_key("http://127.0.0.1:9/1.0", AK, AS, NONE_CK, SERVICE)
    assert found.problem == "" and "could not check" in found.warning
    assert AS not in found.warning and NONE_CK not in found.warning


@pytest.mark.e2e
@pytest.mark.slow
def test_the_real_cli_preview_of_the_main_project_names_the_missing_rights(
    tmp_path: Any, emu: RunningEmulator
) -> None:
    """`pulumi preview` of the dev stack with a consumer key ruled on apps only: refused before any
    resource, naming the rules; with the product's rules the preview passes."""
    from tests.pulumi_cli import main_stack, require_pulumi, use_public_door

    cli = require_pulumi()
    proj = main_stack(tmp_path, cli, HF_TOKEN="hf_rules_test", OVHAI_TOKEN="", OVHAI_ENDPOINT="")
    use_public_door(proj, emu.base_url, application_key=AK, application_secret=AS,
                    consumer_key=APPS_RO_CK, service_name=SERVICE)
    refused = proj.run("preview", ok=False)
    text = refused.stdout + refused.stderr
    assert refused.returncode != 0
    assert "lacks the access rules" in text and f"POST /cloud/project/{SERVICE}/ai/*" in text, text
    assert "Traceback" not in text and AS not in text and APPS_RO_CK not in text
    proj.config_set("ovh:consumerKey", AI_CK, secret=True)
    fine = proj.run("preview", ok=False)
    assert fine.returncode == 0, fine.stdout + fine.stderr


def test_a_403_without_the_error_code_stays_a_plain_forbidden() -> None:
    """The regional door's 403 (a read token writing) carries no errorCode: no rights advice."""
    import httpx

    from components.ovhai import Forbidden

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(403, json={"message": "token role does not allow this"})

    client = OvhAiClient("https://gra.ai.cloud.ovh.net", "t", transport=httpx.MockTransport(answer))
    with client, pytest.raises(Forbidden) as caught:
        client.create_app(cpu_spec("x"))
    assert not isinstance(caught.value, NotGrantedCall) and "access rules" not in str(caught.value)


def test_current_credential_with_an_oauth2_bearer_is_refused(emu: RunningEmulator) -> None:
    import httpx

    door = OvhDoorConfig.parse(None, ["svc:secret"], SERVICE)
    token = door.issue_token(None, {"grant_type": "client_credentials", "client_id": "svc",
                                    "client_secret": "secret"})  # fmt: skip
    url = "http://x/1.0/auth/currentCredential"
    with pytest.raises(OvhRefusal, match="not a consumer key"):
        door.current_credential({"authorization": f"Bearer {token}"}, "GET", url, "")
    unsigned = httpx.get(emu.base_url + "/1.0/auth/currentCredential")
    assert unsigned.status_code == 403 and unsigned.json()["errorCode"] == "INVALID_KEY"


def test_the_app_provider_adds_no_generic_hint_to_a_not_granted_call() -> None:
    from components.ovhai import Forbidden, NotGrantedCall
    from components.resources.app import hint

    refused = NotGrantedCall("POST", "/cloud/project/p/ai/app", 403, "This call has not been granted")
    assert hint(refused) == "" and "/cloud/project/" in str(refused)
    assert "operator token" in hint(Forbidden("POST", "/v1/app", 403, "forbidden"))
