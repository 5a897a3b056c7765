"""The model cache with the REAL Pulumi CLI: a real StackReference, preview failures, up, destroy.

The pinned CLI (tests/pulumi_cli.py) with a file backend runs a copy of the main project's dev
stack against a real emulator process (free loopback port) with its Hub download model on. The
platform stack it references is a STAND-IN: a Python project named `platform` whose program only
exports what platform/__main__.py exports (bucket, region, alias, s3Endpoint, cachePrefix,
volumeSource, and the S3 keys as secrets), because the real program's `ovh:` resources need the
pulumi-resource-ovh plugin, which cannot be obtained here (tests/test_platform_stack_cli.py).
Everything else is real: the engine reads `organization/platform/gra` from the shared backend.

What is checked: a cache stack that does not exist and a bucket in another region fail the
preview naming `cacheStack`, with no traceback and no request to the API; `pulumi up` mounts /hub
from the bucket and pushes the first start's weights (AiCachePush); `pulumi destroy` deletes the
app and keeps the cache; the next `pulumi up` starts with 0 bytes from the Hub.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from emulator.runner import RunningEmulator, start_emulator
from tests.pulumi_cli import PulumiProject, main_stack, require_pulumi, stand_in_platform

ADMIN = "cache-cli-admin-token-93b1"
PLATFORM = "organization/platform/gra"
PREFIX = "models/mistralai--Mistral-Small-24B-Instruct-2501"
STORE_KEY = f"S3GRA|vllm-model-cache-gra|{PREFIX}"
STAND_IN = '''"""Stand-in of platform/__main__.py: its outputs only (tests/test_cache_cli.py says why)."""
import pulumi

config = pulumi.Config("platform")
region = config.get("region") or "GRA"
bucket = f"vllm-model-cache-{pulumi.get_stack()}"
pulumi.export("bucket", bucket)
pulumi.export("region", region)
pulumi.export("alias", f"S3{region}")
pulumi.export("s3Endpoint", f"https://s3.{region.lower()}.io.cloud.ovh.net")
pulumi.export("cachePrefix", "models")
pulumi.export("volumeSource", f"{bucket}@S3{region}/models")
pulumi.export("accessKeyId", pulumi.Output.secret("stand-in-access-key-4f2a"))
pulumi.export("secretAccessKey", pulumi.Output.secret("stand-in-secret-key-8c3d"))
'''


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    with start_emulator(admin_token=ADMIN) as running:
        yield running


def admin(emu: RunningEmulator, method: str, path: str, **kwargs: Any) -> Any:
    response = httpx.request(method, emu.base_url + path, headers={"Authorization": f"Bearer {ADMIN}"},
                             timeout=30, **kwargs)
    response.raise_for_status()
    return response.json() if response.content else None


@pytest.fixture
def projects(tmp_path: Path, emu: RunningEmulator) -> tuple[PulumiProject, PulumiProject]:
    cli = require_pulumi()
    state = tmp_path / "state"
    platform = stand_in_platform(tmp_path, state, cli, STAND_IN)
    model = main_stack(tmp_path, cli, state=state, OVHAI_TOKEN=ADMIN, HF_TOKEN="hf_cache_cli_placeholder")
    model.config_set("ovhai:endpoint", emu.base_url)
    return platform, model


def requests_made(emu: RunningEmulator) -> int:
    return int(admin(emu, "GET", "/_emulator/requests")["count"])


def test_bad_cache_stacks_fail_the_preview_naming_the_key(
    projects: tuple[PulumiProject, PulumiProject], emu: RunningEmulator,
) -> None:
    platform, model = projects
    platform.run("stack", "init", "gra")
    platform.config_set("platform:region", "GRA")
    platform.run("up", "--yes", "--skip-preview")
    admin(emu, "DELETE", "/_emulator/requests")

    model.config_set("vllm-ai-deploy:cacheStack", "organization/platform/nowhere")
    failed = model.run("preview", ok=False, timeout=300)
    printed = failed.stdout + failed.stderr
    # The engine fails the read of the reference, named after the key, and stops the program (its
    # cancellation may print the program's KeyboardInterrupt); the program's line gives the fix.
    assert failed.returncode != 0, printed
    assert 'StackReference (vllm-ai-deploy:cacheStack)' in printed, printed
    assert 'unknown stack "organization/platform/nowhere"' in printed, printed
    assert "pulumi config set vllm-ai-deploy:cacheStack <org>/platform/<region>" in printed, printed

    model.config_set("vllm-ai-deploy:cacheStack", PLATFORM)
    model.config_set("ovhai:region", "BHS")
    failed = model.run("preview", ok=False, timeout=300)
    printed = failed.stdout + failed.stderr
    assert failed.returncode != 0 and "vllm-ai-deploy:cacheStack" in printed, printed
    assert "keeps its bucket in GRA, the app runs in BHS" in printed, printed
    assert "organization/platform/bhs" in printed and "Traceback" not in printed, printed
    assert requests_made(emu) == 0  # before any API call


def test_up_pushes_the_first_start_and_the_cache_outlives_the_stack(
    projects: tuple[PulumiProject, PulumiProject], emu: RunningEmulator,
) -> None:
    platform, model = projects
    platform.run("stack", "init", "gra")
    platform.config_set("platform:region", "GRA")
    platform.run("up", "--yes", "--skip-preview")
    # 47 GB from the Hub at 50 MB/s lasts 943 s; scaled by 0.002 here: about 2 s.
    admin(emu, "POST", "/_emulator/datastore", json={"hubDownloads": True, "scale": 0.002})
    model.config_set("vllm-ai-deploy:cacheStack", PLATFORM)

    planned = model.run("preview", timeout=300)  # the push is planned, the report says where from
    assert "vllm-cache-push" in planned.stdout and "later starts from the bucket" in planned.stdout
    model.run("up", "--yes", "--skip-preview", timeout=600)
    outputs = model.outputs()
    assert outputs["cache"]["volumeSource"] == f"vllm-model-cache-gra@S3GRA/{PREFIX}"
    app = admin(emu, "GET", f"/v1/app/{outputs['appId']}")
    hub = next(v for v in app["spec"]["volumes"] if v["mountPath"] == "/hub")
    assert hub["cache"] is True and hub["permission"] == "RW"
    assert hub["volumeSource"]["dataStore"] == {"alias": "S3GRA", "container": "vllm-model-cache-gra",
                                                "prefix": PREFIX}
    assert [s["status"]["state"] for s in app["status"]["dataSync"]] == ["DONE"]
    (first,) = admin(emu, "GET", f"/_emulator/app/{outputs['appId']}/starts")["starts"]
    assert first["hubBytes"] > 40e9
    assert admin(emu, "GET", "/_emulator/datastore")["store"][STORE_KEY]
    printed = "".join(model.printed + platform.printed)
    assert "stand-in-secret-key-8c3d" not in printed and "stand-in-access-key-4f2a" not in printed

    model.run("destroy", "--yes", "--skip-preview", timeout=600)
    assert admin(emu, "GET", "/_emulator/datastore")["store"][STORE_KEY]  # the cache stays

    model.run("up", "--yes", "--skip-preview", timeout=600)
    again = model.outputs()["appId"]
    assert again != outputs["appId"]
    (second,) = admin(emu, "GET", f"/_emulator/app/{again}/starts")["starts"]
    assert second["hubBytes"] == 0 and second["storeBytes"] == first["hubBytes"]
