"""`python -m components.bench --stack NAME`: URL, model, token and hourly cost from the stack's
outputs (`pulumi stack output --json --show-secrets`, the real CLI on a file backend), the load on
the emulator's stand-in over loopback. A small program stands in for the deployment stack: it
exports the same output names (components/deployment.py) pointing at a running stand-in app.
The token, a secret output, is never printed nor written into the report.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from components.ovhai import OvhAiClient
from emulator.runner import RunningEmulator
from tests.pulumi_cli import REPO, clean_env, require_pulumi

PROGRAM = """import pulumi

config = pulumi.Config()
pulumi.export("openaiBaseUrl", config.require("url"))
pulumi.export("model", "m")
pulumi.export("token", config.require_secret("token"))
pulumi.export("estimatedHourlyCost", {"amount": 2.5, "perReplica": 2.5, "replicas": 1, "currency": "EUR"})
"""


@pytest.fixture(scope="module")
def app_url(emulator: RunningEmulator) -> Iterator[tuple[str, str]]:
    spec = {"name": "bench-stack", "image": "vllm/vllm-openai:v0.10.1.1",
            "command": ["vllm", "serve", "org/model", "--served-model-name", "m"],
            "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "defaultHttpPort": 8000,
            "labels": {"bench-stack": "yes"}}
    with OvhAiClient(emulator.base_url, emulator.admin_token) as api:
        app = api.create_app(spec)
        token = api.create_token("bench-stack-read", "read", "bench-stack=yes")
        try:
            api.wait_for_app(app.id, timeout=30)
            yield f"{api.get_app(app.id).status.url}/v1", str(token.value)
        finally:
            api.delete_app(app.id, force=True)
            api.wait_for_app_gone(app.id, timeout=60)  # frees its quota for the next test
            api.delete_token(token.id)


def test_the_stack_outputs_drive_the_benchmark(app_url: tuple[str, str], tmp_path: Path) -> None:
    if not (REPO / ".venv-bench" / "bin" / "python").exists():
        pytest.fail("no bench environment at .venv-bench: run `bash scripts/setup.sh` (it makes .venv-bench "
                    "from requirements-bench.txt)")
    cli = require_pulumi()
    url, token = app_url
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: bench-stack-test\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n")
    (project / "__main__.py").write_text(PROGRAM)
    (tmp_path / "state").mkdir()
    env = clean_env(PULUMI_BACKEND_URL=(tmp_path / "state").as_uri(), PULUMI_CONFIG_PASSPHRASE="x",
                    PULUMI_SKIP_UPDATE_CHECK="1")

    def pulumi(*args: str) -> None:
        subprocess.run([cli, *args], cwd=project, env=env, check=True, capture_output=True, timeout=300)

    pulumi("stack", "init", "bench-dev")
    pulumi("config", "set", "url", url)
    pulumi("config", "set", "--secret", "token", token)
    pulumi("up", "--yes", "--skip-preview")
    out = tmp_path / "bench"
    done = subprocess.run([sys.executable, "-m", "components.bench", "--stack", "bench-dev",
                           "--cwd", str(project), "--out", str(out), "--concurrency", "2", "--requests", "8",
                           "--input-tokens", "64", "--output-tokens", "16", "--managed-price", "0.3"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    report = json.loads((out / "report.json").read_text())
    assert report["target"]["stack"] == "bench-dev" and report["target"]["baseUrl"] == url
    assert report["pricing"]["hourlyCost"]["amount"] == 2.5
    assert "stack bench-dev output estimatedHourlyCost" in report["pricing"]["hourlyCost"]["source"]
    level = report["levels"][0]
    assert level["succeeded"] == 8 and level["cost"]["selfHostedPerMillionOutputTokens"] > 0
    assert token not in done.stdout + done.stderr + (out / "report.json").read_text()

    missing = subprocess.run([sys.executable, "-m", "components.bench", "--stack", "no-such-stack",
                              "--cwd", str(project), "--out", str(out)],
                             cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    lines = missing.stderr.strip().splitlines()
    assert missing.returncode == 2 and len(lines) == 1, missing.stderr
    assert lines[0].startswith("bench: error: cannot read the outputs of stack no-such-stack")
