"""The consumer stack (examples/chat-ui) under Pulumi's mocks, with a mocked StackReference.

Also through the OVHcloud public API door: the `ovh:*` keys instead of an AI token, the UI's own
read token minted with them (`tokenSource: mint`), and the door's bad input failing before any
resource is declared."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest

from components.ovhai.models import AppSpec
from tests.program_harness import REPO, RecordingMocks, run_program, stack_config

EXAMPLE = REPO / "examples" / "chat-ui"
PROJECT = "vllm-chat-ui"
MODEL_OUTPUTS = {
    "openaiBaseUrl": "https://app-1.app.gra.ai.cloud.ovh.net/v1",
    "model": "mistralai/Mistral-Small-24B-Instruct-2501",
    "token": "model-stack-token-value",
    "endpoint": "https://app-1.app.gra.ai.cloud.ovh.net",
    "labelSelector": "vllm-ai-deploy/deployment=vllm-ai-deploy-dev",
}
PUBLIC_DOOR = {
    "ovh:endpoint": "http://127.0.0.1:9/1.0",  # nothing listens: the rights check only warns
    "ovh:applicationKey": "emulator-application-key",
    "ovh:applicationSecret": "emulator-application-secret",
    "ovh:consumerKey": "emulator-consumer-key",
    "vllm-ai-deploy:serviceName": "emulator-project",
    "ovhai:region": "gra",
}
PUBLIC_SECRETS = ["ovh:applicationSecret", "ovh:consumerKey"]


def exports(namespace: dict[str, Any]) -> dict[str, Any]:
    return {"url": namespace["ui"].url, "appId": namespace["ui"].appId, "model": namespace["served_model"]}


def run(stack: str = "dev", *, door: dict[str, str | None] | None = None,
        secret_keys: list[str] | None = None, mocks: RecordingMocks | None = None,
        **overrides: str) -> tuple[RecordingMocks, Any]:
    config = stack_config(EXAMPLE, stack)
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    for key, value in (door or {}).items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    mocks = mocks or RecordingMocks()
    mocks.stack_outputs[config[f"{PROJECT}:modelStack"]] = MODEL_OUTPUTS
    result = run_program(EXAMPLE / "__main__.py", project=PROJECT, stack=stack, config=config, mocks=mocks,
                         outputs_of=exports, secret_keys=secret_keys)
    return mocks, result


def public_door(**changes: str | None) -> dict[str, str | None]:
    return {"ovhai:endpoint": None, **PUBLIC_DOOR, **changes}


def test_reads_the_model_stack_named_in_its_config() -> None:
    mocks, _ = run()
    (ref,) = mocks.of_kind("pulumi:pulumi:StackReference")
    assert ref.name == "organization/vllm-ai-deploy/dev"


def test_deploys_open_webui_as_a_cpu_app_wired_to_the_endpoint_and_token() -> None:
    mocks, result = run()
    (app,) = mocks.of_kind("app")
    spec = app.inputs["spec"]
    AppSpec.from_input(spec)
    assert spec["image"].startswith("ghcr.io/open-webui/open-webui:v")
    assert spec["resources"] == {"flavor": "ai1-1-cpu", "cpu": 2}
    env = {e["name"]: e["value"] for e in spec["envVars"]}
    assert env["OPENAI_API_BASE_URL"] == MODEL_OUTPUTS["openaiBaseUrl"]
    assert env["DEFAULT_MODELS"] == MODEL_OUTPUTS["model"]
    assert "OPENAI_API_KEY" not in env and MODEL_OUTPUTS["token"] not in repr(spec)
    assert app.inputs["secretEnv"] == {"OPENAI_API_KEY": MODEL_OUTPUTS["token"]}
    assert "secretEnv" in app.secret_inputs
    # A browser opens the UI (it cannot send AI Deploy's Bearer token); Open WebUI's login guards it.
    assert spec["unsecureHttp"] is True and env["WEBUI_AUTH"] == "true"
    assert result.outputs["url"] == app.outputs["url"]
    assert result.outputs["model"] == MODEL_OUTPUTS["model"]
    assert result.secret["url"] is False


def test_the_ui_can_be_kept_behind_the_platform_token() -> None:
    mocks, _ = run(unsecureHttp="false")
    (app,) = mocks.of_kind("app")
    assert app.inputs["spec"]["unsecureHttp"] is False


def test_bad_cpu_count_names_the_key() -> None:
    with pytest.raises(pulumi.RunError, match=f"{PROJECT}:cpus"):
        run(cpus="40")


# ------------------------------------------------------------------------------ the public API door


def test_through_the_public_door_the_ui_mints_its_own_token_with_the_api_credentials() -> None:
    mocks, result = run(door=public_door(), secret_keys=PUBLIC_SECRETS, tokenSource="mint")
    (token,) = mocks.of_kind("token")
    assert token.inputs["role"] == "read"
    assert token.inputs["labelSelector"] == MODEL_OUTPUTS["labelSelector"]  # the model's apps only
    (app,) = mocks.of_kind("app")
    assert app.inputs["secretEnv"] == {"OPENAI_API_KEY": token.outputs["value"]}
    assert "secretEnv" in app.secret_inputs
    assert MODEL_OUTPUTS["token"] not in repr(app.inputs)  # the model stack's token is not used
    for secret in ("emulator-application-secret", "emulator-consumer-key"):
        assert secret not in repr([r.inputs for r in mocks.resources])
    assert result.outputs["url"] == app.outputs["url"]


def test_the_model_stacks_token_works_through_the_public_door_too() -> None:
    mocks, _ = run(door=public_door(), secret_keys=PUBLIC_SECRETS)
    assert mocks.of_kind("token") == []
    (app,) = mocks.of_kind("app")
    assert app.inputs["secretEnv"] == {"OPENAI_API_KEY": MODEL_OUTPUTS["token"]}


@pytest.mark.parametrize(
    ("door", "secret_keys", "key", "fix"),
    [
        (public_door(), ["ovh:applicationSecret"], "ovh:consumerKey",
         "pulumi config set --secret ovh:consumerKey"),
        (public_door(**{"ovh:consumerKey": None}), PUBLIC_SECRETS, "ovh:consumerKey",
         "pulumi config set --secret ovh:consumerKey"),
        (public_door(**{"ovhai:token": "t"}), [*PUBLIC_SECRETS, "ovhai:token"], "ovhai:token",
         "pulumi config rm ovhai:token"),
        ({**PUBLIC_DOOR}, PUBLIC_SECRETS, "ovhai:endpoint", "pulumi config rm ovhai:endpoint"),
    ],
    ids=["plain-text-consumer-key", "half-a-door", "both-doors", "wrong-door-endpoint"],
)
def test_bad_credentials_fail_before_any_resource(door: dict[str, str | None], secret_keys: list[str],
                                                  key: str, fix: str) -> None:
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as caught:
        run(door=door, secret_keys=secret_keys, mocks=mocks)
    text = str(caught.value)
    assert key in text and fix in text, text
    assert "emulator-application-secret" not in text and "emulator-consumer-key" not in text
    assert mocks.resources == []  # not even the StackReference: nothing declared


def test_a_bad_token_source_names_the_key() -> None:
    with pytest.raises(pulumi.RunError, match=f"{PROJECT}:tokenSource"):
        run(tokenSource="operator")
