"""Validation and normalisation of app specs, scaling strategies and update bodies.

Every rejection is an `ApiError(400)` whose message starts with the wire path of the field
(`spec.resources.gpu: ...`, `spec.volumes[1].mountPath: ...`). Normalising is idempotent: a
normalised spec (with the server-filled resources) validates to itself, which lets updates merge
into the stored spec and validate the result as a whole.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from typing import Any

from .errors import invalid
from .flavors import DEFAULT_CPU_FLAVOR, DEFAULT_GPU_FLAVOR, FLAVORS

SPEC_FIELDS = frozenset(
    {
        "name", "image", "command", "envVars", "defaultHttpPort", "grpcPort", "labels", "unsecureHttp",
        "resources", "volumes", "scalingStrategy", "probe", "livenessProbe", "deploymentStrategy",
        "partnerId", "region",
    }
)  # fmt: skip
UPDATE_FIELDS = frozenset(
    {
        "command", "cpu", "defaultHttpPort", "deploymentStrategy", "envVars", "flavor", "gpu", "grpcPort",
        "livenessProbe", "probe", "url",
    }
)  # fmt: skip
VOLUME_SOURCES = ("dataStore", "publicGit", "publicSwift", "standalone")
PERMISSIONS = ("RO", "RW", "RWD")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
LABEL_PART = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)$")
LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?)$")
PLATFORM_PREFIX = "ovh/"
STARTUP_LABEL = "emulator/startup-seconds"
MAX_REPLICAS = 10
MAX_WINDOW_SECONDS = 3600  # stabilization windows and cooldown


def obj(value: Any, path: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid(path, "must be an object")
    return value


def flat_or_spec(body: Any) -> tuple[dict[str, Any], str]:
    """A create body given flat or as `{"spec": {...}}`, and the prefix its error paths take."""
    raw = obj(body, "body")
    if isinstance(raw.get("spec"), dict):
        return raw["spec"], "spec."
    return raw, ""


def integer(value: Any, path: str, low: int | None = None, high: int | None = None) -> int:
    # Pulumi numbers arrive as floats: accept integral floats.
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or (isinstance(value, float) and not math.isfinite(value))
        or int(value) != value
    ):
        raise invalid(path, "must be an integer")
    number = int(value)
    if low is not None and high is not None and not low <= number <= high:
        raise invalid(path, f"must be between {low} and {high}, got {number}")
    if low is not None and number < low:
        raise invalid(path, f"must be >= {low}, got {number}")
    if high is not None and number > high:
        raise invalid(path, f"must be <= {high}, got {number}")
    return number


def string(value: Any, path: str, *, required: bool = False) -> str:
    if not isinstance(value, str) or (required and not value.strip()):
        raise invalid(path, "required (a non-empty string)" if required else "must be a string")
    return value


def boolean(value: Any, path: str) -> bool:
    if not isinstance(value, bool):
        raise invalid(path, "must be true or false")
    return value


def enum(value: Any, path: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise invalid(path, f"must be one of {', '.join(allowed)}, got {value!r}")
    return str(value)


def port(value: Any, path: str) -> int:
    return integer(value, path, 1, 65535)


def label_name_ok(name: str) -> bool:
    prefix, _, rest = name.rpartition("/")
    if "/" in prefix:
        return False
    return bool(LABEL_PART.match(rest)) and (not prefix or bool(LABEL_PREFIX.match(prefix)))


def labels(value: Any, path: str) -> dict[str, str]:
    """User labels; `ovh/` labels belong to the platform and are dropped (the server sets them)."""
    result: dict[str, str] = {}
    for name, label_value in obj(value, path).items():
        where = f"{path}.{name}"
        if not label_name_ok(name):
            raise invalid(where, "invalid label name (alphanumerics, '-', '_', '.', one optional 'prefix/')")
        if not isinstance(label_value, str) or not LABEL_VALUE.match(label_value):
            raise invalid(where, "invalid label value (up to 63 alphanumerics, '-', '_', '.')")
        if name == STARTUP_LABEL:
            try:
                seconds = float(label_value)
            except ValueError:
                raise invalid(where, "must be a number of seconds") from None
            if not math.isfinite(seconds):
                raise invalid(where, "must be a finite number of seconds")
        if not name.startswith(PLATFORM_PREFIX):
            result[name] = label_value
    return result


def env_vars(value: Any, path: str) -> list[dict[str, str]]:
    if not isinstance(value, list):
        raise invalid(path, "must be a list of {name, value}")
    result: list[dict[str, str]] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"{path}[{index}]"
        entry = obj(item, where)
        name = entry.get("name")
        if not isinstance(name, str) or not ENV_NAME.match(name):
            raise invalid(f"{where}.name", f"invalid environment variable name {name!r}")
        if name in seen:
            raise invalid(f"{where}.name", f"duplicate environment variable {name!r}")
        seen.add(name)
        result.append({"name": name, "value": string(entry.get("value", ""), f"{where}.value")})
    return result


def command(value: Any, path: str) -> list[str]:
    if not isinstance(value, list):
        raise invalid(path, "must be a list of strings")
    return [string(part, f"{path}[{i}]") for i, part in enumerate(value)]


def resources(value: Any, path: str) -> dict[str, Any]:
    """`{flavor, gpu}` or `{flavor, cpu}` -> the server-filled resources of that flavor."""
    raw = obj(value, path)
    gpu, cpu = raw.get("gpu"), raw.get("cpu")
    flavor_id = raw.get("flavor")
    if flavor_id is None:
        flavor_id = DEFAULT_CPU_FLAVOR if cpu is not None and gpu is None else DEFAULT_GPU_FLAVOR
    flavor = FLAVORS.get(flavor_id) if isinstance(flavor_id, str) else None
    if flavor is None:
        raise invalid(f"{path}.flavor", f"unknown flavor {flavor_id!r} (known: {', '.join(FLAVORS)})")
    if flavor.is_gpu:
        units = 1 if gpu is None else integer(gpu, f"{path}.gpu")
        if units < 1:
            raise invalid(f"{path}.gpu", f"must be >= 1 on the GPU flavor {flavor.id}")
        if units > flavor.max_units:
            raise invalid(
                f"{path}.gpu", f"{units} GPUs exceed the maximum of {flavor.max_units} for {flavor.id}"
            )
        # A spec read back from the API carries the filled cpu count: accept exactly that.
        if cpu is not None and cpu != flavor.cpu_per_unit * units:
            raise invalid(f"{path}.cpu", f"cannot be set with the GPU flavor {flavor.id} (set gpu instead)")
    else:
        if gpu not in (None, 0):
            raise invalid(f"{path}.gpu", f"cannot be set with the CPU flavor {flavor.id} (set cpu instead)")
        units = 1 if cpu is None else integer(cpu, f"{path}.cpu")
        if not 1 <= units <= flavor.max_units:
            raise invalid(
                f"{path}.cpu", f"must be between 1 and {flavor.max_units} for {flavor.id}, got {units}"
            )
    return flavor.fill_resources(units)


def scaling_strategy(value: Any, path: str) -> dict[str, Any]:
    raw = obj(value, path)
    for key in raw:
        if key not in ("fixed", "automatic"):
            raise invalid(f"{path}.{key}", "unknown scaling strategy (fixed or automatic)")
    fixed, automatic = raw.get("fixed"), raw.get("automatic")
    if fixed is not None and automatic is not None:
        raise invalid(path, "fixed and automatic are mutually exclusive: set only one")
    if automatic is not None:
        return {"automatic": _automatic(automatic, f"{path}.automatic")}
    replicas = 1 if fixed is None else obj(fixed, f"{path}.fixed").get("replicas", 1)
    return {"fixed": {"replicas": integer(replicas, f"{path}.fixed.replicas", 1, MAX_REPLICAS)}}


def _automatic(value: Any, path: str) -> dict[str, Any]:
    raw = obj(value, path)
    low = integer(raw.get("replicasMin", 1), f"{path}.replicasMin", 0, MAX_REPLICAS)
    high = integer(raw.get("replicasMax", max(low, 1)), f"{path}.replicasMax", 1, MAX_REPLICAS)
    if high < low:
        raise invalid(f"{path}.replicasMax", f"must be >= replicasMin ({low}), got {high}")
    result: dict[str, Any] = {
        "replicasMin": low,
        "replicasMax": high,
        "resourceType": enum(raw.get("resourceType", "CPU"), f"{path}.resourceType", ("CPU", "RAM")),
        "averageUsageTarget": integer(
            raw.get("averageUsageTarget", 75), f"{path}.averageUsageTarget", 1, 100
        ),
    }
    for key in ("scaleUpStabilizationWindowSeconds", "scaleDownStabilizationWindowSeconds"):
        if raw.get(key) is not None:
            result[key] = integer(raw[key], f"{path}.{key}", 0, MAX_WINDOW_SECONDS)
    if raw.get("cooldownPeriodSeconds") is not None:
        result["cooldownPeriodSeconds"] = integer(
            raw["cooldownPeriodSeconds"], f"{path}.cooldownPeriodSeconds", 0, MAX_WINDOW_SECONDS
        )
    if raw.get("customMetrics") is not None:
        result["customMetrics"] = _custom_metrics(raw["customMetrics"], f"{path}.customMetrics")
    return result


def _custom_metrics(value: Any, path: str) -> dict[str, Any]:
    raw = obj(value, path)
    target = raw.get("targetValue")
    if isinstance(target, bool) or not isinstance(target, int | float) or not math.isfinite(target):
        raise invalid(f"{path}.targetValue", "required (a number)")
    result: dict[str, Any] = {
        "apiUrl": string(raw.get("apiUrl"), f"{path}.apiUrl", required=True),
        "format": enum(raw.get("format"), f"{path}.format", ("JSON", "PROMETHEUS", "XML", "YAML")),
        "valueLocation": string(raw.get("valueLocation"), f"{path}.valueLocation", required=True),
        "targetValue": target,
    }
    if raw.get("aggregationType") is not None:
        result["aggregationType"] = enum(
            raw["aggregationType"], f"{path}.aggregationType", ("AVERAGE", "MAX", "MIN", "SUM")
        )
    return result


def probe(value: Any, path: str) -> dict[str, Any]:
    raw = obj(value, path)
    result: dict[str, Any] = {}
    if raw.get("path") is not None:
        result["path"] = string(raw["path"], f"{path}.path")
        if not result["path"].startswith("/"):
            raise invalid(f"{path}.path", "must start with '/'")
    if raw.get("port") is not None:
        result["port"] = port(raw["port"], f"{path}.port")
    for key in (
        "initialDelaySeconds",
        "periodSeconds",
        "timeoutSeconds",
        "failureThreshold",
        "successThreshold",
    ):
        if raw.get(key) is not None:
            low = (
                1 if key in ("periodSeconds", "timeoutSeconds", "failureThreshold", "successThreshold") else 0
            )
            result[key] = integer(raw[key], f"{path}.{key}", low, 86400)
    return result


def deployment_strategy(value: Any, path: str) -> dict[str, Any]:
    raw = obj(value, path)
    result: dict[str, Any] = {}
    for key in ("maxSurge", "maxUnavailable"):
        if raw.get(key) is not None:
            text = str(raw[key]) if isinstance(raw[key], int) else raw[key]
            if not isinstance(text, str) or not re.fullmatch(r"\d+%?", text):
                raise invalid(f"{path}.{key}", "must be a count or a percentage like '25%'")
            result[key] = text
    for key in ("progressDeadlineSeconds", "terminationGracePeriodSeconds"):
        if raw.get(key) is not None:
            result[key] = integer(raw[key], f"{path}.{key}", 0)
    return result


def volume(value: Any, path: str) -> dict[str, Any]:
    """One volume; the deprecated top-level source (`"standalone": {}`) moves into volumeSource."""
    raw = obj(value, path)
    mount = string(raw.get("mountPath"), f"{path}.mountPath", required=True)
    if not mount.startswith("/"):
        raise invalid(f"{path}.mountPath", f"must be an absolute path starting with '/', got {mount!r}")
    permission = enum(raw.get("permission"), f"{path}.permission", PERMISSIONS)
    source = raw.get("volumeSource")
    where = f"{path}.volumeSource"
    top_level = {k: raw[k] for k in VOLUME_SOURCES if raw.get(k) is not None}
    if source is None and top_level:
        source, where = top_level, path
    elif source is None and raw.get("container"):  # the oldest form: container/region/prefix
        source = {"dataStore": {"alias": raw.get("region") or "GRA", "container": raw["container"]}}
        if raw.get("prefix"):
            source["dataStore"]["prefix"] = raw["prefix"]
    elif source is None:
        source = {"standalone": {}}  # the CLI's `-v standalone:/path:rw`: a platform disk
    result: dict[str, Any] = {
        "mountPath": mount,
        "permission": permission,
        "cache": boolean(raw.get("cache", False), f"{path}.cache"),
        "volumeSource": _volume_source(source, where),
    }
    return result


def _volume_source(value: Any, path: str) -> dict[str, Any]:
    raw = obj(value, path)
    for key in raw:
        if key not in VOLUME_SOURCES:
            raise invalid(f"{path}.{key}", f"unknown volume source kind (one of {', '.join(VOLUME_SOURCES)})")
    kinds = [k for k in VOLUME_SOURCES if raw.get(k) is not None]
    if len(kinds) != 1:
        raise invalid(path, f"exactly one of {', '.join(VOLUME_SOURCES)} is required")
    kind = kinds[0]
    return {kind: source_fields(kind, raw[kind], f"{path}.{kind}")}


def source_fields(kind: str, value: Any, where: str) -> dict[str, Any]:
    """The fields of one volume source of `kind` (dataStore, publicGit, publicSwift, standalone)."""
    body = obj(value, where)
    if kind == "dataStore":
        result: dict[str, Any] = {
            "alias": string(body.get("alias"), f"{where}.alias", required=True),
            "container": string(body.get("container"), f"{where}.container", required=True),
        }
        if body.get("prefix") is not None:
            result["prefix"] = string(body["prefix"], f"{where}.prefix")
    elif kind in ("publicGit", "publicSwift"):
        result = {"url": string(body.get("url"), f"{where}.url", required=True)}
    else:
        result = {}
        if body.get("name") is not None:
            result["name"] = string(body["name"], f"{where}.name")
    return result


def volumes(value: Any, path: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise invalid(path, "must be a list")
    result: list[dict[str, Any]] = []
    seen: dict[str, int] = {}
    for index, item in enumerate(value):
        entry = volume(item, f"{path}[{index}]")
        mount = entry["mountPath"].rstrip("/") or "/"
        if mount in seen:
            raise invalid(
                f"{path}[{index}].mountPath",
                f"duplicate mount path {entry['mountPath']!r} (also used by {path}[{seen[mount]}])",
            )
        seen[mount] = index
        result.append(entry)
    return result


def volume_aliases(spec: dict[str, Any], known: Callable[[str, str], bool], path: str = "spec") -> None:
    """A normalised spec's dataStore volumes must name an alias of the app's region (`known(region,
    alias)`: registered, or an OVHcloud default); a 400 naming the volume's field otherwise."""
    region = str(spec.get("region") or "GRA").upper()
    for index, entry in enumerate(spec.get("volumes") or []):
        source = (entry.get("volumeSource") or {}).get("dataStore")
        if source and not known(region, str(source["alias"])):
            raise invalid(
                f"{path}.volumes[{index}].volumeSource.dataStore.alias",
                f"data store alias {source['alias']!r} does not exist in region {region}: register it "
                f"(POST /cloud/project/{{serviceName}}/ai/data/region/{region}/alias) or use S3{region}",
            )


