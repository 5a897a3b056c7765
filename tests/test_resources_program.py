"""The resource classes as a Pulumi program registers them (under mocks): types, secrets, inputs."""

from __future__ import annotations

from typing import Any

import pulumi
import pytest
from pulumi.runtime.mocks import MockMonitor

from components.resources import AiApp, AiToken

REGISTERED: list[pulumi.runtime.MockResourceArgs] = []
SECRET_OUTPUTS: dict[str, list[str]] = {}  # what the engine is asked to mark secret, per resource


class Mocks(pulumi.runtime.Mocks):
    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        REGISTERED.append(args)
        return f"{args.name}-id", {**args.inputs, "value": "minted-token-value"}

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None


@pytest.fixture(autouse=True)
def _mocks(monkeypatch: pytest.MonkeyPatch) -> None:
    REGISTERED.clear()
    original = MockMonitor.RegisterResource

    def register(self: MockMonitor, request: Any) -> Any:
        if request.type.startswith("pulumi-python:dynamic"):
            SECRET_OUTPUTS[request.name] = list(request.additionalSecretOutputs)
        return original(self, request)

    monkeypatch.setattr(MockMonitor, "RegisterResource", register)
    pulumi.runtime.set_mocks(Mocks(), preview=False)


@pulumi.runtime.test  # type: ignore[untyped-decorator]
def test_ai_app_and_token_register_with_secret_inputs_and_outputs() -> Any:
    app = AiApp(
        "llm",
        spec={"name": "llm", "image": "vllm/vllm-openai:latest"},
        secret_env={"HF_TOKEN": "hf_program_secret_123"},
        readiness={"path": "/health", "timeoutSeconds": 600},
        deployment_key="llm-dev",
    )
    token = AiToken("reader", role="read", label_selector="app=llm")

    def verify(_: Any) -> None:
        types = {args.name: args.typ for args in REGISTERED}
        assert types == {
            "llm": "pulumi-python:dynamic/ovhai:AiApp",
            "reader": "pulumi-python:dynamic/ovhai:AiToken",
        }
        by_name = {args.name: args for args in REGISTERED}
        assert by_name["llm"].inputs["deploymentKey"] == "llm-dev"
        assert "__provider" in by_name["llm"].inputs and by_name["reader"].inputs["name"] == "reader"

    def verify_secrets(secret_env: bool) -> None:
        assert secret_env  # the program's secretEnv input is secret, so its output stays secret
        # The engine marks these outputs secret although no input of that name was.
        assert SECRET_OUTPUTS == {"llm": ["fingerprintKey"], "reader": ["value"]}

    def check_all(values: list[Any]) -> bool:
        verify(values)
        verify_secrets(values[2])
        return True

    return pulumi.Output.all(app.id, token.id, app.secretEnv.is_secret()).apply(check_all)
