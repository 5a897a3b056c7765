"""End to end with the real Pulumi CLI (the pinned one scripts/setup.sh installs) against the emulator.

Each test copies the project to a temp dir (so that `pulumi config set` never edits the
repository's stack files) with the repository's .venv linked, uses a file backend and a passphrase,
and points `dev` at a fresh emulator. Nothing is mocked: the engine, the Python language host, the
dynamic-provider process, the emulator and the OpenAI client are the real ones. Without the CLI the
tests skip on a developer's machine and fail under CI (tests/pulumi_cli.py).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from components.ovhai import OvhAiClient
from emulator.runner import RunningEmulator
from tests.pulumi_cli import (
    MAIN_FILES,
    REPO,
    PulumiProject,
    clean_env,
    copy_project,
    main_stack,
    require_pulumi,
)

QUESTION = "Give me the name of OVHcloud's founder."
HF_TOKEN = "hf_e2e_do_not_leak_0123456789"
APP_TYPE = "pulumi-python:dynamic/ovhai:AiApp"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def cli() -> str:
    return require_pulumi()


@pytest.fixture
def project(tmp_path: Path, fresh_emulator: RunningEmulator, cli: str) -> PulumiProject:
    """The main project's `dev` stack, pointed at a fresh emulator."""
    proj = main_stack(tmp_path, cli, OVHAI_TOKEN=fresh_emulator.admin_token, HF_TOKEN=HF_TOKEN)
    proj.config_set("ovhai:endpoint", fresh_emulator.base_url)
    return proj


@pytest.fixture
def api(fresh_emulator: RunningEmulator) -> Iterator[OvhAiClient]:
    with OvhAiClient(fresh_emulator.base_url, fresh_emulator.admin_token) as client:
        yield client


def app_urn(project: PulumiProject) -> str:
    return f"urn:pulumi:dev::vllm-ai-deploy::vllm-ai-deploy:index:VllmDeployment${APP_TYPE}::vllm-app"


def request_count(emulator: RunningEmulator) -> int:
    answer = httpx.get(f"{emulator.base_url}/_emulator/requests",
                       headers={"Authorization": f"Bearer {emulator.admin_token}"})
    answer.raise_for_status()
    return int(answer.json()["count"])


def assert_no_plaintext(text: str, secrets: dict[str, str]) -> None:
    for what, value in secrets.items():
        assert value not in text, f"{what} appears in plain text"


# ----------------------------------------------------------------------------------- the main job


def test_up_outputs_chat_no_changes_no_leak_destroy(project: PulumiProject,
                                                   fresh_emulator: RunningEmulator,
                                                   api: OvhAiClient) -> None:
    from openai import OpenAI

    up = project.run("up", "--yes").stdout
    assert "Planner's table" in up and "+ 4 created" in up

    masked = project.outputs()
    for key in ("endpoint", "openaiBaseUrl", "model", "appId"):
        assert masked[key], key
    assert masked["token"] == "[secret]"
    out = project.outputs(secrets=True)
    assert out["flavor"] == "l40s-1-gpu" and out["gpus"] == 2 and out["tensorParallel"] == 2
    assert str(out["openaiBaseUrl"]) == f"{fresh_emulator.base_url}/app/{out['appId']}/v1"

    # The minted, label-scoped token is what a consumer uses: the OpenAI client gets the seed's answer.
    client = OpenAI(base_url=str(out["openaiBaseUrl"]), api_key=str(out["token"]), max_retries=3)
    reply = client.chat.completions.create(model=str(out["model"]),
                                           messages=[{"role": "user", "content": QUESTION}])
    assert reply.choices[0].message.content
    streamed = "".join(
        chunk.choices[0].delta.content or ""
        for chunk in client.chat.completions.create(
            model=str(out["model"]), messages=[{"role": "user", "content": QUESTION}], stream=True)
        if chunk.choices
    )
    assert streamed == reply.choices[0].message.content

    project.run("preview", "--expect-no-changes")

    # Secrets: only ciphertext in the state, nothing in clear in anything the CLI printed.
    exported = project.run("stack", "export").stdout
    secrets = {"HF_TOKEN": HF_TOKEN, "the API token": fresh_emulator.admin_token,
               "the minted token": str(out["token"])}
    assert_no_plaintext(exported, secrets)
    assert '"ciphertext"' in exported
    assert_no_plaintext("\n".join(project.printed), secrets)

    project.run("destroy", "--yes")
    assert api.list_apps() == [] and api.list_tokens() == []