def app_spec(value: Any, path: str = "spec") -> dict[str, Any]:
    """Validate an `AppSpecInput` and return the normalised spec (without platform labels)."""
    raw = obj(value, path)
    for key in raw:
        if key not in SPEC_FIELDS:
            raise invalid(f"{path}.{key}", "unknown field")
    image = string(raw.get("image"), f"{path}.image", required=True)
    if raw.get("resources") is None:
        raise invalid(f"{path}.resources", "required ({flavor, gpu} or {flavor, cpu})")
    spec: dict[str, Any] = {
        "image": image,
        "name": string(raw.get("name", ""), f"{path}.name"),
        "region": string(raw.get("region") or "GRA", f"{path}.region"),
        "command": command(raw.get("command") or [], f"{path}.command"),
        "envVars": env_vars(raw.get("envVars") or [], f"{path}.envVars"),
        "defaultHttpPort": port(raw.get("defaultHttpPort", 8080), f"{path}.defaultHttpPort"),
        "labels": labels(raw.get("labels") or {}, f"{path}.labels"),
        "unsecureHttp": boolean(raw.get("unsecureHttp", False), f"{path}.unsecureHttp"),
        "resources": resources(raw["resources"], f"{path}.resources"),
        "volumes": volumes(raw.get("volumes") or [], f"{path}.volumes"),
        "scalingStrategy": scaling_strategy(raw.get("scalingStrategy") or {}, f"{path}.scalingStrategy"),
    }
    if raw.get("grpcPort") is not None:
        spec["grpcPort"] = port(raw["grpcPort"], f"{path}.grpcPort")
    if raw.get("partnerId") is not None:
        spec["partnerId"] = string(raw["partnerId"], f"{path}.partnerId")
    for key in ("probe", "livenessProbe"):
        if raw.get(key) is not None:
            spec[key] = probe(raw[key], f"{path}.{key}")
    if raw.get("deploymentStrategy") is not None:
        spec["deploymentStrategy"] = deployment_strategy(
            raw["deploymentStrategy"], f"{path}.deploymentStrategy"
        )
    return spec


