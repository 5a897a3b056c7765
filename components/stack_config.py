"""Read the running stack's config from the Pulumi runtime and hand it to the pure settings layer.

The program sees config as the CLI passes it: `<namespace>:<key>` -> string (arrays and objects as
JSON text), with the keys set with `--secret` listed apart. Reading the raw map (rather than one
`pulumi.Config.get` per key) is what lets the settings layer report an unknown key (a typo in a
stack file) and a secret stored in plain text.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

import pulumi
from pulumi.runtime import config as runtime_config

from components import price_catalog
from components.pricing import PriceList
from components.settings import Settings, load_settings

PROVIDER_NAMESPACE = "ovhai"
OVH_NAMESPACE = "ovh"  # pulumi-ovh's credentials: the public API door


def _all_config() -> dict[str, Any]:
    """Every config value visible to the program (explicitly set ones win over PULUMI_CONFIG)."""
    merged: dict[str, Any] = dict(runtime_config.get_config_env())
    merged.update(runtime_config.CONFIG.get())
    return merged


def _secret_keys() -> set[str]:
    keys = set(runtime_config.get_config_secret_keys_env())
    keys.update(k for k in _all_config() if runtime_config.is_config_secret(k))
    return keys


def read_stack_config(namespace: str) -> tuple[dict[str, Any], set[str], dict[str, Any]]:
    """(the namespace's keys -> raw values, which of those keys are secret, the `ovhai:*` and
    `ovh:*` keys)."""
    values = _all_config()
    secret = _secret_keys()
    prefix = f"{namespace}:"
    raw = {k[len(prefix):]: v for k, v in values.items() if k.startswith(prefix)}
    secret_short = {k[len(prefix):] for k in secret if k.startswith(prefix)}
    providers = (f"{PROVIDER_NAMESPACE}:", f"{OVH_NAMESPACE}:")
    secret_short.update(k for k in secret if k.startswith(providers))
    provider = {k: v for k, v in values.items() if k.startswith(providers)}
    return raw, secret_short, provider


def load_stack_settings(environ: Mapping[str, str] | None = None) -> Settings:
    """The running stack's settings; raises `SettingsError` naming every bad key and its fix."""
    project = pulumi.get_project()
    raw, secret, provider = read_stack_config(project)
    env = os.environ if environ is None else environ

    def load(catalog_prices: PriceList | None) -> Settings:
        return load_settings(raw, stack=pulumi.get_stack(), project=project, secret_keys=secret,
                             environ=env, provider_config=provider, catalog_prices=catalog_prices)

    # Every rule first, with the built-in prices: a bad config fails before any request. Then the
    # public catalog's prices (fetched, or read from the cache) and the rules again (pure, ms).
    load(None)
    catalog_prices = price_catalog.prices_for_config(
        raw,
        ovh_endpoint=str(_all_config().get("ovh:endpoint") or ""),
        ovhai_endpoint=str(provider.get(f"{PROVIDER_NAMESPACE}:endpoint") or env.get("OVHAI_ENDPOINT", "")),
        environ=env,
    )
    return load(catalog_prices)
