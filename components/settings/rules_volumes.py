"""Rules of the app's volumes: the Hugging Face cache, the workspace and the extra volumes."""

from __future__ import annotations

import re

from components import cache as model_cache
from components.catalog import ModelSpec
from components.settings.keys import StackConfig
from components.settings.model import CacheSettings, VolumeSettings
from components.settings.rules_base import Findings

RESERVED_MOUNTS = (
    "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/run",
)
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTAINER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")


def _mount_path(p: Findings, key: str, path: str) -> str | None:
    if not path.startswith("/"):
        p.add(key, f"mount path '{path}' must be absolute (start with /)")
        return None
    norm = "/" + "/".join(part for part in path.split("/") if part)
    if any(part in (".", "..") for part in path.split("/")) or " " in path:
        p.add(key, f"mount path '{path}' must not contain '.', '..' or spaces")
        return None
    if norm == "/" or any(norm == r or norm.startswith(r + "/") for r in RESERVED_MOUNTS):
        p.add(key, f"mount path '{path}' would hide a system directory of the container")
        return None
    return norm


def _source(p: Findings, key: str, source: str) -> tuple[str | None, str | None, str | None] | None:
    """'standalone' -> (None, None, None); 'container@ALIAS[/prefix]' -> (container, alias, prefix)."""
    if source == "standalone":
        return None, None, None
    m = re.match(r"^([^@/]+)@([^/]+)(?:/(.+))?$", source)
    if not m or not _CONTAINER.match(m.group(1)) or not _ALIAS.match(m.group(2)):
        p.add(key, f"volume source '{source}' must be 'standalone' or 'container@ALIAS[/prefix]' "
              "(an Object Storage container through a datastore alias such as GRA or S3GRA)")
        return None
    return m.group(1), m.group(2), m.group(3)


def volumes(cfg: StackConfig, p: Findings) -> list[VolumeSettings] | None:
    volumes: list[tuple[str, VolumeSettings]] = []
    ok = True
    cache_path = _mount_path(p, "cachePath", cfg.cachePath.strip())
    source = _source(p, "cacheVolume", cfg.cacheVolume.strip())
    if cache_path is not None and source is not None:
        container, alias, prefix = source
        volumes.append(("cachePath", VolumeSettings(cache_path, "RW", False, container, alias, prefix)))
    else:
        ok = False
    if cfg.workspacePath.strip():
        ws = _mount_path(p, "workspacePath", cfg.workspacePath.strip())
        if ws is None:
            ok = False
        else:
            volumes.append(("workspacePath", VolumeSettings(ws, "RW")))
    for i, text in enumerate(cfg.extraVolumes):
        vol = _extra_volume(p, i, text)
        if vol is None:
            ok = False
        else:
            volumes.append((f"extraVolumes[{i}]", vol))
    seen: dict[str, str] = {}
    for key, vol in volumes:
        for other_path, other_key in seen.items():
            if vol.mount_path == other_path or vol.mount_path.startswith(other_path + "/") \
                    or other_path.startswith(vol.mount_path + "/"):
                base = key.split("[")[0]
                p.add(base, f"mount path {vol.mount_path} collides with {other_key} at {other_path}")
                ok = False
        seen[vol.mount_path] = key
    return [v for _, v in volumes] if ok else None


def _extra_volume(p: Findings, index: int, text: str) -> VolumeSettings | None:
    parts = text.strip().split(":")
    key = "extraVolumes"
    if len(parts) < 2 or len(parts) > 4:
        p.add(key, f"[{index}] '{text}' must be SOURCE:/path[:ro|rw|rwd][:cache]")
        return None
    source = _source(p, key, parts[0])
    path = _mount_path(p, key, parts[1])
    permission = "RW"
    cache = False
    for extra in parts[2:]:
        if extra.lower() in ("ro", "rw", "rwd"):
            permission = extra.upper()
        elif extra.lower() == "cache":
            cache = True
        else:
            p.add(key, f"[{index}] '{extra}' in '{text}' is neither ro, rw, rwd nor cache")
            return None
    if source is None or path is None:
        return None
    container, alias, prefix = source
    if cache and container is None:
        p.add(key, f"[{index}] 'cache' only applies to an Object Storage container")
        return None
    return VolumeSettings(path, permission, cache, container, alias, prefix)  # type: ignore[arg-type]


def cache(cfg: StackConfig, model: ModelSpec | None, p: Findings) -> CacheSettings | None:
    """The shared model cache (`cacheStack`, `cachePrefix`); None when the stack does not opt in.
    What the platform stack exports (outputs, region) and the other stacks' prefixes are checked
    by the component once the StackReference is read (components/cache.py)."""
    stack = cfg.cacheStack.strip()
    explicit = cfg.cachePrefix.strip()
    if not stack:
        if explicit:
            p.add("cachePrefix", "applies to the shared cache only: set cacheStack too, or remove it",
                  p.rm_cmd("cachePrefix"))
        return None
    problem = model_cache.stack_problem(stack)
    if problem is not None:
        p.add("cacheStack", problem + " (the platform stack of the app's region)")
        return None
    if cfg.cacheVolume.strip() != "standalone":
        p.add("cacheStack", f"the cache is already given by cacheVolume={cfg.cacheVolume!r}: use one "
              "of the two", p.rm_cmd("cacheVolume"))
        return None
    if explicit:
        why = model_cache.prefix_problem(explicit)
        if why is not None:
            p.add("cachePrefix", f"{explicit!r} {why}",
                  p.rm_cmd("cachePrefix") + " (derive it from the model)")
            return None
    if model is None:
        return None
    return CacheSettings(stack=stack, prefix=explicit or model_cache.model_prefix(model.hf_id),
                         explicit_prefix=bool(explicit))