def merge_update(spec: dict[str, Any], body: Any, app_id: str | None = None) -> dict[str, Any]:
    """Apply a flat `UpdateInput` (or the official client's `{"appUpdate": {...}, "id"?}`) to a
    stored spec; validate the result."""
    raw = obj(body, "body")
    if "appUpdate" in raw and set(raw) <= {"appUpdate", "id"}:
        if raw.get("id") not in (None, app_id):
            raise invalid("id", f"{raw['id']!r} is not the app of the path ({app_id})")
        raw = obj(raw["appUpdate"], "appUpdate")
    for key in raw:
        if key not in UPDATE_FIELDS:
            raise invalid(key, f"unknown update field (one of {', '.join(sorted(UPDATE_FIELDS))})")
    merged = dict(spec)
    for key in (
        "command",
        "envVars",
        "defaultHttpPort",
        "grpcPort",
        "probe",
        "livenessProbe",
        "deploymentStrategy",
    ):
        if key in raw:
            merged[key] = raw[key]
    if "url" in raw:
        merged["image"] = raw["url"]
    old = spec["resources"]
    res: dict[str, Any] = {"flavor": old["flavor"]}
    res.update({"gpu": old["gpu"]} if old.get("gpu") else {"cpu": old["cpu"]})
    if raw.get("flavor") is not None:
        res = {"flavor": raw["flavor"]}
    for key in ("gpu", "cpu"):
        if raw.get(key) is not None:
            res[key] = raw[key]
    merged["resources"] = res
    return merged


