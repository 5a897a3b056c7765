"""Every Pulumi.<stack>.yaml of the project through __main__ under Pulumi's mocks.

Each stack file's config (plus Pulumi.yaml's declared defaults, as the CLI passes them) is loaded
and the real program runs: the expected resources, inputs and outputs appear, the token is scoped
to the app's deployment label and is secret, and `dev` reproduces the seed's `ovhai app run`.
"""

from __future__ import annotations

import shlex

import pulumi
import pytest

from components.ovhai.models import AppSpec
from tests.program_harness import (
    DEPLOYMENT_LABEL,
    REPO,
    ProgramRun,
    RecordingMocks,
    run_program,
    stack_config,
)

PROJECT = "vllm-ai-deploy"
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in REPO.glob("Pulumi.*.yaml"))
GATED_TOKEN = "hf_program_test_token"
OUTPUT_KEYS = {
    "endpoint", "openaiBaseUrl", "model", "token", "appId", "flavor", "gpus", "tensorParallel",
    "maxModelLen", "estimatedHourlyCost", "state", "infoUrl", "monitoringUrl",
}
# The seed: `ovhai app run ... vllm/vllm-openai:latest -- bash -c "python3 -m
# vllm.entrypoints.openai.api_server --model mistralai/Mistral-Small-24B-Instruct-2501
# --tensor-parallel-size 2 --tokenizer_mode mistral --load_format mistral --config_format mistral
# --dtype half"` (shared/ovhai/API.md), flags normalised to dashes.
SEED_ARGS = {
    "--model": "mistralai/Mistral-Small-24B-Instruct-2501",
    "--tensor-parallel-size": "2",
    "--tokenizer-mode": "mistral",
    "--load-format": "mistral",
    "--config-format": "mistral",
    "--dtype": "half",
}


def run_stack(stack: str, monkeypatch: pytest.MonkeyPatch, mocks: RecordingMocks | None = None,
              **overrides: str) -> ProgramRun:
    monkeypatch.setenv("HF_TOKEN", GATED_TOKEN)
    config = stack_config(REPO, stack)
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})
    return run_program(REPO / "__main__.py", project=PROJECT, stack=stack, config=config, mocks=mocks)


@pytest.fixture(scope="module")
def runs() -> dict[str, ProgramRun]:
    with pytest.MonkeyPatch.context() as mp:
        return {stack: run_stack(stack, mp) for stack in STACKS}


def test_the_project_has_a_dev_stack_and_real_stacks_named_model_environment() -> None:
    assert "dev" in STACKS
    real = [s for s in STACKS if s != "dev"]
    assert len(real) >= 2
    assert all(s.rsplit("-", 1)[-1] in ("dev", "staging", "prod") for s in real)


