"""The consumer stack (examples/chat-ui) under Pulumi's mocks, with a mocked StackReference."""

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
}


def exports(namespace: dict[str, Any]) -> dict[str, Any]:
    return {"url": namespace["ui"].url, "appId": namespace["ui"].appId, "model": namespace["served_model"]}


def run(stack: str = "dev", **overrides: str) -> tuple[RecordingMocks, Any]:
    config = stack_config(EXAMPLE, stack)
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    mocks = RecordingMocks()
    mocks.stack_outputs[config[f"{PROJECT}:modelStack"]] = MODEL_OUTPUTS
    result = run_program(EXAMPLE / "__main__.py", project=PROJECT, stack=stack, config=config, mocks=mocks,
                         outputs_of=exports)
    return mocks, result


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
