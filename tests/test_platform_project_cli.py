"""The REAL Pulumi CLI: a cache stack on the public door deploys with the platform stack's project.

The model stack (a copy of the dev stack) has `cacheStack`, the `ovh:*` credentials and NO
`vllm-ai-deploy:serviceName`: the project comes from the platform stack's `serviceName` output,
read through a real StackReference on the shared file backend. The platform stack is a STAND-IN
exporting what platform/__main__.py exports (tests/test_cache_cli.py says why: the real program
needs the pulumi-resource-ovh plugin, which cannot be obtained here). The emulator (free loopback
port) serves the public door for that project only, so an app made in any other project would fail.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from components.ovhai import OvhAiClient
from emulator.runner import RunningEmulator, start_emulator
from tests.pulumi_cli import REPO, copy_project, require_pulumi

AK, AS, CK = "ppcli-ak", "ppcli-as-secret-4d2e", "ppcli-ck-secret-71a9"
SERVICE = "ppc0123456789abcdef0123456789ab"
ADMIN = "ppcli-admin-8b3c"
PLATFORM = "organization/platform/gra"
STAND_IN = f'''"""Stand-in of platform/__main__.py: its outputs only (tests/test_platform_project_cli.py)."""
import pulumi

bucket = "vllm-model-cache-gra"
pulumi.export("bucket", bucket)
pulumi.export("region", "GRA")
pulumi.export("alias", "S3GRA")
pulumi.export("s3Endpoint", "https://s3.gra.io.cloud.ovh.net")
pulumi.export("cachePrefix", "models")
pulumi.export("volumeSource", f"{{bucket}}@S3GRA/models")
pulumi.export("serviceName", "{SERVICE}")
'''

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    args = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--service-name", SERVICE]
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


def test_up_without_a_service_name_takes_the_platforms(tmp_path: Path, emu: RunningEmulator) -> None:
    cli = require_pulumi()
    state = tmp_path / "state"
    platform_dir = tmp_path / "platform"
    platform_dir.mkdir()
    (platform_dir / "Pulumi.yaml").write_text(
        "name: platform\nruntime:\n  name: python\n  options:\n    toolchain: pip\n    virtualenv: .venv\n")
    (platform_dir / "__main__.py").write_text(STAND_IN)
    platform = copy_project(platform_dir, tmp_path / "platform-copy", ["Pulumi.yaml", "__main__.py"],
                            state, cli)  # fmt: skip
    (platform.cwd / ".venv").symlink_to(REPO / ".venv")
    platform.run("stack", "init", "gra")
    platform.config_set("platform:region", "GRA")  # a stack with no config at all fails to start
    platform.run("up", "--yes", "--skip-preview")

    proj = copy_project(REPO, tmp_path / "main", ("Pulumi.yaml", "Pulumi.dev.yaml", "__main__.py"), state,
                        cli, HF_TOKEN="hf_ppcli_placeholder", OVHAI_TOKEN="", OVHAI_ENDPOINT="",
                        OVH_CLOUD_PROJECT_SERVICE="")  # fmt: skip
    (proj.cwd / ".venv").symlink_to(REPO / ".venv")
    proj.run("stack", "select", "--create", "dev")
    proj.run("config", "rm", "ovhai:endpoint")
    proj.config_set("ovh:endpoint", emu.base_url + "/1.0")
    proj.config_set("ovh:applicationKey", AK)
    proj.config_set("ovh:applicationSecret", AS, secret=True)
    proj.config_set("ovh:consumerKey", CK, secret=True)
    proj.config_set("ovhai:region", "gra")
    proj.config_set("vllm-ai-deploy:cacheStack", PLATFORM)
    assert "serviceName" not in (proj.cwd / "Pulumi.dev.yaml").read_text(encoding="utf-8")

    proj.run("up", "--yes", timeout=600)
    out = proj.outputs()
    with OvhAiClient(emu.base_url, ADMIN) as regional:
        (app,) = regional.list_apps()
    assert app.id == out["appId"]
    hub = next(v for v in app.spec.to_wire()["volumes"] if v["mountPath"] == "/hub")
    assert hub["volumeSource"]["dataStore"]["container"] == "vllm-model-cache-gra"
    proj.run("preview", "--expect-no-changes")
    exported = proj.run("stack", "export").stdout
    for secret in (AS, CK, ADMIN):
        assert secret not in exported and secret not in "\n".join(proj.printed)
    proj.run("destroy", "--yes", timeout=600)
    with OvhAiClient(emu.base_url, ADMIN) as regional:
        assert regional.list_apps() == []
