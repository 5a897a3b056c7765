"""A model's `config.json`: from a file, or from the Hugging Face Hub by id through `huggingface_hub`.

The Hub door is optional (`requirements-hub.txt`): `huggingface_hub` is imported only when an id is
asked for. `hf_hub_download` reads its own cache first and honours the library's environment
(`HF_HUB_OFFLINE=1`: the cache only, no network; `HF_HUB_CACHE` / `HF_HOME`: where the cache is;
`HF_TOKEN`: gated repositories), so a config fetched once plans offline afterwards. Only the small
config.json is fetched, never weights. Errors are `ConfigLoadError` with a message a user can act on.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

__all__ = ["ConfigLoadError", "fetch_config", "read_config"]


class ConfigLoadError(ValueError):
    """config.json could not be read (missing file, not JSON, Hub unreachable, library missing)."""


def read_config(path: str | Path) -> dict[str, Any]:
    """The JSON object of a config.json file."""
    file = Path(path)
    try:
        text = file.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigLoadError(f"cannot read {file}: {exc.strerror or exc}") from exc
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigLoadError(f"{file} is not JSON: {exc.msg} (line {exc.lineno})") from exc
    if not isinstance(data, dict):
        raise ConfigLoadError(f"{file} must hold a JSON object (a model's config.json)")
    return data


def fetch_config(
    repo_id: str, *, revision: str | None = None, cache_dir: str | Path | None = None
) -> tuple[dict[str, Any], Path]:
    """(config, local path) of `repo_id`'s config.json, from the Hub cache or the Hub."""
    try:
        from huggingface_hub import hf_hub_download
        from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError
    except ImportError as exc:
        raise ConfigLoadError(
            f"{repo_id!r} is not in the catalog and huggingface_hub is not installed: "
            "`pip install -r requirements-hub.txt`, or pass --config path/to/config.json"
        ) from exc
    try:
        local = hf_hub_download(
            repo_id, "config.json", revision=revision, cache_dir=str(cache_dir) if cache_dir else None
        )
    except LocalEntryNotFoundError as exc:
        raise ConfigLoadError(
            f"config.json of {repo_id!r} is not in the Hugging Face cache and the Hub cannot be reached "
            "(offline: HF_HUB_OFFLINE, or no network); pass --config path/to/config.json"
        ) from exc
    except HfHubHTTPError as exc:
        status = exc.response.status_code if exc.response is not None else "?"
        raise ConfigLoadError(
            f"the Hugging Face Hub refused config.json of {repo_id!r} (HTTP {status}): "
            "check the id, and HF_TOKEN for a gated model"
        ) from exc
    except (OSError, ValueError) as exc:  # invalid repo id, unreadable cache
        raise ConfigLoadError(f"cannot load config.json of {repo_id!r}: {exc}") from exc
    return read_config(local), Path(local)