@pytest.mark.parametrize("stack", STACKS)
def test_resources_inputs_and_outputs(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    components = run.mocks.of_kind("vllm-ai-deploy:index:VllmDeployment")
    apps, tokens = run.mocks.of_kind("app"), run.mocks.of_kind("token")
    assert len(components) == 1 and len(apps) == 1
    assert all(r.typ.startswith("pulumi-python:dynamic") for r in apps + tokens)
    app = apps[0]
    spec = app.inputs["spec"]
    AppSpec.from_input(spec)  # the API's own model accepts it
    assert app.inputs["deploymentKey"] == f"{PROJECT}-{stack}"
    assert DEPLOYMENT_LABEL not in spec.get("labels", {})  # the provider sets it from the key
    assert app.inputs["readiness"]["timeoutSeconds"] >= spec["deploymentStrategy"]["progressDeadlineSeconds"]
    assert spec["probe"] == {"path": "/health", "port": 8000}
    env_names = {e["name"] for e in spec["envVars"]}
    assert "HF_TOKEN" not in env_names and GATED_TOKEN not in repr(spec)

    assert set(run.outputs) >= OUTPUT_KEYS
    out = run.outputs
    assert out["openaiBaseUrl"] == out["endpoint"] + "/v1"
    assert out["appId"] == app.outputs["appId"] and out["state"] == "RUNNING"
    assert (out["flavor"], out["gpus"]) == (spec["resources"]["flavor"], spec["resources"]["gpu"])
    assert out["tensorParallel"] == out["gpus"]
    command = spec["command"]
    assert command[command.index("--served-model-name") + 1] == out["model"]
    assert command[command.index("--max-model-len") + 1] == str(out["maxModelLen"])
    cost = out["estimatedHourlyCost"]
    assert cost["currency"] == "EUR" and "estimate" in cost["note"] and cost["amount"] >= 0
    assert out["infoUrl"] and out["monitoringUrl"]


@pytest.mark.parametrize("stack", STACKS)
def test_token_is_scoped_to_the_app_label_and_secret(runs: dict[str, ProgramRun], stack: str) -> None:
    run = runs[stack]
    app = run.mocks.of_kind("app")[0]
    labels = app.outputs["spec"]["labels"]
    for token in run.mocks.of_kind("token"):
        selector = dict(part.split("=", 1) for part in token.inputs["labelSelector"].split(","))
        assert selector == {DEPLOYMENT_LABEL: f"{PROJECT}-{stack}"}
        assert all(labels.get(k) == v for k, v in selector.items())
    consumer = next(t for t in run.mocks.of_kind("token") if t.name == "vllm-token")
    assert consumer.inputs["role"] == "read"
    assert run.outputs["token"] == consumer.outputs["value"]
    assert run.secret["token"] is True
    assert run.outputs["labelSelector"] == consumer.inputs["labelSelector"]
    public = {k for k, secret in run.secret.items() if not secret}
    assert public >= OUTPUT_KEYS - {"token"}


@pytest.mark.parametrize("stack", STACKS)
def test_planner_table_is_logged(runs: dict[str, ProgramRun], stack: str) -> None:
    logs = "\n".join(runs[stack].logs)
    assert "Planner's table" in logs and "fits / why not" in logs


def test_dev_reproduces_the_seed(runs: dict[str, ProgramRun]) -> None:
    run = runs["dev"]
    app = run.mocks.of_kind("app")[0]
    spec = app.inputs["spec"]
    assert spec["image"] == "vllm/vllm-openai:latest"
    assert spec["resources"] == {"flavor": "l40s-1-gpu", "gpu": 2}
    assert spec["defaultHttpPort"] == 8000
    command = spec["command"]
    assert command[:3] == ["python3", "-m", "vllm.entrypoints.openai.api_server"]
    for flag, value in SEED_ARGS.items():
        assert command[command.index(flag) + 1] == value, (flag, shlex.join(command))
    env = {e["name"]: e["value"] for e in spec["envVars"]}
    assert env["HF_HOME"] == "/hub"
    assert app.inputs["secretEnv"] == {"HF_TOKEN": GATED_TOKEN}
    assert "secretEnv" in app.secret_inputs
    volumes = {v["mountPath"]: v for v in spec["volumes"]}
    assert set(volumes) == {"/hub", "/workspace"}
    for volume in volumes.values():
        assert volume["permission"] == "RW" and volume["volumeSource"] == {"standalone": {}}
    assert spec["labels"] == {"techlab/vllm": "mistral"}
    assert spec["name"] == "techlab-ai-vllm-mistral-small"
    assert spec["scalingStrategy"] == {"fixed": {"replicas": 1}}
    assert app.inputs["keepFailedApps"] is True
    assert len(run.mocks.of_kind("token")) == 1


def test_prod_defaults(runs: dict[str, ProgramRun]) -> None:
    app = runs["mistral-small-prod"].mocks.of_kind("app")[0]
    spec = app.inputs["spec"]
    assert spec["scalingStrategy"] == {"fixed": {"replicas": 2}}
    assert ":" in spec["image"] and not spec["image"].endswith(":latest")
    assert spec["unsecureHttp"] is False and app.inputs["keepFailedApps"] is False
    assert app.inputs["readiness"]["timeoutSeconds"] == 3600
    assert runs["mistral-small-prod"].outputs["estimatedHourlyCost"]["amount"] == pytest.approx(5.6)


def test_llama_dev_lets_the_planner_choose_and_adds_an_operator_token(runs: dict[str, ProgramRun]) -> None:
    run = runs["llama-8b-dev"]
    assert run.outputs["flavor"] == "l4-1-gpu" and run.outputs["gpus"] == 1
    roles = sorted(t.inputs["role"] for t in run.mocks.of_kind("token"))
    assert roles == ["operator", "read"]
    assert run.secret["operatorToken"] is True


def test_staging_autoscales_from_zero_with_an_object_storage_cache(runs: dict[str, ProgramRun]) -> None:
    run = runs["qwen-7b-staging"]
    app = run.mocks.of_kind("app")[0]
    spec = app.inputs["spec"]
    auto = spec["scalingStrategy"]["automatic"]
    assert (auto["replicasMin"], auto["replicasMax"], auto["cooldownPeriodSeconds"]) == (0, 2, 900)
    hub = next(v for v in spec["volumes"] if v["mountPath"] == "/hub")
    cache = {"alias": "GRA", "container": "hf-cache", "prefix": "qwen2.5-7b"}
    assert hub["volumeSource"] == {"dataStore": cache}
    assert app.inputs["secretEnv"] == {}  # not gated: no token sent even though HF_TOKEN is set
    assert app.inputs["readiness"]["path"] == ""  # may sit at zero replicas
    assert "--enable-auto-tool-choice" in spec["command"]


def test_a_bad_stack_config_stops_the_program_before_any_resource(monkeypatch: pytest.MonkeyPatch) -> None:
    mocks = RecordingMocks()
    with pytest.raises(pulumi.RunError) as raised:
        run_stack("dev", monkeypatch, mocks, maxModelLen="200000", replicas="12")
    assert not mocks.of_kind("app") and not mocks.of_kind("token")
    text = str(raised.value)
    assert f"{PROJECT}:maxModelLen" in text and f"{PROJECT}:replicas" in text
    assert f"pulumi config set {PROJECT}:maxModelLen 32768" in text
