"""End to end with the real Pulumi CLI against the emulator (skipped when `pulumi` is not on PATH).

The project is copied to a temporary directory (so that `pulumi config set` never edits the
repository's stack files) with its `.venv` linked, a local file backend and passphrase are used,
and `dev` is pointed at a fresh emulator: `pulumi up`, `pulumi stack output`, a chat completion
with the openai client, `pulumi preview --expect-no-changes`, a config change updated in place,
`pulumi refresh`, `pulumi destroy`, and the emulator then holds no app and no token. A second test
runs the one-command local deploy itself (`scripts/local_deploy.py up` / `down`).
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from components.ovhai import OvhAiClient
from emulator.runner import RunningEmulator

REPO = Path(__file__).resolve().parent.parent
PULUMI = shutil.which("pulumi")
QUESTION = "Give me the name of OVHcloud's founder."

pytestmark = [
    pytest.mark.e2e,
    pytest.mark.slow,
    pytest.mark.skipif(PULUMI is None, reason="the Pulumi CLI is not on PATH (https://www.pulumi.com/docs/install/)"),
]


@pytest.fixture
def project(tmp_path: Path, fresh_emulator: RunningEmulator) -> tuple[Path, dict[str, str]]:
    work = tmp_path / "project"
    work.mkdir()
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"):
        shutil.copy(REPO / name, work / name)
    (work / ".venv").symlink_to(REPO / ".venv")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    state = tmp_path / "state"
    state.mkdir()
    env.update(
        PULUMI_BACKEND_URL="file://" + state.as_posix(),
        PULUMI_CONFIG_PASSPHRASE="e2e-passphrase",
        PULUMI_SKIP_UPDATE_CHECK="true",
        OVHAI_TOKEN=fresh_emulator.admin_token,
        HF_TOKEN="hf_e2e_placeholder",
    )
    pulumi(work, env, "stack", "select", "--create", "dev")
    pulumi(work, env, "config", "set", "ovhai:endpoint", fresh_emulator.base_url)
    return work, env


def pulumi(cwd: Path, env: dict[str, str], *args: str) -> str:
    assert PULUMI is not None
    result = subprocess.run([PULUMI, *args, "--non-interactive"], cwd=cwd, env=env, text=True,
                            capture_output=True, timeout=600)
    assert result.returncode == 0, f"pulumi {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
    return result.stdout


def outputs(cwd: Path, env: dict[str, str]) -> dict[str, object]:
    return json.loads(  # type: ignore[no-any-return]
        pulumi(cwd, env, "stack", "output", "--json", "--show-secrets"))


def test_main_job_against_the_emulator(project: tuple[Path, dict[str, str]],
                                       fresh_emulator: RunningEmulator) -> None:
    from openai import OpenAI

    work, env = project
    up = pulumi(work, env, "up", "--yes")
    assert "Planner's table" in up or "planner" in up.lower()
    out = outputs(work, env)
    assert out["flavor"] == "l40s-1-gpu" and out["gpus"] == 2 and out["tensorParallel"] == 2
    assert str(out["openaiBaseUrl"]).startswith(fresh_emulator.base_url)
    plain = json.loads(pulumi(work, env, "stack", "output", "--json"))
    assert plain["token"] == "[secret]"

    client = OpenAI(base_url=str(out["openaiBaseUrl"]), api_key=str(out["token"]), max_retries=3)
    reply = client.chat.completions.create(model=str(out["model"]),
                                           messages=[{"role": "user", "content": QUESTION}])
    assert reply.choices[0].message.content

    pulumi(work, env, "preview", "--expect-no-changes")

    pulumi(work, env, "config", "set", "vllm-ai-deploy:gpuMemoryUtilization", "0.85")
    preview = json.loads(pulumi(work, env, "preview", "--json"))
    ops = {step["op"] for step in preview.get("steps", []) if step.get("op") != "same"}
    assert ops == {"update"}, ops
    pulumi(work, env, "up", "--yes")
    after = outputs(work, env)
    assert after["appId"] == out["appId"] and after["token"] == out["token"]
    with OvhAiClient(fresh_emulator.base_url, fresh_emulator.admin_token) as api:
        app = api.get_app(str(out["appId"]))
        assert "0.85" in (app.spec.command or [])

    pulumi(work, env, "refresh", "--yes")
    pulumi(work, env, "preview", "--expect-no-changes")
    pulumi(work, env, "destroy", "--yes")
    with OvhAiClient(fresh_emulator.base_url, fresh_emulator.admin_token) as api:
        assert api.list_apps() == []
        assert api.list_tokens() == []


def _port_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.skipif(not _port_free(19080), reason="port 19080 (Pulumi.dev.yaml's emulator) is in use")
def test_one_command_local_deploy(tmp_path: Path) -> None:
    local = tmp_path / "local"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    run = [sys.executable, str(REPO / "scripts" / "local_deploy.py")]
    stack_file = REPO / "Pulumi.dev.yaml"
    original = stack_file.read_text(encoding="utf-8")  # `stack init` adds an encryptionsalt line
    try:
        first = subprocess.run([*run, "up", "--local-dir", str(local)], cwd=REPO, env=env, text=True,
                               capture_output=True, timeout=900)
        assert first.returncode == 0, first.stdout + first.stderr
        assert QUESTION in first.stdout
        again = subprocess.run([*run, "up", "--local-dir", str(local)], cwd=REPO, env=env, text=True,
                               capture_output=True, timeout=900)
        assert again.returncode == 0 and "emulator already running" in again.stdout
    finally:
        down = subprocess.run([*run, "down", "--local-dir", str(local)], cwd=REPO, env=env, text=True,
                              capture_output=True, timeout=900)
        stack_file.write_text(original, encoding="utf-8")
    assert down.returncode == 0, down.stdout + down.stderr
    assert not (local / "emulator.json").exists()
