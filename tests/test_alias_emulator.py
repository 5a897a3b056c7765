"""The emulator's one alias store: the public door's alias routes, app volumes and the datastore model.

Over real loopback HTTP against `python -m emulator` (a free port, a state file in a temp dir):
an app volume from a dataStore must name an alias of the app's region (registered through the
public door, or an OVHcloud default `<REGION>` / `S3<REGION>`), else its create is refused with a
400 naming the volume's field; registered aliases survive a restart like the rest of the state,
and `GET /_emulator/datastore` shows them beside the cached content (still keyed by
alias|container|prefix). The 400's wording is ours (no public sample of the real one); its shape
is the regional door's (`{"message": "<field path>: ..."}`), the public door's `Client::BadRequest`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from components.ovhai import InvalidRequest, OvhAiClient
from components.resources.credentials import resolve
from components.resources.provider_base import open_client
from emulator.runner import RunningEmulator, start_emulator

ADMIN = "alias-emu-admin-2b7c"
AK, AS, CK = "emu-ak", "emu-as-secret-61f0", "emu-ck-secret-9d3a"
SERVICE = "ffeeddccbbaa99887766554433221100"
ARGS = ["--ovh-credentials", f"{AK}:{AS}:{CK}", "--service-name", SERVICE]


def public(emu: RunningEmulator, region: str = "gra") -> OvhAiClient:
    config = {"ovh:endpoint": emu.base_url + "/1.0", "ovh:applicationKey": AK,
              "ovh:applicationSecret": AS, "ovh:consumerKey": CK,
              "vllm-ai-deploy:serviceName": SERVICE, "ovhai:region": region}  # fmt: skip
    return open_client(resolve(config, environ={}), max_retry_seconds=5)


def alias_body(alias: str) -> dict[str, Any]:
    return {"alias": alias, "endpoint": "https://s3.gra.io.cloud.ovh.net", "owner": "customer", "type": "s3",
            "credentials": {"s3": {"accessKey": "a", "secretKey": "s3-secret-88e1", "region": "gra"}}}


def spec(name: str, alias: str, region: str = "GRA") -> dict[str, Any]:
    return {
        "name": name, "image": "vllm/vllm-openai:latest", "region": region,
        "resources": {"flavor": "ai1-1-cpu", "cpu": 1}, "defaultHttpPort": 8000,
        "volumes": [{"mountPath": "/hub", "permission": "RW", "cache": True,
                     "volumeSource": {"dataStore": {"alias": alias, "container": "c", "prefix": "p"}}}],
    }  # fmt: skip


@pytest.fixture()
def state(tmp_path: Path) -> Path:
    return tmp_path / "state.json"


def test_a_volume_needs_an_alias_of_its_region(state: Path) -> None:
    with start_emulator(admin_token=ADMIN, state_file=state, extra_args=ARGS) as emu, public(emu) as client:
        regional = OvhAiClient(emu.base_url, ADMIN)
        # OVHcloud's defaults of the region are there without registering.
        for alias in ("S3GRA", "GRA"):
            app = client.create_app(spec(f"default-{alias.lower()}", alias))
            client.delete_app(app.id, force=True)
        # Not registered: refused at create, naming the field, on both doors.
        with pytest.raises(InvalidRequest) as caught:
            client.create_app(spec("unregistered", "cachegra"))
        message = str(caught.value)
        assert "spec.volumes[0].volumeSource.dataStore.alias" in message
        assert "'cachegra' does not exist in region GRA" in message and "S3GRA" in message
        with pytest.raises(InvalidRequest, match="does not exist in region GRA"):
            regional.create_app(spec("unregistered", "cachegra"))
        # Another region's default is not this region's.
        with pytest.raises(InvalidRequest, match="'S3BHS' does not exist in region GRA"):
            client.create_app(spec("wrong-default", "S3BHS"))
        # Registered through the public door: accepted, in its region only.
        client.create_datastore_alias(alias_body("cachegra"), "GRA")
        app = client.create_app(spec("registered", "cachegra"))
        with pytest.raises(InvalidRequest, match="'cachegra' does not exist in region BHS"):
            regional.create_app(spec("other-region", "cachegra", region="BHS"))
        # (An update cannot change volumes: the API's UpdateInput has none, so create is the check.)
        regional.close()
        # The store shows the aliases beside the cached content, never the credentials.
        store = httpx.get(emu.base_url + "/_emulator/datastore",
                          headers={"Authorization": f"Bearer {ADMIN}"}).json()  # fmt: skip
        assert list(store["aliases"]["GRA"]) == ["cachegra"] and "aliases" not in store["store"]
        assert "s3-secret-88e1" not in str(store) and "s3-secret-88e1" not in state.read_text()
        client.delete_app(app.id, force=True)


def test_registered_aliases_survive_a_restart_and_defaults_stay_ovhclouds(state: Path) -> None:
    with start_emulator(admin_token=ADMIN, state_file=state, extra_args=ARGS) as emu, public(emu) as client:
        client.create_datastore_alias(alias_body("kept"), "GRA")
        with pytest.raises(Exception, match="already exists"):
            client.create_datastore_alias(alias_body("S3GRA"), "GRA")
        assert client.get_datastore_alias("S3GRA", "GRA")["owner"] == "ovhcloud"
    with start_emulator(admin_token=ADMIN, state_file=state, extra_args=ARGS) as emu, public(emu) as client:
        assert [a["alias"] for a in client.list_datastore_aliases("GRA")] == ["kept"]
        app = client.create_app(spec("after-restart", "kept"))
        client.update_datastore_alias("kept", {**alias_body("kept"), "endpoint": "https://s3.gra.perf.cloud.ovh.net"},
                                      "GRA")  # fmt: skip
        assert client.get_datastore_alias("kept", "GRA")["endpoint"] == "https://s3.gra.perf.cloud.ovh.net"
        client.delete_datastore_alias("kept", "GRA")
        with pytest.raises(InvalidRequest, match="'kept' does not exist"):
            client.create_app(spec("after-delete", "kept"))
        client.delete_app(app.id, force=True)