def test_update_in_place_then_replace_without_downtime(project: PulumiProject,
                                                       fresh_emulator: RunningEmulator,
                                                       api: OvhAiClient) -> None:
    project.run("up", "--yes")
    first = project.outputs(secrets=True)

    # An update-in-place field: the engine plans an update, and the app keeps its id.
    project.config_set("vllm-ai-deploy:gpuMemoryUtilization", "0.85")
    steps = project.preview_steps("--diff")
    assert [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in steps] == [("update", "vllm-app")], steps
    project.run("up", "--yes")
    updated = project.outputs(secrets=True)
    assert updated["appId"] == first["appId"]
    assert "0.85" in (api.get_app(str(first["appId"])).spec.command or [])

    # A replace field: the engine plans a replacement, creates the new app while the old one still
    # serves, and deletes the old one only then. A client sending requests to the newest RUNNING
    # app of the deployment all along sees no failure.
    project.config_set("vllm-ai-deploy:appName", "vllm-renamed")
    steps = project.preview_steps("--diff")
    app_step = next(s for s in steps if s["urn"].endswith("::vllm-app"))
    assert app_step["op"] == "replace" and "spec.name" in app_step.get("replaceReasons", []), app_step

    watcher = ServingWatcher(fresh_emulator, str(first["labelSelector"]), str(first["model"]))
    with watcher:
        project.run("up", "--yes")
    replaced = project.outputs(secrets=True)
    new_id, old_id = str(replaced["appId"]), str(first["appId"])
    assert new_id != old_id
    assert watcher.failures == [], watcher.failures[:5]
    assert watcher.requests > 0
    assert any({old_id, new_id} <= seen for seen in watcher.running_sets), \
        "the old and the new app were never RUNNING at the same time"
    assert [a.id for a in api.list_apps()] == [new_id]
    assert api.get_app(new_id).spec.name == "vllm-renamed"


class ServingWatcher:
    """Polls the deployment's apps and sends a chat request to the newest RUNNING one, in a thread."""

    def __init__(self, emulator: RunningEmulator, selector: str, model: str) -> None:
        self.emulator, self.selector, self.model = emulator, selector, model
        self.running_sets: list[set[str]] = []
        self.failures: list[str] = []
        self.requests = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def __enter__(self) -> ServingWatcher:
        self._thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        headers = {"Authorization": f"Bearer {self.emulator.admin_token}"}
        deadline = time.monotonic() + 300  # bounded even if the test hangs
        with httpx.Client(timeout=10) as http:
            while not self._stop.is_set() and time.monotonic() < deadline:
                apps = http.get(f"{self.emulator.base_url}/v1/app", headers=headers,
                                params={"labelSelector": self.selector}).json()
                items = apps["items"] if isinstance(apps, dict) else apps
                running = [a for a in items if a["status"]["state"] == "RUNNING"]
                self.running_sets.append({a["id"] for a in running})
                if running:
                    newest = max(running, key=lambda a: a["createdAt"])
                    answer = http.post(f"{newest['status']['url']}/v1/chat/completions", headers=headers,
                                       json={"model": self.model,
                                             "messages": [{"role": "user", "content": QUESTION}]})
                    self.requests += 1
                    if answer.status_code != 200:
                        self.failures.append(f"{newest['id']}: {answer.status_code} {answer.text[:200]}")
                time.sleep(0.2)


# ----------------------------------------------------------------------------------------- drift


def test_drift_deleted_and_stopped_behind_pulumis_back(project: PulumiProject,
                                                        api: OvhAiClient) -> None:
    project.run("up", "--yes")
    first = str(project.outputs()["appId"])

    # Deleted behind Pulumi's back: refresh drops it from the state, up creates a new one.
    api.delete_app(first, force=True)  # as `ovhai app delete --force` would
    wait_for(lambda: all(a.id != first for a in api.list_apps()), "the app to be deleted")
    project.run("refresh", "--yes")
    state = json.loads(project.run("stack", "export").stdout)
    assert not [r for r in state["deployment"]["resources"] if r["type"] == APP_TYPE]
    steps = project.preview_steps()
    assert ("create", "vllm-app") in [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in steps], steps
    project.run("up", "--yes")
    second = str(project.outputs()["appId"])
    assert second != first and api.get_app(second).state == "RUNNING"

    # Stopped behind Pulumi's back: refresh records STOPPED, and up starts the same app again
    # (README, "Drift").
    api.stop_app(second)
    wait_for(lambda: api.get_app(second).state == "STOPPED", "the app to stop")
    project.run("refresh", "--yes")
    state = json.loads(project.run("stack", "export").stdout)
    app = next(r for r in state["deployment"]["resources"] if r["type"] == APP_TYPE)
    assert app["outputs"]["state"] == "STOPPED"
    planned = [(s["op"], s["urn"].rsplit("::", 1)[-1]) for s in project.preview_steps()]
    assert planned == [("update", "vllm-app")], planned
    project.run("up", "--yes")
    assert str(project.outputs()["appId"]) == second
    assert api.get_app(second).state == "RUNNING"
    project.run("preview", "--expect-no-changes")


