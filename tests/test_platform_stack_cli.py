"""The platform stack's program with the REAL Pulumi CLI, as far as the engine goes without pulumi-ovh.

Nothing is mocked here: the pinned CLI (tests/pulumi_cli.py) runs `pulumi preview` on a copy of
platform/ with a file backend. The `pulumi-resource-ovh` plugin is a binary that the engine
downloads from GitHub (pulumi_ovh's pulumi-plugin.json names `github://api.github.com/ovh/
pulumi-ovh`), which these machines cannot reach; the test gives the CLI an empty PULUMI_HOME so
that no plugin installed by hand changes the outcome. What it proves: the engine runs the program
(the Python language host, the virtualenv Pulumi.yaml names, `components` importable, the stack
file's config valid) up to the first `ovh:` resource, whose default provider it then fails to
obtain - a failure that names the plugin and its pinned version, not a program error. A bad
config fails earlier, in the program, naming the key, before any plugin is asked for.
The resources' inputs are checked under mocks in tests/test_platform_stack.py.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.pulumi_cli import REPO, PulumiProject, copy_project, require_pulumi

FILES = ["Pulumi.yaml", "Pulumi.gra.yaml", "Pulumi.bhs.yaml", "__main__.py"]
MISSING_PLUGIN = ("Could not automatically download and install resource plugin 'pulumi-resource-ovh' "
                  "at version v2.22.0")
INSTALL_HINT = "pulumi plugin install resource ovh v2.22.0 --server github://api.github.com/ovh/pulumi-ovh"


@pytest.fixture
def platform(tmp_path: Path) -> PulumiProject:
    cli = require_pulumi()
    home = tmp_path / "pulumi-home"
    home.mkdir()
    proj = copy_project(REPO / "platform", tmp_path / "platform", FILES, tmp_path / "state", cli,
                        PULUMI_HOME=str(home))
    (tmp_path / ".venv").symlink_to(REPO / ".venv")  # Pulumi.yaml's virtualenv: ../.venv
    return proj


@pytest.mark.parametrize("stack", ["gra", "bhs"])
def test_preview_runs_the_program_up_to_the_missing_ovh_plugin(platform: PulumiProject, stack: str) -> None:
    platform.run("stack", "init", stack)
    result = platform.run("preview", ok=False, timeout=300)
    printed = result.stdout + result.stderr
    assert result.returncode != 0, printed
    # The engine got the program's first ovh: resource and asked for its default provider ...
    assert "pulumi:providers:ovh" in printed and "default_2_22_0" in printed, printed
    # ... and failed on exactly that: the plugin, its pinned version, and how to install it.
    assert MISSING_PLUGIN in printed, printed
    assert INSTALL_HINT in printed, printed
    # Not a program error: no configuration problem, no frame of the program in a traceback.
    assert "configuration problem" not in printed, printed
    assert "__main__.py" not in printed and "RunError" not in printed, printed


def test_bad_config_fails_in_the_program_naming_the_key_before_any_plugin(platform: PulumiProject) -> None:
    platform.run("stack", "init", "gra")
    platform.config_set("region", "SBG")
    platform.config_set("cachePrefix", "/models")
    result = platform.run("preview", ok=False, timeout=300)
    printed = result.stdout + result.stderr
    assert result.returncode != 0, printed
    assert "stack 'gra': 2 configuration problem(s)" in printed, printed
    assert ("platform:region: 'SBG' is not an AI Deploy region (GRA, BHS); "
            "run `pulumi config set region GRA`") in printed, printed
    assert "platform:cachePrefix: '/models' is not a cache prefix" in printed, printed
    assert "pulumi-resource-ovh" not in printed and "downloading provider" not in printed, printed
    assert "Traceback" not in printed, printed
    assert not list((Path(platform.env["PULUMI_HOME"]) / "plugins").glob("resource-ovh*"))
