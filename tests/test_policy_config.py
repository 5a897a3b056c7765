"""A `--policy-pack-config` file with an unknown policy name or setting: a clear error naming it.

The engine checks the types of the settings a policy's schema declares, but takes any other key
in silence (a `defaultBudgett` typo would leave the budget unchecked) and ignores an unknown
policy name whose entry has an enforcementLevel (seen with the pinned CLI, 3.274.1); the pack
refuses both when the engine configures it (policy/__main__.py). An unknown name without an
enforcementLevel is refused by the engine itself (`invalid enforcement level ""`, no name), so
policy/check_config.py names it before a preview. Real CLI: a preview with the pack.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest

from tests.pulumi_cli import REPO, clean_env, require_pulumi


@pytest.fixture(scope="module")
def pack() -> Iterator[ModuleType]:
    sys.path.insert(0, str(REPO / "policy"))  # the pack's modules are top-level names of policy/
    try:
        yield importlib.import_module("pack")
    finally:
        sys.path.remove(str(REPO / "policy"))


def test_unknown_policy_names_and_settings_are_named(pack: ModuleType) -> None:
    assert pack.config_problems(json.loads((REPO / "policy" / "config.example.json").read_text()),
                                pack.POLICIES) == []
    levels = {"all": "advisory", "allowed-flavors": {"enforcementLevel": "advisory", "allowed": ["x"]}}
    assert pack.config_problems(levels, pack.POLICIES) == []
    problems = pack.config_problems(
        {"hourly-cost-budgte": {"defaultBudget": 5}, "hourly-cost-budget": {"defaultBudgett": 5}},
        pack.POLICIES)
    assert problems[0].startswith("unknown policy 'hourly-cost-budgte' (the pack's policies: allowed-flavors")
    assert problems[1] == ("policy 'hourly-cost-budget' has no setting 'defaultBudgett' "
                           "(it takes: budgets, defaultBudget, enforcementLevel)")


def test_check_config_names_the_key(tmp_path: Path) -> None:
    bad = tmp_path / "config.json"
    bad.write_text(json.dumps({"allowed-regionz": {"allowed": ["gra"]}}))
    done = subprocess.run([sys.executable, "policy/check_config.py", str(bad)], cwd=REPO,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 1 and "unknown policy 'allowed-regionz'" in done.stderr
    assert "Traceback" not in done.stderr
    ok = subprocess.run([sys.executable, "policy/check_config.py", "policy/config.example.json"], cwd=REPO,
                        capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr


def test_a_preview_with_an_unknown_setting_fails_naming_it(tmp_path: Path) -> None:
    cli = require_pulumi()
    project = tmp_path / "project"
    project.mkdir()
    (project / "Pulumi.yaml").write_text(
        f"name: policy-config-test\nruntime:\n  name: python\n  options:\n    virtualenv: {sys.prefix}\n")
    (project / "__main__.py").write_text("import pulumi\n\npulumi.export('ok', True)\n")
    env = clean_env(PULUMI_BACKEND_URL=(tmp_path / "state").as_uri(), PULUMI_CONFIG_PASSPHRASE="x",
                    PULUMI_SKIP_UPDATE_CHECK="1")
    (tmp_path / "state").mkdir()
    subprocess.run([cli, "stack", "init", "dev"], cwd=project, env=env, check=True, capture_output=True,
                   timeout=120)
    for config, needle in (
        ({"hourly-cost-budget": {"defaultBudgett": 5}}, "has no setting 'defaultBudgett'"),
        ({"hourly-cost-budgte": {"enforcementLevel": "mandatory"}}, "unknown policy 'hourly-cost-budgte'"),
    ):
        path = tmp_path / "policy-config.json"
        path.write_text(json.dumps(config))
        done = subprocess.run([cli, "preview", "--stack", "dev", "--policy-pack", str(REPO / "policy"),
                               "--policy-pack-config", str(path)], cwd=project, env=env,
                              capture_output=True, text=True, timeout=300)
        output = done.stdout + done.stderr
        assert done.returncode != 0 and needle in output, output[-3000:]
        assert "--policy-pack-config" in output and "Traceback" not in output
