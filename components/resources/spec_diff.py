"""Pure diff logic of AiApp: what changed between the stored outputs and the new inputs.

`olds` are the old *outputs* (the engine's contract): the spec as last applied or as last read
back by a refresh, `secretEnv` as fingerprints, and the `fingerprintKey` that made them. `news`
are the checked inputs, with plain secret values. Values that are not known yet (during a
preview) count as changed, and as a replacement when the field forces one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from components.platform import DEFAULT_GPU_QUOTA, DEPLOYMENT_LABEL, PLATFORM_LABEL_PREFIX, RESTARTABLE_STATES
from components.resources.field_policy import INPUT_POLICY, SPEC_POLICY, keys_applied_by
from components.resources.fingerprint import fingerprint

UNKNOWN_SENTINEL = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"  # pulumi.runtime.rpc.UNKNOWN

# Views of the field policy (field_policy.py): one table decides, these names only group it.
REPLACE_SPEC_KEYS = keys_applied_by("replace")
IMAGE_KEYS = keys_applied_by("image")
SCALING_KEYS = keys_applied_by("scaling")
LABEL_KEYS = keys_applied_by("labels")
PUT_SPEC_KEYS = keys_applied_by("put")
UPDATE_SPEC_KEYS = tuple(k for k, p in SPEC_POLICY.items() if not p.replaces)
REPLACE_INPUT_KEYS = keys_applied_by("replace", INPUT_POLICY)
PROVIDER_KEYS = keys_applied_by("provider", INPUT_POLICY)


def is_unknown(value: Any) -> bool:
    """A value the engine does not know yet (pulumi's Unknown object or the wire sentinel)."""
    return type(value).__name__ == "Unknown" or value == UNKNOWN_SENTINEL


def contains_unknown(value: Any) -> bool:
    if is_unknown(value):
        return True
    if isinstance(value, Mapping):
        return any(contains_unknown(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(contains_unknown(v) for v in value)
    return False


def normalize(value: Any) -> Any:
    """Engine values to plain JSON: integral floats back to ints, `None` entries dropped."""
    if isinstance(value, bool) or value is None or isinstance(value, str) or is_unknown(value):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, Mapping):
        return {str(k): normalize(v) for k, v in value.items() if v is not None}
    if isinstance(value, list | tuple):
        return [normalize(v) for v in value]
    return value


def _empty_as_none(value: Any) -> Any:
    return None if value in ({}, [], None) else value


def same(old: Any, new: Any) -> bool:
    return bool(normalize(_empty_as_none(old)) == normalize(_empty_as_none(new)))


def user_labels(labels: Mapping[str, Any] | None) -> dict[str, str]:
    """Labels the user owns: without the platform's `ovh/` ones and the deployment-key label."""
    return {
        k: str(v)
        for k, v in (labels or {}).items()
        if not k.startswith(PLATFORM_LABEL_PREFIX) and k != DEPLOYMENT_LABEL
    }


def gpu_count(spec: Mapping[str, Any]) -> int:
    """GPUs an app holds when running: GPUs per replica x the most replicas it may run."""
    resources = spec.get("resources") or {}
    per_replica = resources.get("gpu") if isinstance(resources, Mapping) else None
    if not isinstance(per_replica, int | float) or isinstance(per_replica, bool):
        return 0
    scaling = spec.get("scalingStrategy") or {}
    replicas: Any = 1
    if isinstance(scaling, Mapping):
        fixed = scaling.get("fixed")
        automatic = scaling.get("automatic")
        if isinstance(fixed, Mapping):
            replicas = fixed.get("replicas", 1)
        elif isinstance(automatic, Mapping):
            replicas = automatic.get("replicasMax", automatic.get("replicasMin", 1))
    if not isinstance(replicas, int | float) or isinstance(replicas, bool):
        replicas = 1
    return int(per_replica) * max(int(replicas), 1)


@dataclass
class AppChanges:
    """Property paths that changed, split by how they are applied."""

    replaces: list[str] = field(default_factory=list)
    updates: list[str] = field(default_factory=list)
    delete_before_replace: bool = False

    @property
    def changed(self) -> bool:
        return bool(self.replaces or self.updates)

    def spec_keys(self) -> set[str]:
        return {p.split(".", 1)[1] for p in self.updates if p.startswith("spec.")}


def secret_env_changed(olds: Mapping[str, Any], news: Mapping[str, Any]) -> bool:
    old_prints = olds.get("secretEnv") or {}
    new_values = news.get("secretEnv") or {}
    if is_unknown(new_values) or not isinstance(new_values, Mapping) or not isinstance(old_prints, Mapping):
        return True
    if set(old_prints) != set(new_values):
        return True
    key = olds.get("fingerprintKey")
    if not new_values:
        return False
    if not isinstance(key, str) or not key:
        return True
    for name, value in new_values.items():
        if is_unknown(value) or fingerprint(key, name, str(value)) != old_prints.get(name):
            return True
    return False


def diff_app(olds: Mapping[str, Any], news: Mapping[str, Any]) -> AppChanges:
    changes = AppChanges()
    old_spec: Mapping[str, Any] = olds.get("spec") or {}
    new_spec_raw = news.get("spec") or {}
    if is_unknown(new_spec_raw):
        changes.updates.append("spec")
        return changes
    new_spec: Mapping[str, Any] = new_spec_raw

    for key in REPLACE_INPUT_KEYS:
        if not same(olds.get(key), news.get(key)):
            changes.replaces.append(key)
    for key in sorted(set(old_spec) | set(new_spec)):
        old, new = old_spec.get(key), new_spec.get(key)
        if key == "labels" and not contains_unknown(new):
            old, new = user_labels(old), user_labels(new)
        if not contains_unknown(new) and same(old, new):
            continue
        path = f"spec.{key}"
        # A field the policy does not know (a newer API) is replaced (see field_policy.py).
        (changes.updates if key in UPDATE_SPEC_KEYS else changes.replaces).append(path)
    if secret_env_changed(olds, news):
        changes.updates.append("secretEnv")
    for key in PROVIDER_KEYS:
        if not same(olds.get(key), news.get(key)):
            changes.updates.append(key)
    if olds.get("state") in RESTARTABLE_STATES:
        changes.updates.append("state")
    if changes.replaces:
        quota = news.get("gpuQuota", DEFAULT_GPU_QUOTA)
        quota = (
            int(quota)
            if isinstance(quota, int | float) and not isinstance(quota, bool)
            else DEFAULT_GPU_QUOTA
        )
        changes.delete_before_replace = gpu_count(old_spec) + gpu_count(new_spec) > quota
    return changes


def project_live(
    input_spec: Mapping[str, Any], live_spec: Mapping[str, Any], secret_names: set[str]
) -> dict[str, Any]:
    """The live spec in the shape of the input spec, so that a refresh shows real drift only.

    Fields the server fills in (cpu and memory from the flavor, probe defaults...) are dropped
    when the input did not set them; labels lose the platform's and the deployment key's; env
    vars lose the secret ones (their drift is tracked by fingerprint).
    """
    result: dict[str, Any] = {}
    for key, wanted in input_spec.items():
        if key not in live_spec:
            continue
        live = normalize(live_spec[key])
        if key == "labels":
            result[key] = user_labels(live)
        elif key == "envVars":
            result[key] = [
                e for e in live or [] if isinstance(e, Mapping) and e.get("name") not in secret_names
            ]
        else:
            result[key] = _project(wanted, live)
    return result


def _project(wanted: Any, live: Any) -> Any:
    if isinstance(wanted, Mapping) and isinstance(live, Mapping):
        return {k: _project(wanted[k], live[k]) for k in wanted if k in live}
    if isinstance(wanted, list) and isinstance(live, list) and len(wanted) == len(live):
        return [_project(w, v) for w, v in zip(wanted, live, strict=True)]
    return live
