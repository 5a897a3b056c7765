"""scripts/install-pulumi.sh: one pin, a stable last line, and a CLI that is not older than the SDK.

The install itself is exercised by scripts/setup.sh (CI runs it from nothing); here it runs again,
which takes well under a second once the CLI is in its cache, and must print the same path.
"""

from __future__ import annotations

import re
import subprocess

import pytest

from tests.pulumi_cli import REPO, require_pulumi


def pinned(text: str, pattern: str) -> tuple[int, ...]:
    found = re.search(pattern, text, re.MULTILINE)
    assert found, pattern
    return tuple(int(part) for part in found.group(1).split("."))


CLI_PIN = pinned((REPO / "tools/langhost/go.mod").read_text(),
                 r"github\.com/pulumi/pulumi/sdk/v3 v(\d+\.\d+\.\d+)")
SDK_PIN = pinned((REPO / "requirements.txt").read_text(), r"^pulumi==(\d+\.\d+\.\d+)")


def test_the_cli_is_not_older_than_the_python_sdk() -> None:
    assert CLI_PIN[0] == SDK_PIN[0] and CLI_PIN >= SDK_PIN, (CLI_PIN, SDK_PIN)


@pytest.mark.slow
def test_install_prints_the_pinned_cli_on_its_last_line() -> None:
    require_pulumi()  # installed by setup.sh; a fresh install here would take minutes
    result = subprocess.run(["bash", str(REPO / "scripts/install-pulumi.sh")], capture_output=True,
                            text=True, timeout=1800)
    assert result.returncode == 0, result.stderr
    path = result.stdout.strip().splitlines()[-1]
    version = subprocess.run([path, "version"], capture_output=True, text=True, check=True).stdout.strip()
    assert version == "v" + ".".join(map(str, CLI_PIN))
    plugins = subprocess.run([path, "plugin", "ls"], capture_output=True, text=True)
    assert plugins.returncode == 0, plugins.stderr
    assert "install-pulumi:" in result.stderr  # progress goes to stderr, not onto the path line
