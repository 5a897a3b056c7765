"""The program's check of the consumer key's rights, once every config rule passed (see
components/ovhai/rights_check.py): nothing for the regional door or an OAuth2 service account, nor
for a config the rules refuse (they report it, with no API call)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from components.ovhai.ovh_auth import api_base_url
from components.ovhai.rights_check import RightsCheck, check_consumer_key
from components.resources.credentials import SERVICE_NAME_KEY, MissingCredentials, resolve


def preview_rights(
    provider_config: Mapping[str, Any], service_name: str, environ: Mapping[str, str]
) -> RightsCheck:
    config = {**provider_config, SERVICE_NAME_KEY: service_name or provider_config.get(SERVICE_NAME_KEY)}
    try:
        creds = resolve(config, environ)
        base_url = api_base_url(creds.endpoint) if creds.door == "public" else ""
    except (MissingCredentials, ValueError):
        return RightsCheck()
    if creds.door != "public" or creds.signature is None or not creds.service_name:
        return RightsCheck()
    keys = creds.signature
    return check_consumer_key(base_url, keys.application_key, keys.application_secret, keys.consumer_key,
                              creds.service_name)  # fmt: skip