USER_VOLUME_SOURCES = ("dataStore", "privateSwift", "publicGit", "publicSwift", "standalone")


def user_volume(value: Any) -> dict[str, Any]:
    """A `CreateVolume` body (`{cache?, <one source>?}`; no source: a standalone disk) -> the fields
    of the stored `UserVolume`. A `{"spec": {...}}` wrapper is accepted too."""
    raw, prefix = flat_or_spec(value)
    for key in raw:
        if key not in (*USER_VOLUME_SOURCES, "cache"):
            raise invalid(f"{prefix}{key}", f"unknown field (cache, {', '.join(USER_VOLUME_SOURCES)})")
    kinds = [k for k in USER_VOLUME_SOURCES if raw.get(k) is not None]
    if len(kinds) > 1:
        raise invalid(prefix.rstrip(".") or "body", f"at most one of {', '.join(kinds)} can be set")
    kind = kinds[0] if kinds else "standalone"
    result: dict[str, Any] = {}
    if raw.get("cache") is not None:
        result["cache"] = boolean(raw["cache"], f"{prefix}cache")
    where = f"{prefix}{kind}"
    if kind == "privateSwift":
        body = obj(raw[kind], where)
        source: dict[str, Any] = {
            "container": string(body.get("container"), f"{where}.container", required=True),
            "region": string(body.get("region"), f"{where}.region", required=True),
        }
        if body.get("prefix") is not None:
            source["prefix"] = string(body["prefix"], f"{where}.prefix")
    else:
        source = source_fields(kind, raw.get(kind) or {}, where)
    result[kind] = source
    return result


def flag(value: str | None, path: str) -> bool:
    """A boolean query parameter (`?force=true`); absent is false."""
    if value is None:
        return False
    lowered = value.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no", ""):
        return False
    raise invalid(path, f"must be true or false, got {value!r}")


def label_update(value: Any) -> tuple[str, str | None]:
    """A `LabelUpdate` body `{name, value?}`: no value (or null) deletes the label."""
    body = obj(value, "body")
    name = string(body.get("name"), "name", required=True)
    if name.startswith(PLATFORM_PREFIX):
        raise invalid("name", f"labels under {PLATFORM_PREFIX} belong to the platform")
    label = body.get("value")
    labels({name: "" if label is None else label}, "labels")  # the name (and value) syntax
    return name, label
