"""The CI workflow files pass actionlint (the GitHub Actions linter), built from its Go module.

actionlint's PyPI wrapper downloads a release binary from GitHub at install time, which these
machines cannot reach, so scripts/install-actionlint.sh (run by scripts/setup.sh, and here if
needed) builds the pinned Go module into the project's cache. Without Go it skips on a laptop and
fails under CI.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.pulumi_cli import REPO

INSTALLER = REPO / "scripts" / "install-actionlint.sh"  # holds the pinned version
WORKFLOWS = sorted((REPO / ".github" / "workflows").glob("*.yml"))


@pytest.fixture(scope="module")
def actionlint() -> str:
    if shutil.which("go") is None and not os.environ.get("CI"):
        pytest.skip("building actionlint needs Go (scripts/install-actionlint.sh)")
    built = subprocess.run(["bash", str(INSTALLER)], capture_output=True, text=True, timeout=900)
    if built.returncode != 0:
        pytest.fail(f"scripts/install-actionlint.sh failed:\n{built.stderr[-2000:]}", pytrace=False)
    return built.stdout.strip().splitlines()[-1]


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
