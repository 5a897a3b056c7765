"""Rules of what is deployed: environment, model, served name, app name and the vLLM image."""

from __future__ import annotations

import re
from typing import Any

import yaml

from components import catalog
from components.settings.environments import (
    ENVIRONMENT_DEFAULTS,
    ENVIRONMENTS,
    PINNED_VLLM_IMAGE,
    Environment,
    EnvironmentDefaults,
)
from components.settings.keys import StackConfig, parse_structured
from components.settings.rules_base import Findings

FLOATING_TAGS = frozenset({"latest", "nightly", "main", "master", "dev", "edge"})
_APP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$")
_IMAGE_NAME = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def environment(cfg: StackConfig, stack: str, p: Findings) -> Environment | None:
    value = cfg.environment.strip()
    if value:
        if value not in ENVIRONMENTS:
            p.add("environment", f"must be one of dev, staging, prod (got {value!r})", value="dev")
            return None
        return value  # type: ignore[return-value]
    for env in ENVIRONMENTS:
        if stack == env or stack.endswith(f"-{env}"):
            return env  # type: ignore[return-value]
    p.add(
          "environment",
          f"not set and the stack name '{stack}' does not end in -dev, -staging or -prod",
          value="dev",
          )
    return None


def model(cfg: StackConfig, p: Findings) -> catalog.ModelSpec | None:
    description: Any = None
    if cfg.modelSpec.strip():
        try:
            description = parse_structured(cfg.modelSpec)
        except yaml.YAMLError as exc:
            p.add("modelSpec", f"is not valid JSON: {exc}".splitlines()[0])
            return None
        if not isinstance(description, dict):
            p.add("modelSpec", "must be a JSON object with the model's architecture numbers")
            return None
        # camelCase like the rest of the config, or the catalog's snake_case
        description = {re.sub(r"(?<!^)(?=[A-Z])", "_", str(k)).lower(): v for k, v in description.items()}
    if description is None and not cfg.model.strip():
        p.add("model", "is required: the model to serve (catalog key or Hugging Face id)")
        return None
    try:
        spec = catalog.resolve_model(description if description is not None else cfg.model.strip())
    except (catalog.UnknownModel, ValueError, TypeError, KeyError) as exc:
        key = "modelSpec" if description is not None else "model"
        p.add(key, str(exc).splitlines()[0] if str(exc) else type(exc).__name__)
        return None
    if description is not None and cfg.model.strip() and cfg.model.strip() not in (spec.hf_id, spec.key):
        p.add("model", f"'{cfg.model}' names another model than modelSpec ({spec.hf_id})",
              value=spec.hf_id)
        return None
    return spec


def served_name(cfg: StackConfig, model: catalog.ModelSpec | None, p: Findings) -> str | None:
    name = cfg.servedModelName.strip()
    if not name:
        return model.hf_id if model is not None else None
    if not _SERVED_NAME.match(name):
        p.add("servedModelName", f"'{name}' must be 1-128 characters of letters, digits and ._/:-")
        return None
    return name


def app_name(cfg: StackConfig, stack: str, p: Findings) -> str | None:
    name = cfg.appName.strip()
    if not name:
        name = re.sub(r"[^a-z0-9-]+", "-", f"vllm-{stack}".lower()).strip("-")[:63].rstrip("-")
        return name
    if not _APP_NAME.match(name):
        p.add("appName", f"'{name}' must be 1-63 lowercase letters, digits or '-', not at the ends")
        return None
    return name


# --- image ------------------------------------------------------------------------------


def image(
    cfg: StackConfig, env: Environment | None, defaults: EnvironmentDefaults, p: Findings
) -> str | None:
    image = cfg.vllmImage.strip() or defaults.vllm_image
    ref, _, digest = image.partition("@")
    name, tag = ref, ""
    last = ref.rsplit("/", 1)[-1]
    if ":" in last:
        name, tag = ref.rsplit(":", 1)
    bad_tag = bool(tag) and not _IMAGE_TAG.match(tag)
    if not _IMAGE_NAME.match(name) or bad_tag or (digest and not _DIGEST.match(digest)):
        p.add("vllmImage", f"'{image}' is not an image reference (name[:tag][@sha256:...])")
        return None
    floating = not digest and (not tag or tag in FLOATING_TAGS)
    if floating and env is not None and not ENVIRONMENT_DEFAULTS[env].floating_image_allowed:
        what = "has no tag" if not tag else f"uses the floating tag '{tag}'"
        p.add("vllmImage", f"'{image}' {what}: {env} needs a pinned tag or digest "
              "so that a restart cannot change the engine", value=PINNED_VLLM_IMAGE)
        return None
    if floating and env == "staging":
        p.warn(f"vllmImage '{image}' is not pinned: prod will refuse it")
    return image
