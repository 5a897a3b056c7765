"""The CI workflow files pass actionlint (the GitHub Actions linter), built from its Go module.

actionlint's PyPI wrapper downloads a release binary from GitHub at install time, which these
machines cannot reach, so the test builds the pinned Go module into the project's cache (about a
minute the first time, then reused). Without Go it skips on a laptop and fails under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pulumi_cli import REPO

ACTIONLINT = "github.com/rhysd/actionlint/cmd/actionlint@v1.7.12"
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint() -> str:
    cache = Path(os.environ.get("VLLM_AI_DEPLOY_CACHE", Path.home() / ".cache" / "vllm-ai-deploy"))
    tools = cache / "tools" / ACTIONLINT.rsplit("@", 1)[1]
    binary = tools / "actionlint"
    if not binary.exists():
        if shutil.which("go") is None:
            reason = f"building actionlint needs Go ({ACTIONLINT})"
            if os.environ.get("CI"):
                pytest.fail(reason, pytrace=False)
            pytest.skip(reason)
        subprocess.run(["go", "install", ACTIONLINT], env={**os.environ, "GOBIN": str(tools)},
                       check=True, capture_output=True, timeout=900)
    return str(binary)


def test_there_is_a_pull_request_workflow() -> None:
    assert [w.name for w in WORKFLOWS] == ["preview.yml"]
    text = WORKFLOWS[0].read_text()
    assert "pull_request" in text and "--policy-pack policy" in text and "gh pr comment" in text


@pytest.mark.parametrize("workflow", WORKFLOWS, ids=lambda w: w.name)
def test_workflow_passes_actionlint(actionlint: str, workflow: Path) -> None:
    result = subprocess.run([actionlint, "-no-color", str(workflow)], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_actionlint_catches_a_broken_workflow(actionlint: str, tmp_path: Path) -> None:
    broken = tmp_path / "broken.yml"
    broken.write_text(WORKFLOWS[0].read_text().replace("runs-on: ubuntu-latest", "runs-on: [", 1))
    result = subprocess.run([actionlint, "-no-color", str(broken)], capture_output=True, text=True)
    assert result.returncode != 0
