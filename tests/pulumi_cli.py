"""The real Pulumi CLI for the end-to-end tests: where it is, and a project copy to drive it.

`scripts/setup.sh` installs the pinned CLI (scripts/install-pulumi.sh) and links it as
`.venv/bin/pulumi`. A test that needs it and cannot find it skips with the command that installs
it on a developer's machine, and FAILS under CI (CI=true): a missing CLI is a broken set-up there,
never a silent pass.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parent.parent
PASSPHRASE = "e2e-passphrase"


def find_pulumi() -> str | None:
    beside = Path(sys.prefix) / "bin" / "pulumi"
    return shutil.which("pulumi") or (str(beside) if beside.exists() else None)


def require_pulumi() -> str:
    found = find_pulumi()
    if found is not None:
        return found
    reason = "the Pulumi CLI is not installed: run `bash scripts/setup.sh` (it builds the pinned CLI)"
    if os.environ.get("CI"):
        pytest.fail(f"under CI the end-to-end tests must run, but {reason}", pytrace=False)
    pytest.skip(reason)


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without any PULUMI_* setting that could point at another backend."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PULUMI_")}
    env["PATH"] = f"{Path(sys.prefix) / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra)
    return env


@dataclass
class PulumiProject:
    """A copy of a Pulumi project in a temp dir, on a file backend shared by the copies of one test."""

    cwd: Path
    env: dict[str, str]
    cli: str
    # Everything the CLI printed, for leak checks; `--show-secrets` is the one request to print them.
    printed: list[str] = field(default_factory=list)

    def run(self, *args: str, ok: bool = True, timeout: float = 600) -> subprocess.CompletedProcess[str]:
        result = subprocess.run(
            [self.cli, *args, "--non-interactive"], cwd=self.cwd, env=self.env, text=True,
            capture_output=True, timeout=timeout,
        )
        if "--show-secrets" not in args:
            self.printed += [result.stdout, result.stderr]
        if ok:
            assert result.returncode == 0, f"pulumi {' '.join(args)}:\n{result.stdout}\n{result.stderr}"
        return result

    def outputs(self, *, secrets: bool = False) -> dict[str, Any]:
        args = ["stack", "output", "--json"] + (["--show-secrets"] if secrets else [])
        return json.loads(self.run(*args).stdout)  # type: ignore[no-any-return]

    def preview_steps(self, *extra: str) -> list[dict[str, Any]]:
        """`pulumi preview --json` steps other than `same`, as the engine plans them."""
        plan = json.loads(self.run("preview", "--json", *extra).stdout)
        return [s for s in plan.get("steps", []) if s.get("op") != "same"]

    def config_set(self, key: str, value: str, *, secret: bool = False) -> None:
        self.run("config", "set", *(["--secret"] if secret else []), key, value)


def copy_project(source: Path, dest: Path, files: Iterable[str], state: Path, cli: str,
                 **env: str) -> PulumiProject:
    """Copy `files` of the project at `source` (so that `pulumi config set` never edits the
    repository's stack files) and link the repository's .venv where Pulumi.yaml expects it."""
    dest.mkdir(parents=True)
    for name in files:
        text = (source / name).read_text(encoding="utf-8")
        # A stack file's encryptionsalt belongs to the passphrase of whoever ran it (local_deploy
        # writes one): the copy gets its own from this test's passphrase.
        kept = [line for line in text.splitlines(keepends=True) if not line.startswith("encryptionsalt:")]
        (dest / name).write_text("".join(kept), encoding="utf-8")
    state.mkdir(exist_ok=True)
    return PulumiProject(
        dest,
        clean_env(
            PULUMI_BACKEND_URL="file://" + state.as_posix(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            **env,
        ),
        cli,
    )


MAIN_FILES = ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py")


def main_stack(tmp_path: Path, cli: str, *, stack: str = "dev", files: Iterable[str] = MAIN_FILES,
               state: Path | None = None, **env: str) -> PulumiProject:
    """A copy of the main project with the repository's .venv linked and `stack` selected."""
    proj = copy_project(REPO, tmp_path / "main", files, state or tmp_path / "state", cli, **env)
    (proj.cwd / ".venv").symlink_to(REPO / ".venv")
    proj.run("stack", "select", "--create", stack)
    return proj


def use_public_door(proj: PulumiProject, base_url: str, *, application_key: str,
                    application_secret: str, consumer_key: str, service_name: str | None = None,
                    region: str = "gra") -> None:
    """Point the stack at an emulator's public door (`/1.0`) with signed-request credentials,
    instead of the regional door its stack file names."""
    proj.run("config", "rm", "ovhai:endpoint")
    proj.config_set("ovh:endpoint", base_url + "/1.0")
    proj.config_set("ovh:applicationKey", application_key)
    proj.config_set("ovh:applicationSecret", application_secret, secret=True)
    proj.config_set("ovh:consumerKey", consumer_key, secret=True)
    if service_name is not None:
        proj.config_set("vllm-ai-deploy:serviceName", service_name)
    proj.config_set("ovhai:region", region)


def stand_in_platform(tmp_path: Path, state: Path, cli: str, program: str) -> PulumiProject:
    """A `platform` project whose program only exports outputs (the pulumi-resource-ovh plugin
    of the real platform/ cannot be obtained here), sharing the main project's backend."""
    source = tmp_path / "platform"
    source.mkdir()
    (source / "Pulumi.yaml").write_text(
        "name: platform\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\n")
    (source / "__main__.py").write_text(program)
    platform = copy_project(source, tmp_path / "platform-copy", ["Pulumi.yaml", "__main__.py"], state, cli)
    (platform.cwd / ".venv").symlink_to(REPO / ".venv")
    return platform
