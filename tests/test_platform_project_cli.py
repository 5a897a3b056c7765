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
from tests.pulumi_cli import main_stack, require_pulumi, stand_in_platform, use_public_door

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
    platform = stand_in_platform(tmp_path, state, cli, STAND_IN)
    platform.run("stack", "init", "gra")
    platform.config_set("platform:region", "GRA")  # a stack with no config at all fails to start
    platform.run("up", "--yes", "--skip-preview")

    proj = main_stack(tmp_path, cli, state=state, HF_TOKEN="hf_ppcli_placeholder", OVHAI_TOKEN="",
                      OVHAI_ENDPOINT="", OVH_CLOUD_PROJECT_SERVICE="")  # fmt: skip
    use_public_door(proj, emu.base_url, application_key=AK, application_secret=AS, consumer_key=CK)
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
