"""Pulumi.yaml against Pulumi's own project schema, and every stack file against Pulumi.yaml.

The schema lives beside the repository (`../shared/reference/pulumi/project.schema.json`); the
checks the CLI makes beyond the schema (a declared default of the declared type, array items,
stack values of the declared type, secrets not in plain text) are repeated here so that a typo in
a stack file fails a test instead of a `pulumi preview`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from components.settings import PROJECT, StackConfig, declared_config
from components.settings.pulumi_yaml import COMMAND, render
from tests.shared_reference import shared_file

REPO = Path(__file__).resolve().parent.parent
PROJECTS = [REPO, REPO / "examples" / "chat-ui"]
PROVIDER_KEYS = {"ovhai:endpoint", "ovhai:token", "ovhai:region"}
STACK_FILE_KEYS = {"config", "encryptionsalt", "secretsprovider", "encryptedkey", "environment"}


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def stack_files() -> list[Path]:
    return sorted(p for project in PROJECTS for p in project.glob("Pulumi.*.yaml"))


def valid_value(decl: dict[str, Any], value: Any) -> bool:
    """Pulumi's ValidateConfigValue, for the value as the CLI holds it (scalars as strings)."""
    kind = decl["type"]
    if kind == "string":
        return not isinstance(value, dict | list)
    if kind == "integer":
        if isinstance(value, bool):
            return False
        if isinstance(value, int):
            return True
        if isinstance(value, float):
            return value.is_integer()
        if isinstance(value, str):
            try:
                int(value)
            except ValueError:
                return False
            return True
        return False
    if kind == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if kind == "array":
        return isinstance(value, list) and all(valid_value(decl["items"], v) for v in value)
    return False


@pytest.mark.parametrize("project_dir", PROJECTS, ids=lambda p: p.name)
def test_pulumi_yaml_matches_pulumis_project_schema(project_dir: Path) -> None:
    schema_path = shared_file("reference/pulumi/project.schema.json")
    import jsonschema  # type: ignore[import-untyped]

    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    project = load_yaml(project_dir / "Pulumi.yaml")
    jsonschema.validate(project, schema, cls=jsonschema.Draft202012Validator)


@pytest.mark.parametrize("project_dir", PROJECTS, ids=lambda p: p.name)
def test_pulumi_yaml_runtime_and_config_declarations(project_dir: Path) -> None:
    project = load_yaml(project_dir / "Pulumi.yaml")
    assert project["name"] and project["description"]
    assert project["runtime"]["name"] == "python"
    assert project["runtime"]["options"]["toolchain"] == "pip"
    assert project["runtime"]["options"]["virtualenv"]
    for key, decl in project["config"].items():
        assert ":" not in key or key.startswith(project["name"] + ":"), key  # typed keys are the project's
        assert decl["type"] in ("string", "integer", "boolean", "array") and decl["description"], key
        if decl["type"] == "array":
            assert "items" in decl, key
        if "default" in decl:
            assert valid_value(decl, decl["default"]), (key, decl["default"])
        assert not (decl.get("secret") and "default" in decl), f"{key}: a secret default would be plain text"


def test_project_config_is_the_settings_model() -> None:
    project = load_yaml(REPO / "Pulumi.yaml")
    assert project["name"] == PROJECT
    assert project["config"] == declared_config(), f"Pulumi.yaml's config: is stale: run `{COMMAND}`"
    assert set(project["config"]) == set(StackConfig.model_fields)
    required = [k for k, d in project["config"].items() if "default" not in d]
    assert required == ["model"]
    venv = REPO / project["runtime"]["options"]["virtualenv"]
    assert venv.name == ".venv"


def test_pulumi_yaml_is_what_the_command_writes() -> None:
    text = (REPO / "Pulumi.yaml").read_text(encoding="utf-8")
    assert render(text) == text, f"Pulumi.yaml differs from the settings' keys: run `{COMMAND}`"


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: f"{p.parent.name}/{p.name}")
def test_stack_file_uses_only_declared_keys_of_the_declared_type(stack_file: Path) -> None:
    project = load_yaml(stack_file.parent / "Pulumi.yaml")
    name = project["name"]
    declared = {(k if ":" in k else f"{name}:{k}"): d for k, d in project["config"].items()}
    content = load_yaml(stack_file)
    assert set(content) <= STACK_FILE_KEYS, set(content) - STACK_FILE_KEYS
    config = content.get("config") or {}
    for key, value in config.items():
        namespace = key.split(":", 1)[0]
        if namespace == name:
            assert key in declared, f"{stack_file.name}: {key} is not declared in Pulumi.yaml"
            if isinstance(value, dict) and set(value) == {"secure"}:
                continue
            assert valid_value(declared[key], value), f"{stack_file.name}: {key}={value!r}"
        else:
            assert key in PROVIDER_KEYS, f"{stack_file.name}: unexpected key {key}"
    for key in ("ovhai:token", f"{name}:hfToken", f"{name}:openWebuiSecretKey"):
        if key in config:
            assert isinstance(config[key], dict) and "secure" in config[key], f"{key} in plain text"
    # required keys (declared without a default) are set
    for key, decl in declared.items():
        if "default" not in decl:
            assert key in config, f"{stack_file.name} misses the required {key}"
