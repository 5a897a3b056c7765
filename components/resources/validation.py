"""`check` of the resources: normalise what the engine sends and report every bad field at once.

No API call happens here: `pulumi preview` must be able to reject a typo offline. The messages
name the field with its input path (`spec.resources.gpu`) and say what would be accepted.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from pydantic import ValidationError

from components.ovhai.models import AppSpec, TokenRole
from components.platform import (
    DEFAULT_GPU_QUOTA,
    DEPLOYMENT_LABEL,
    ENV_NAME,
    LABEL_VALUE,
    PLATFORM_LABEL_PREFIX,
)
from components.resources.spec_diff import (
    contains_unknown,
    is_unknown,
    normalize,
)

Failure = tuple[str, str]  # (property path, reason)

DEFAULT_TIMEOUT_SECONDS = 1800  # a 24B model on 2 L40S: image pull + weights download + load


def _path(prefix: str, loc: tuple[int | str, ...]) -> str:
    text = prefix
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text


def model_failures(prefix: str, error: ValidationError) -> list[Failure]:
    failures = []
    for item in error.errors(include_url=False, include_input=False):
        message = str(item["msg"]).removeprefix("Value error, ")
        failures.append((_path(prefix, tuple(item["loc"])), message))
    return failures


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def check_app(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    """Checked AiApp inputs (defaults filled, ints restored) and the failures, one per bad field."""
    inputs: dict[str, Any] = {k: normalize(v) for k, v in news.items() if k != "__provider"}
    failures: list[Failure] = []

    spec = inputs.get("spec")
    if spec is None:
        failures.append(("spec", "required: the app's spec (AppSpec JSON: name, image, resources, ...)"))
        spec = {}
    elif not is_unknown(spec) and not isinstance(spec, Mapping):
        failures.append(("spec", f"must be an object (AppSpec JSON), got {type(spec).__name__}"))
        spec = {}
    if isinstance(spec, Mapping):
        failures += _check_spec(spec)

    secret_env = inputs.setdefault("secretEnv", {})
    if isinstance(secret_env, Mapping):
        env_vars = spec.get("envVars") if isinstance(spec, Mapping) else None
        plain_names = (
            {e.get("name") for e in env_vars if isinstance(e, Mapping)}
            if isinstance(env_vars, list)
            else set()
        )
        for name, value in secret_env.items():
            if not ENV_NAME.match(name):
                failures.append(
                    (
                        f"secretEnv.{name}",
                        "invalid environment variable name: use letters, digits, "
                        "'_', '-', '.', not starting with a digit",
                    )
                )
            if not is_unknown(value) and not isinstance(value, str):
                failures.append((f"secretEnv.{name}", "must be a string (the secret's value)"))
            if name in plain_names:
                failures.append((f"secretEnv.{name}", "also set in spec.envVars: set it in one place only"))
    elif not is_unknown(secret_env):
        failures.append(("secretEnv", "must be an object of variable name -> secret value"))

    failures += _check_readiness(inputs, spec if isinstance(spec, Mapping) else {})

    key = inputs.get("deploymentKey")
    if key is None and isinstance(spec, Mapping) and isinstance(spec.get("name"), str):
        key = inputs["deploymentKey"] = spec["name"]
    if key is None:
        failures.append(("deploymentKey", "required: a stable string that identifies this deployment"))
    elif not is_unknown(key) and (not isinstance(key, str) or not key or not LABEL_VALUE.match(key)):
        failures.append(
            (
                "deploymentKey",
                f"{key!r} cannot be a label value: 1-63 letters, digits, '-', '_' or '.', "
                "starting and ending with a letter or digit",
            )
        )

    quota = inputs.setdefault("gpuQuota", DEFAULT_GPU_QUOTA)
    if not is_unknown(quota) and (not isinstance(quota, int) or isinstance(quota, bool) or quota < 0):
        failures.append(("gpuQuota", "must be a whole number of GPUs >= 0 (the project's GPU quota)"))
    adopt = inputs.get("adoptAppId")
    if adopt is not None and not is_unknown(adopt) and (not isinstance(adopt, str) or not adopt.strip()):
        failures.append(("adoptAppId", "must be the id of an existing app (a UUID), or left out"))
    failures += check_service_name(inputs)
    keep = inputs.setdefault("keepFailedApps", False)
    if not is_unknown(keep) and not isinstance(keep, bool):
        failures.append(("keepFailedApps", "must be true or false"))
    return inputs, failures


def check_service_name(inputs: Mapping[str, Any]) -> list[Failure]:
    """`serviceName`, the public door's project handed in by the program (optional)."""
    value = inputs.get("serviceName")
    if value is None or is_unknown(value) or (isinstance(value, str) and value.strip()):
        return []
    return [("serviceName", "must be the public cloud project id (a string), or left out")]


def _check_spec(spec: Mapping[str, Any]) -> list[Failure]:
    failures: list[Failure] = []
    name = spec.get("name")
    if name is None:
        failures.append(("spec.name", "required: the app's name (changing it later replaces the app)"))
    labels = spec.get("labels")
    if isinstance(labels, Mapping):
        for label in labels:
            if label == DEPLOYMENT_LABEL:
                failures.append((f"spec.labels.{label}", "set by the provider from deploymentKey; remove it"))
            elif label.startswith(PLATFORM_LABEL_PREFIX):
                failures.append(
                    (f"spec.labels.{label}", f"labels under {PLATFORM_LABEL_PREFIX} belong to the platform")
                )
    known = {field.alias or name for name, field in AppSpec.model_fields.items()}
    strangers = sorted(set(spec) - known)
    for key in strangers:
        close = difflib.get_close_matches(key, sorted(known), n=1)
        failures.append((f"spec.{key}", "unknown field" + (f": did you mean {close[0]}?" if close else "")))
    if contains_unknown(spec):
        return failures  # a preview with values not known yet: the real check comes at `up`
    try:
        AppSpec.from_input({k: v for k, v in spec.items() if k not in strangers})
    except ValidationError as error:
        failures += model_failures("spec", error)
    return failures


