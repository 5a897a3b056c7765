"""The AiApp field policy (`components/resources/field_policy.py`) against the API's own models.

A field the API gains and nobody classified fails here, as does an in-place field the update body
cannot carry; the README and `AiApp`'s docstring say what the table says.
"""

from __future__ import annotations

import re
from pathlib import Path

from pydantic import BaseModel

from components.ovhai.models import AppSpec, AppUpdate, ImageUpdate
from components.resources import AiApp
from components.resources.field_policy import (
    INPUT_POLICY,
    SPEC_POLICY,
    keys_applied_by,
    replacement_sentence,
    update_fields,
)

REPO = Path(__file__).resolve().parent.parent


def wire_names(model: type[BaseModel]) -> set[str]:
    return {f.alias or name for name, f in model.model_fields.items()}


def flat(text: str) -> str:
    return re.sub(r"\s+", " ", text)


def test_every_appspec_field_is_classified() -> None:
    assert set(SPEC_POLICY) == wire_names(AppSpec)


def test_in_place_fields_fit_the_update_bodies() -> None:
    update = wire_names(AppUpdate)
    for key in keys_applied_by("put"):
        assert set(update_fields(key)) <= update, key
    assert keys_applied_by("image") == ("image",)
    assert wire_names(ImageUpdate) == {"url"} and "url" in update  # the image endpoint's body


def test_every_update_field_is_used_or_its_replacement_explained() -> None:
    used = {f for key in keys_applied_by("put") for f in update_fields(key)} | {"url"}
    for name in wire_names(AppUpdate) - used:
        policy = SPEC_POLICY.get(name)
        assert policy is not None and policy.replaces and policy.reason, name


def test_every_replacement_has_a_reason() -> None:
    for table in (SPEC_POLICY, INPUT_POLICY):
        for key, policy in table.items():
            if policy.replaces:
                assert policy.reason, key


def test_readme_and_docstring_say_what_the_table_says() -> None:
    sentence = replacement_sentence()
    assert sentence in flat((REPO / "README.md").read_text(encoding="utf-8"))
    assert sentence in flat(AiApp.__doc__ or "")
