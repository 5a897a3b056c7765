"""The real Pulumi CLI deploys the main project through the OVHcloud public API door.

The dev stack's copy points at a fresh emulator's public door (`/1.0`) with the `ovh:*` keys that
pulumi-ovh reads (secrets set with `--secret`) and `vllm-ai-deploy:serviceName`; there is no AI
token anywhere (no `ovhai:token`, no OVHAI_TOKEN): the app and the consumer token are created with
the API credentials. The app is then seen through the regional door, the minted token answers on
the app's URL, no secret is printed or stored in clear, and destroy leaves nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from components.ovhai import OvhAiClient
from emulator.runner import RunningEmulator, start_emulator
from tests.pulumi_cli import main_stack, require_pulumi, use_public_door

AK, AS, CK = "e2e-ak", "e2e-as-secret-6a1f", "e2e-ck-secret-93bd"
SERVICE = "e2e0123456789abcdef0123456789ab"
ADMIN = "e2e-public-admin-0f1e"
HF_TOKEN = "hf_public_door_do_not_leak_42"

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


@pytest.fixture
def emu() -> Iterator[RunningEmulator]:
    args = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--service-name", SERVICE]
    with start_emulator(admin_token=ADMIN, extra_args=args) as running:
        yield running


def test_up_and_destroy_through_the_public_door(tmp_path: Path, emu: RunningEmulator) -> None:
    cli = require_pulumi()
    proj = main_stack(tmp_path, cli, HF_TOKEN=HF_TOKEN, OVHAI_TOKEN="", OVHAI_ENDPOINT="")
    use_public_door(proj, emu.base_url, application_key=AK, application_secret=AS, consumer_key=CK,
                    service_name=SERVICE)

    proj.run("up", "--yes")
    out = proj.outputs(secrets=True)
    with OvhAiClient(emu.base_url, ADMIN) as regional:  # the other door sees what this one made
        assert [a.id for a in regional.list_apps()] == [out["appId"]]
        names = [t.spec.name for t in regional.list_tokens()]
    assert not any(n.startswith("probe-") for n in names)  # the readiness probe's token is gone
    bearer = {"Authorization": f"Bearer {out['token']}"}
    models = httpx.get(f"{out['openaiBaseUrl']}/models", headers=bearer)
    assert models.status_code == 200, models.text

    proj.run("preview", "--expect-no-changes")
    exported = proj.run("stack", "export").stdout
    for secret in (AS, CK, HF_TOKEN, str(out["token"])):
        assert secret not in exported
        assert secret not in "\n".join(proj.printed)
    proj.run("destroy", "--yes")
    with OvhAiClient(emu.base_url, ADMIN) as regional:
        assert regional.list_apps() == [] and regional.list_tokens() == []


def test_both_doors_fail_preview_naming_the_keys(tmp_path: Path, emu: RunningEmulator) -> None:
    cli = require_pulumi()
    proj = main_stack(tmp_path, cli, HF_TOKEN=HF_TOKEN)
    proj.config_set("ovhai:token", ADMIN, secret=True)
    proj.config_set("ovh:endpoint", emu.base_url + "/1.0")
    proj.config_set("ovh:applicationKey", AK)
    proj.config_set("ovh:applicationSecret", AS, secret=True)
    proj.config_set("ovh:consumerKey", CK, secret=True)
    proj.config_set("vllm-ai-deploy:serviceName", SERVICE)
    result = proj.run("preview", ok=False)
    text = result.stdout + result.stderr
    assert result.returncode != 0
    assert "ovhai:token" in text and "pulumi config rm ovhai:token" in text
    assert AS not in text and CK not in text and ADMIN not in text
    counted = httpx.get(f"{emu.base_url}/_emulator/requests", headers={"Authorization": f"Bearer {ADMIN}"})
    assert counted.json()["count"] == 0  # no call reached the API through either door