def wait_for(condition: Any, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


# ------------------------------------------------------------------------------ consumer stacks


def test_consumer_stack_reads_the_model_stack(project: PulumiProject, fresh_emulator: RunningEmulator,
                                              api: OvhAiClient, cli: str, tmp_path: Path) -> None:
    project.run("up", "--yes")
    model = project.outputs(secrets=True)

    # The chat UI lives in examples/chat-ui of the same tree (its virtualenv is ../../.venv).
    ui_dir = project.cwd / "examples" / "chat-ui"
    ui_dir.parent.mkdir()
    ui = copy_project(REPO / "examples" / "chat-ui", ui_dir, MAIN_FILES, tmp_path / "state", cli,
                      OVHAI_TOKEN=fresh_emulator.admin_token)
    ui.run("stack", "select", "--create", "dev")
    ui.config_set("ovhai:endpoint", fresh_emulator.base_url)
    ui.config_set("vllm-chat-ui:modelStack", "organization/vllm-ai-deploy/dev")
    ui.run("up", "--yes")
    ui_out = ui.outputs()
    assert ui_out["model"] == model["model"]

    app = api.get_app(str(ui_out["appId"]))
    env = {e.name: e.value for e in app.spec.env_vars or []}
    assert env["OPENAI_API_BASE_URL"] == model["openaiBaseUrl"]
    assert env["OPENAI_API_KEY"] == model["token"]  # on the platform, as the app's env
    exported = ui.run("stack", "export").stdout
    assert str(model["token"]) not in exported  # in the consumer's state only as ciphertext
    ui.run("destroy", "--yes")
    project.run("destroy", "--yes")
    assert api.list_apps() == [] and api.list_tokens() == []


# ---------------------------------------------------------------------------------- bad config


@pytest.mark.parametrize(
    ("stack", "settings", "key"),
    [
        ("mistral-small-prod", {"vllm-ai-deploy:image": "vllm/vllm-openai:latest"}, "vllm-ai-deploy:image"),
        ("dev", {"vllm-ai-deploy:maxModelLen": "4000000"}, "vllm-ai-deploy:maxModelLen"),
    ],
    ids=["latest-in-prod", "context-fits-no-gpu"],
)
def test_bad_config_fails_preview_before_any_api_call(tmp_path: Path, fresh_emulator: RunningEmulator,
                                                      cli: str, stack: str, settings: dict[str, str],
                                                      key: str) -> None:
    files = (*MAIN_FILES, f"Pulumi.{stack}.yaml") if stack != "dev" else MAIN_FILES
    proj = main_stack(tmp_path, cli, stack=stack, files=files, OVHAI_TOKEN=fresh_emulator.admin_token,
                      HF_TOKEN=HF_TOKEN)
    proj.config_set("ovhai:endpoint", fresh_emulator.base_url)
    for name, value in settings.items():
        proj.config_set(name, value)
    before = request_count(fresh_emulator)
    result = proj.run("preview", ok=False)
    assert result.returncode != 0
    printed = result.stdout + result.stderr
    assert key.split(":", 1)[1] in printed and "pulumi config set" in printed, printed
    assert "Traceback" not in printed
    assert request_count(fresh_emulator) == before, "the emulator saw a request"


# ------------------------------------------------------------------------- the one-command deploy


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


def test_one_command_local_deploy(tmp_path: Path, cli: str) -> None:
    if not _port_free(19080):
        pytest.fail("port 19080 (Pulumi.dev.yaml's emulator) is in use: stop what holds it", pytrace=False)
    local = tmp_path / "local"
    env = clean_env()
    run = [sys.executable, str(REPO / "scripts" / "local_deploy.py")]
    stack_file = REPO / "Pulumi.dev.yaml"
    original = stack_file.read_text(encoding="utf-8")  # `stack init` adds an encryptionsalt line

    def local_deploy(verb: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run([*run, verb, "--local-dir", str(local)], cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=900)

    try:
        first = local_deploy("up")
        assert first.returncode == 0, first.stdout + first.stderr
        assert QUESTION in first.stdout and "+ 4 created" in first.stdout
        again = local_deploy("up")
        assert again.returncode == 0 and "emulator already running" in again.stdout
        # The second run changes nothing: every resource unchanged, nothing created or updated.
        assert "4 unchanged" in again.stdout, again.stdout
        assert not any(word in again.stdout for word in (" created", " updated", " replaced", " deleted"))
    finally:
        down = local_deploy("down")
        stack_file.write_text(original, encoding="utf-8")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not (local / "emulator.json").exists()


# ------------------------------------------------------------------------------------- adoption


def test_an_app_made_outside_pulumi_is_adopted_not_recreated(project: PulumiProject,
                                                             api: OvhAiClient) -> None:
    """`pulumi import` cannot import a dynamic resource (the engine's import Read carries no
    serialized provider: the Python SDK fails with KeyError '__provider'), so the stack key
    `adoptAppId` does it: the first `pulumi up` takes the app over, as README "Adopting an app" says."""
    planned = next(s for s in project.preview_steps() if s["urn"].endswith("::vllm-app"))
    spec = dict(planned["newState"]["inputs"]["spec"])
    # As `ovhai app run` would make it: no deployment label, an env var the stack sets otherwise.
    spec["envVars"] = [*spec.get("envVars", []), {"name": "MADE_BY", "value": "ovhai app run"}]
    made = api.create_app(spec)
    wait_for(lambda: api.get_app(made.id).state == "RUNNING", "the hand-made app to run")

    other = api.create_app({**spec, "name": "another-app"})
    project.config_set("vllm-ai-deploy:adoptAppId", other.id)
    refused = project.run("up", "--yes", ok=False)
    assert refused.returncode != 0
    assert f"adoptAppId={other.id}" in refused.stdout and "spec.name" in refused.stdout, refused.stdout
    assert {a.id for a in api.list_apps()} == {made.id, other.id}  # nothing created, nothing deleted
    api.delete_app(other.id, force=True)

    project.config_set("vllm-ai-deploy:adoptAppId", made.id)
    project.run("up", "--yes")
    assert project.outputs()["appId"] == made.id
    adopted = api.get_app(made.id)
    assert (adopted.spec.labels or {}).get("vllm-ai-deploy/deployment") == "vllm-ai-deploy-dev"
    assert "MADE_BY" not in {e.name for e in adopted.spec.env_vars or []}  # converged in place
    wait_for(lambda: [a.id for a in api.list_apps()] == [made.id], "the other app to be gone")
    project.run("preview", "--expect-no-changes")
    project.run("config", "rm", "vllm-ai-deploy:adoptAppId")
    project.run("preview", "--expect-no-changes")  # the key steers the create alone


# ---------------------------------------------------------------------------------- policy pack


def test_policy_pack_at_preview(project: PulumiProject, tmp_path: Path) -> None:
    """`pulumi preview --policy-pack policy`: the seed passes; an over-budget stack and an
    operator consumer token fail with messages naming the keys that fix them."""
    pack = str(REPO / "policy")
    passed = project.run("preview", "--policy-pack", pack)
    assert "vllm-ai-deploy@v" in passed.stdout and "mandatory" not in passed.stdout

    config = tmp_path / "policy-config.json"
    config.write_text(json.dumps({"hourly-cost-budget": {"budgets": {"dev": 1.0}}}))
    over = project.run("preview", "--policy-pack", pack, "--policy-pack-config", str(config), ok=False)
    assert over.returncode != 0
    assert "hourly-cost-budget" in over.stdout and "2.80 EUR/h" in over.stdout, over.stdout

    project.config_set("vllm-ai-deploy:tokenRole", "operator")
    operator = project.run("preview", "--policy-pack", pack, ok=False)
    assert operator.returncode != 0
    assert "read-only-consumer-token" in operator.stdout
    assert "pulumi config set vllm-ai-deploy:tokenRole read" in operator.stdout, operator.stdout
