"""The public API door's keys at preview: each problem names its key and the command that fixes it.

Pure settings checks (components/settings), no network: both doors, half a public door, the wrong
door's endpoint, credentials in plain text, and a complete public door that passes.
"""

from __future__ import annotations

from typing import Any

import pytest

from components.settings import SettingsError, load_settings

SEED = {"model": "mistral-small-24b", "gpuFlavor": "l40s-1-gpu", "gpuCount": "2"}
ENV = {"HF_TOKEN": "hf_env_token"}
SIGNED = {
    "ovh:endpoint": "ovh-eu",
    "ovh:applicationKey": "ak",
    "ovh:applicationSecret": "as-secret",
    "ovh:consumerKey": "ck-secret",
    "ovhai:region": "gra",
}
SECRET = {"ovh:applicationSecret", "ovh:consumerKey", "ovh:clientSecret", "ovhai:token"}


def load(provider: dict[str, Any], raw: dict[str, str] | None = None, secret: set[str] = SECRET) -> Any:
    return load_settings({**SEED, **(raw or {})}, stack="x-dev", secret_keys=secret, environ=ENV,
                         provider_config=provider)  # fmt: skip


def problems(provider: dict[str, Any], **kwargs: Any) -> dict[str, str]:
    with pytest.raises(SettingsError) as raised:
        load(provider, **kwargs)
    return {p.key: p.fix for p in raised.value.problems}


def test_a_complete_public_door_passes() -> None:
    load(SIGNED, {"serviceName": "0123abcd"})
    oauth = {"ovh:endpoint": "ovh-eu", "ovh:clientId": "id", "ovh:clientSecret": "s", "ovhai:region": "gra"}
    load(oauth, {"serviceName": "0123abcd"})


def test_the_project_is_named_with_its_command() -> None:
    found = problems(SIGNED)
    assert found == {"vllm-ai-deploy:serviceName": "pulumi config set vllm-ai-deploy:serviceName "
                                                   "<public cloud project id>"}  # fmt: skip


def test_both_doors_at_preview() -> None:
    found = problems({**SIGNED, "ovhai:token": "t"}, raw={"serviceName": "p"})
    assert found == {"ovhai:token": "pulumi config rm ovhai:token"}


def test_half_a_door_and_the_wrong_endpoint() -> None:
    found = problems({"ovh:applicationKey": "ak", "ovhai:endpoint": "https://gra.ai.cloud.ovh.net"})
    assert found["ovh:applicationSecret"].startswith("pulumi config set --secret ovh:applicationSecret")
    assert found["ovh:consumerKey"].startswith("pulumi config set --secret ovh:consumerKey")
    assert found["ovh:endpoint"] == "pulumi config set ovh:endpoint ovh-eu"
    assert found["ovhai:endpoint"] == "pulumi config rm ovhai:endpoint"
    assert "ovhai:region" in found and "vllm-ai-deploy:serviceName" in found


def test_credentials_in_plain_text() -> None:
    found = problems(SIGNED, raw={"serviceName": "p"}, secret=set())
    assert set(found) == {"ovh:applicationSecret", "ovh:consumerKey"}
    assert found["ovh:consumerKey"].startswith("pulumi config set --secret ovh:consumerKey")
