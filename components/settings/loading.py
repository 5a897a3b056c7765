"""Loading a stack's config: raw CLI values -> `StackConfig` -> rules -> `Settings` or `SettingsError`."""

from __future__ import annotations

import difflib
import json
from collections.abc import Collection, Mapping
from typing import Any

from pydantic import ValidationError

from components.pricing import PriceList
from components.settings.keys import LIST_KEYS, PROJECT, StackConfig
from components.settings.model import Settings
from components.settings.problems import Problems, SettingsError, full_key
from components.settings.rules import Resolver


def _normalise_raw(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Values as the CLI hands them over (strings; JSON text for arrays) -> model input."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in LIST_KEYS and isinstance(value, str):
            text = value.strip()
            if text == "":
                out[key] = []
                continue
            try:
                out[key] = json.loads(text)
            except json.JSONDecodeError:
                out[key] = value  # pydantic reports it as not a list
            continue
        out[key] = value
    return out


def _parse(raw: Mapping[str, Any], problems: Problems) -> StackConfig:
    """Validate each key on its own; a bad key is reported and falls back to its default."""
    data = _normalise_raw(raw)
    try:
        return StackConfig.model_validate(data)
    except ValidationError as exc:
        bad: set[str] = set()
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else "?"
            bad.add(key)
            if err["type"] == "extra_forbidden":
                close = difflib.get_close_matches(key, list(StackConfig.model_fields), n=1)
                hint = f"; did you mean '{full_key(close[0], problems.namespace)}'?" if close else ""
                problems.add(key, f"unknown configuration key{hint}", problems.rm_cmd(key))
            else:
                where = "".join(f"[{p}]" for p in err["loc"][1:])
                problems.add(key, f"{where} {err['msg']} (got {data.get(key)!r})".strip())
        return StackConfig.model_validate({k: v for k, v in data.items() if k not in bad})


def load_settings(
    raw: Mapping[str, Any],
    *,
    stack: str,
    project: str = PROJECT,
    secret_keys: Collection[str] = (),
    environ: Mapping[str, str] | None = None,
    provider_config: Mapping[str, Any] | None = None,
    catalog_prices: PriceList | None = None,
) -> Settings:
    """Parse and check a stack's config. `raw`: key (no namespace) -> value; `secret_keys`: the keys
    set with `--secret`; `environ`: where HF_TOKEN may come from; `provider_config`: `ovhai:*`
    keys (full names) to check that the API token is not stored in plain text; `catalog_prices`:
    the public catalog's prices the program fetched (`components.price_catalog`), None: the
    built-in estimates."""
    problems = Problems(project)
    cfg = _parse(raw, problems)
    resolved = Resolver(cfg, problems, stack=stack, project=project, secret_keys=set(secret_keys),
                         environ=environ or {}, provider_config=provider_config or {},
                         catalog_prices=catalog_prices).resolve()
    if problems.items or resolved is None:
        raise SettingsError(stack, problems.items)
    return resolved