def _check_readiness(inputs: dict[str, Any], spec: Mapping[str, Any]) -> list[Failure]:
    readiness = inputs.get("readiness")
    if is_unknown(readiness):
        return []
    if readiness is None:
        readiness = {}
    if not isinstance(readiness, Mapping):
        return [("readiness", "must be an object {path, timeoutSeconds}")]
    probe = spec.get("probe") if isinstance(spec.get("probe"), Mapping) else {}
    default_path = (
        probe.get("path") if isinstance(probe, Mapping) and isinstance(probe.get("path"), str) else "/"
    )
    readiness = {"path": default_path, "timeoutSeconds": DEFAULT_TIMEOUT_SECONDS, **readiness}
    inputs["readiness"] = readiness
    failures: list[Failure] = []
    path, timeout = readiness["path"], readiness["timeoutSeconds"]
    if not is_unknown(path) and not (isinstance(path, str) and (path == "" or path.startswith("/"))):
        failures.append(
            ("readiness.path", "must start with '/' (e.g. /health), or be \"\" to wait for RUNNING only")
        )
    if not is_unknown(timeout) and (not _is_number(timeout) or timeout <= 0):
        failures.append(
            ("readiness.timeoutSeconds", "must be a number of seconds > 0 (model download included)")
        )
    unknown = set(readiness) - {"path", "timeoutSeconds", "fromBucket"}
    if unknown:
        failures.append(
            ("readiness", f"unknown field(s): {', '.join(sorted(unknown))} "
             "(known: path, timeoutSeconds, fromBucket)")
        )
    if readiness.get("fromBucket") is not None:
        failures += _check_from_bucket(readiness["fromBucket"], timeout)
    return failures


def _check_from_bucket(bucket: Any, hub_timeout: Any) -> list[Failure]:
    """`readiness.fromBucket {timeoutSeconds, mountPath?, model?}`: the deadline of a start whose
    cache volume's prefix was pushed (components/resources/readiness.py `choose_deadline`)."""
    if is_unknown(bucket):
        return []
    if not isinstance(bucket, Mapping):
        return [("readiness.fromBucket", "must be an object {timeoutSeconds, mountPath, model}")]
    failures: list[Failure] = []
    timeout = bucket.get("timeoutSeconds")
    mount, model = bucket.get("mountPath", "/hub"), bucket.get("model", "")
    if not is_unknown(timeout):
        if not _is_number(timeout) or float(timeout or 0) <= 0:
            failures.append(("readiness.fromBucket.timeoutSeconds", "must be a number of seconds > 0 "
                             "(a start that pulls the weights from the bucket)"))
        elif _is_number(hub_timeout) and timeout > hub_timeout:
            failures.append(("readiness.fromBucket.timeoutSeconds", f"{timeout} s is longer than "
                             f"readiness.timeoutSeconds={hub_timeout} (a start from the Hub): a pull from "
                             "the bucket is the shorter start"))
    if not is_unknown(mount) and not (isinstance(mount, str) and mount.startswith("/")):
        failures.append(("readiness.fromBucket.mountPath",
                         "must be the cache volume's mount path (e.g. /hub)"))
    if not is_unknown(model) and not isinstance(model, str):
        failures.append(("readiness.fromBucket.model", "must be the served model's id (a string)"))
    unknown = set(bucket) - {"timeoutSeconds", "mountPath", "model"}
    if unknown:
        failures.append(("readiness.fromBucket", f"unknown field(s): {', '.join(sorted(unknown))} "
                         "(known: timeoutSeconds, mountPath, model)"))
    return failures


def check_token(news: Mapping[str, Any]) -> tuple[dict[str, Any], list[Failure]]:
    inputs: dict[str, Any] = {k: normalize(v) for k, v in news.items() if k != "__provider"}
    failures: list[Failure] = []
    name = inputs.get("name")
    if not is_unknown(name) and (not isinstance(name, str) or not name.strip()):
        failures.append(("name", "required: the token's name"))
    role = inputs.get("role", "read")
    if not is_unknown(role):
        try:
            parsed = TokenRole(role)
        except ValueError:
            parsed = None
        if parsed not in (TokenRole.READ, TokenRole.OPERATOR):
            failures.append(("role", f"{role!r} is not a role: use read or operator"))
        else:
            role = parsed.cli_name
    inputs["role"] = role
    selector = inputs.get("labelSelector")
    if selector is not None and not is_unknown(selector):
        if not isinstance(selector, str):
            failures.append(("labelSelector", "must be a string k=v[,k2=v2]"))
        else:
            for part in filter(None, selector.split(",")):
                key, sep, _ = part.partition("=")
                if not sep or not key.strip():
                    failures.append(("labelSelector", f"{selector!r} must look like k=v[,k2=v2]"))
                    break
    failures += check_service_name(inputs)
    rotation = inputs.get("rotation")
    if rotation is not None and not is_unknown(rotation) and not isinstance(rotation, str | int | float):
        failures.append(("rotation", "must be a string or number; change it to renew the token"))
    return inputs, failures
