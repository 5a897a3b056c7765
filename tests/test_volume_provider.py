"""AiVolume through the real dynamic-provider process against the emulator's `/v1/volume`.

Nothing is mocked: `python -m pulumi.dynamic` is driven over gRPC as the engine drives it
(tests/provider_harness.py), with the credentials sent by Configure, and the emulator serves the
volumes over a real socket. What is checked: CRUD, a spec change replaces and `retainOnDelete`
updates in place, delete keeps the volume while `retainOnDelete` (the cache outlives the model
stack) and a later create adopts it instead of making a second one, and bad input fails at Check.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest

from components.resources import AiVolumeProvider
from components.resources.volume import check_volume
from emulator.runner import RunningEmulator
from tests.provider_harness import EmulatorControl, ProviderProcess, Secret, provider_blob, with_provider

ADMIN = "volume-admin-token-8c1d4e2a9f"


@pytest.fixture(scope="module")
def admin_token() -> str:
    """This module's emulator (`emu`, `control` in conftest) runs with ADMIN."""
    return ADMIN


@pytest.fixture(scope="module")
def proc(emu: RunningEmulator) -> Iterator[ProviderProcess]:
    with ProviderProcess.start(env={"OVHAI_ENDPOINT": "", "OVHAI_TOKEN": ""}) as process:
        process.configure({"ovhai:endpoint": emu.base_url, "ovhai:token": Secret(ADMIN),
                           "ovhai:region": "gra"})
        yield process


@pytest.fixture(scope="module")
def blob() -> str:
    return provider_blob(AiVolumeProvider())


def cache_spec(name: str, prefix: str = "models/mistral-small-24b") -> dict[str, Any]:
    return {"name": name,
            "dataStore": {"alias": "S3GRA", "container": "vllm-model-cache-gra", "prefix": prefix}}


def volumes(control: EmulatorControl) -> list[dict[str, Any]]:
    found: Any = control._call("GET", "/v1/volume")
    items = found["items"] if isinstance(found, dict) else found
    return list(items)


Created = tuple[str, dict[str, Any], dict[str, Any]]


def created(proc: ProviderProcess, blob: str, name: str, **props: Any) -> Created:
    inputs, failures = proc.check(name, with_provider(props, blob))
    assert failures == []
    id_, outs = proc.create(name, inputs)
    return id_, inputs, outs


def test_a_volume_is_created_read_and_kept_by_delete_then_adopted(
    proc: ProviderProcess, blob: str, control: EmulatorControl,
) -> None:
    name = f"cache-{uuid.uuid4().hex[:8]}"
    id_, inputs, outs = created(proc, blob, name, spec=cache_spec(name))
    # The official UserVolume carries no status: the id is what a create yields.
    assert outs["volumeId"] == id_ and "state" not in outs and outs["retainOnDelete"] is True
    assert outs["spec"] == cache_spec(name)
    read_id, read_outs, _ = proc.read(name, id_, outs)
    assert read_id == id_ and read_outs["spec"] == cache_spec(name)
    # Destroying the model stack: the volume stays ...
    proc.delete(name, id_, outs)
    assert [v["id"] for v in volumes(control) if v["id"] == id_] == [id_]
    assert f"volume {id_} kept (retainOnDelete)" in proc.stderr()
    # ... and bringing the stack up again mounts the same one.
    again_id, _, again = created(proc, blob, name, spec=cache_spec(name))
    assert again_id == id_ and again["volumeId"] == id_
    assert f"volume {id_} (kept by an earlier delete) adopted" in proc.stderr()
    # Asked for: retainOnDelete false is applied in place, then delete removes it.
    assert proc.diff(name, id_, again, {**inputs, "retainOnDelete": False}).kind == "update"
    updated = proc.update(name, id_, again, {**inputs, "retainOnDelete": False})
    assert updated["retainOnDelete"] is False and updated["volumeId"] == id_
    proc.delete(name, id_, updated)
    assert not [v for v in volumes(control) if v["id"] == id_]
    assert proc.read(name, id_, updated)[0] == ""
    assert ADMIN not in proc.stderr()


def test_a_spec_change_replaces_and_an_unchanged_spec_is_no_change(
    proc: ProviderProcess, blob: str,
) -> None:
    name = f"cache-{uuid.uuid4().hex[:8]}"
    id_, inputs, outs = created(proc, blob, name, spec=cache_spec(name), retainOnDelete=False)
    assert proc.diff(name, id_, outs, inputs).kind == "none"
    moved = {**inputs, "spec": cache_spec(name, "models/llama-3.1-8b")}
    answer = proc.diff(name, id_, outs, moved)
    assert answer.replaces == ["spec"]
    proc.delete(name, id_, outs)


def test_a_different_source_is_not_adopted(
    proc: ProviderProcess, blob: str, control: EmulatorControl,
) -> None:
    name = f"cache-{uuid.uuid4().hex[:8]}"
    first, _, outs = created(proc, blob, name, spec=cache_spec(name))
    other, _, outs2 = created(proc, blob, name, spec=cache_spec(name, "models/other"))
    assert first != other
    for id_, o in ((first, outs), (other, outs2)):
        proc.delete(name, id_, {**o, "retainOnDelete": False})
    assert not [v for v in volumes(control) if v["id"] == id_]


def test_bad_input_fails_at_check(proc: ProviderProcess, blob: str) -> None:
    bad = {"spec": {"name": "x", "standalone": {}, "dataStore": {"alias": "S3GRA", "container": "c"}},
           "retainOnDelete": "yes"}
    _, failures = proc.check("bad", with_provider(bad, blob))
    assert ("retainOnDelete", "must be true or false, not 'yes'") in failures
    assert ("spec", "one source at most, not dataStore, standalone") in failures
    _, failures = proc.check("nospec", with_provider({}, blob))
    assert [path for path, _ in failures] == ["spec"]


def test_check_volume_names_unknown_fields() -> None:
    _, failures = check_volume({"spec": {"name": "c", "bogus": 1}})
    assert failures and failures[0][0] == "spec" and "bogus" in failures[0][1]
