"""AiDatastoreAlias with the REAL Pulumi CLI against the emulator's public door.

A small project in a temp dir declares one AiDatastoreAlias the way platform/__main__.py does,
with the S3 key pair as secret config (standing in for pulumi-ovh's S3Credential outputs: the
pulumi-resource-ovh plugin cannot be obtained here, tests/test_platform_stack_cli.py shows where
the engine stops without it). Nothing is mocked: the pinned CLI, a file backend, the dynamic
provider process the engine starts, the emulator over loopback. What it proves beyond
tests/test_alias_provider.py: the engine keeps the S3 keys out of the state in plain text
(`pulumi stack export`), a rotated key is an in-place update, `preview --expect-no-changes`
holds, destroy removes the alias, and a stack with only the regional door fails its preview
naming the keys, with no API call.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from emulator.runner import RunningEmulator, start_emulator
from tests.pulumi_cli import PulumiProject, copy_project, require_pulumi

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

AK, AS, CK = "cli-ak", "cli-as-secret-2d8e", "cli-ck-secret-51b7"
SERVICE = "c11aa1a5c11aa1a5c11aa1a5c11aa1a5"
ADMIN = "alias-cli-admin-7e0d"
S3_ACCESS, S3_SECRET = "cli-s3-access-0c4b", "cli-s3-secret-never-shown-9f31"
S3_ROTATED = "cli-s3-rotated-66a2"
PROGRAM = '''"""A platform-like program: one datastore alias with secret S3 keys (tests/test_alias_cli.py)."""
import pulumi

from components.resources import AiDatastoreAlias

config = pulumi.Config("aliasdemo")
alias = AiDatastoreAlias(
    "cache-datastore-alias",
    alias=config.require("alias"),
    region="GRA",
    endpoint="https://s3.gra.io.cloud.ovh.net",
    access_key=config.require_secret("accessKey"),
    secret_key=config.require_secret("secretKey"),
    service_name=config.get("serviceName"),
)
pulumi.export("alias", alias.alias)
'''
PROJECT_YAML = f"""name: aliasdemo
runtime:
  name: python
  options:
    toolchain: pip
    virtualenv: {Path(sys.prefix).as_posix()}
"""


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    args = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--service-name", SERVICE]
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


def project(tmp_path: Path) -> PulumiProject:
    cli = require_pulumi()
    source = tmp_path / "source"
    source.mkdir()
    (source / "Pulumi.yaml").write_text(PROJECT_YAML)
    (source / "__main__.py").write_text(PROGRAM)
    proj = copy_project(source, tmp_path / "aliasdemo", ("Pulumi.yaml", "__main__.py"), tmp_path / "state",
                        cli, OVHAI_TOKEN="", OVHAI_ENDPOINT="", OVH_CLOUD_PROJECT_SERVICE="")  # fmt: skip
    proj.run("stack", "select", "--create", "gra")
    proj.config_set("aliasdemo:alias", "vllm-cache-gra")
    proj.config_set("aliasdemo:accessKey", S3_ACCESS, secret=True)
    proj.config_set("aliasdemo:secretKey", S3_SECRET, secret=True)
    return proj


def aliases(emu: RunningEmulator) -> dict[str, dict[str, object]]:
    store = httpx.get(emu.base_url + "/_emulator/datastore", headers={"Authorization": f"Bearer {ADMIN}"})
    return dict(store.json()["aliases"].get("GRA", {}))


def test_up_rotate_and_destroy_keep_the_keys_secret(tmp_path: Path, emu: RunningEmulator) -> None:
    proj = project(tmp_path)
    proj.config_set("ovh:endpoint", emu.base_url + "/1.0")
    proj.config_set("ovh:applicationKey", AK)
    proj.config_set("ovh:applicationSecret", AS, secret=True)
    proj.config_set("ovh:consumerKey", CK, secret=True)
    proj.config_set("aliasdemo:serviceName", SERVICE)  # the platform passes its user's project

    proj.run("up", "--yes")
    assert proj.outputs() == {"alias": "vllm-cache-gra"}
    assert aliases(emu)["vllm-cache-gra"]["endpoint"] == "https://s3.gra.io.cloud.ovh.net"
    proj.run("preview", "--expect-no-changes")

    proj.config_set("aliasdemo:secretKey", S3_ROTATED, secret=True)
    steps = proj.preview_steps()
    assert [s["op"] for s in steps] == ["update"]  # in place: the alias keeps its name and mounts
    proj.run("up", "--yes")
    proj.run("preview", "--expect-no-changes")

    exported = proj.run("stack", "export").stdout
    for secret in (S3_SECRET, S3_ROTATED, S3_ACCESS, AS, CK):
        assert secret not in exported
        assert secret not in "\n".join(proj.printed)
    proj.run("destroy", "--yes")
    assert "vllm-cache-gra" not in aliases(emu)


def test_only_the_regional_door_fails_the_preview_naming_the_keys(
    tmp_path: Path, emu: RunningEmulator
) -> None:
    proj = project(tmp_path)
    proj.config_set("ovhai:endpoint", emu.base_url)
    proj.config_set("ovhai:token", ADMIN, secret=True)
    result = proj.run("preview", ok=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "only on the OVHcloud public API" in text and "pulumi config set ovh:endpoint ovh-eu" in text
    assert ADMIN not in text and S3_SECRET not in text
    counted = httpx.get(f"{emu.base_url}/_emulator/requests", headers={"Authorization": f"Bearer {ADMIN}"})
    assert counted.json()["count"] == 0
