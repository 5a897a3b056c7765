"""A stack's settings: the pydantic model of its config and every rule, checked before any API call.

Pure: no Pulumi, no HTTP. `load_settings(raw, stack=..., ...)` takes the stack's config of the
project's namespace (key -> value as the Pulumi CLI hands it over: strings, JSON for arrays),
applies the environment's defaults, resolves the model, runs the GPU planner and returns a
`Settings`, or raises one `SettingsError` that lists EVERY problem, each naming its config key
(`vllm-ai-deploy:maxModelLen`) and the command that fixes it (`pulumi config set ...`).

Pulumi.yaml declares the same keys (`declared_config()` renders the declarations and a test keeps
the two equal). Keys whose default depends on the environment are declared with an "automatic"
default (`""` or `0`): the CLI injects declared defaults, so an unset key must look like one.
"""

from __future__ import annotations

import difflib
import json
import re
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError

from components import catalog, sizing, vllm

PROJECT = "vllm-ai-deploy"
DEPLOYMENT_LABEL = f"{PROJECT}/deployment"
ENVIRONMENTS = ("dev", "staging", "prod")
Environment = Literal["dev", "staging", "prod"]

COST_NOTE = (
    "estimate from indicative per-hour list prices while the app is SCALING or RUNNING; "
    "the OVHcloud public catalog is the source of truth and a stack can override prices"
)


@dataclass(frozen=True)
class EnvironmentDefaults:
    """What an environment gives a stack that does not say otherwise."""

    replicas: int
    readiness_timeout_seconds: int
    keep_failed_apps: bool
    vllm_image: str
    floating_image_allowed: bool  # `latest` or no tag
    unsecure_http_allowed: bool


# A pinned vLLM release for the environments that refuse floating tags.
PINNED_VLLM_IMAGE = "vllm/vllm-openai:v0.10.1.1"

ENVIRONMENT_DEFAULTS: Mapping[str, EnvironmentDefaults] = {
    # dev: the seed's recipe (floating `latest`), a failed app is kept to read its logs.
    "dev": EnvironmentDefaults(1, 1800, True, "vllm/vllm-openai:latest", True, True),
    # staging: prod's image rules in spirit, one replica to keep GPU cost down.
    "staging": EnvironmentDefaults(1, 2700, False, PINNED_VLLM_IMAGE, True, True),
    # prod: two replicas so a node loss or a rolling restart keeps serving (it doubles the GPU
    # bill and needs 2 x GPUs of quota: the quota rule below says so at preview); pinned images.
    "prod": EnvironmentDefaults(2, 3600, False, PINNED_VLLM_IMAGE, False, False),
}

FLOATING_TAGS = frozenset({"latest", "nightly", "main", "master", "dev", "edge"})
RESERVED_MOUNTS = (
    "/proc", "/sys", "/dev", "/etc", "/usr", "/bin", "/sbin", "/lib", "/lib64", "/boot", "/run",
)
# vLLM flags the deployment sets itself: giving them again would contradict the plan.
MANAGED_VLLM_FLAGS = frozenset(
    {
        "--model",
        "--host",
        "--port",
        "--tensor-parallel-size",
        "-tp",
        "--max-model-len",
        "--served-model-name",
        "--gpu-memory-utilization",
        "--api-key",
        "--dtype",
        "--kv-cache-dtype",
    }
)
DTYPES = ("auto", "bfloat16", "bf16", "float16", "fp16", "half", "fp8")
KV_CACHE_DTYPES = ("auto", "fp8", "fp8_e4m3", "fp8_e5m2")

_LABEL_NAME = re.compile(r"^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$")
_LABEL_PREFIX = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
_LABEL_VALUE = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$")
_APP_NAME = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
_SERVED_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/:-]{0,127}$")
_ALIAS = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
_CONTAINER = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,254}$")
_IMAGE_NAME = re.compile(
    r"^(?:[A-Za-z0-9.-]+(?::[0-9]+)?/)?[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*$"
)
_IMAGE_TAG = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$")
_DIGEST = re.compile(r"^sha256:[a-f0-9]{64}$")


def _key(example: str, description: str, *, secret: bool = False) -> Any:
    """Field metadata: the config key's example value (for fix commands) and Pulumi.yaml text."""
    return {"example": example, "description": description, "secret": secret}


class StackConfig(BaseModel):
    """The stack's config of the project's namespace, one field per key, typed as Pulumi.yaml declares."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    model: str = Field(
        "",
        json_schema_extra=_key(
            "mistral-small-24b",
            "Model to serve: a catalog key (mistral-small-24b, llama-3.1-8b, ...) or a Hugging Face id.",
        ),
    )
    modelSpec: str = Field(
        "",
        json_schema_extra=_key(
            '\'{"hfId": "org/name", "hiddenSize": 4096, ...}\'',
            "Full description of a model outside the catalog, as JSON (the catalog's fields).",
        ),
    )
    servedModelName: str = Field(
        "",
        json_schema_extra=_key(
            "mistral-small", "Model name clients send in requests; empty: the Hugging Face id."
        ),
    )
    appName: str = Field(
        "", json_schema_extra=_key("vllm-mistral-small-prod", "AI Deploy app name; empty: vllm-<stack>.")
    )
    environment: str = Field(
        "",
        json_schema_extra=_key(
            "prod", "dev, staging or prod (sets the defaults); empty: the stack name's suffix."
        ),
    )
    gpuFlavor: str = Field(
        "",
        json_schema_extra=_key(
            "l40s-1-gpu",
            "GPU flavor (l4-1-gpu, l40s-1-gpu, a100-1-gpu, h100-1-gpu, ai1-1-gpu); empty: planner.",
        ),
    )
    gpuCount: int = Field(
        0, json_schema_extra=_key("2", "GPUs per replica (also the tensor-parallel size); 0: planner.")
    )
    maxModelLen: int = Field(
        0, json_schema_extra=_key("16384", "Context length in tokens; 0: the model's own maximum.")
    )
    dtype: str = Field(
        "auto", json_schema_extra=_key("bfloat16", "Weights dtype: auto, bfloat16, float16 (half), fp8.")
    )
    kvCacheDtype: str = Field("auto", json_schema_extra=_key("fp8", "KV-cache dtype: auto or fp8."))
    gpuMemoryUtilization: str = Field(
        "0.9", json_schema_extra=_key("0.9", "Share of GPU memory vLLM may use, 0.5 to 0.98.")
    )
    toolCalling: bool = Field(
        False, json_schema_extra=_key("true", "Enable tool calling with the model's parser.")
    )
    vllmArgs: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key(
            "'[\"--enable-prefix-caching\"]'", "Extra vLLM arguments (not the ones the plan sets)."
        ),
    )
    vllmImage: str = Field(
        "",
        json_schema_extra=_key(
            PINNED_VLLM_IMAGE, "vLLM image; prod needs a pinned tag or digest; empty: the environment's."
        ),
    )
    replicas: int = Field(
        0,
        json_schema_extra=_key("1", "Fixed replicas 1..10; 0: the environment's (dev 1, staging 1, prod 2)."),
    )
    minReplicas: int = Field(
        1, json_schema_extra=_key("0", "Autoscaling minimum (0: scale to zero); used when maxReplicas > 0.")
    )
    maxReplicas: int = Field(
        0, json_schema_extra=_key("3", "Autoscaling maximum 1..10; 0: fixed replicas.")
    )
    scalingMetric: str = Field("CPU", json_schema_extra=_key("CPU", "Autoscaling metric: CPU or RAM."))
    scalingTarget: int = Field(
        75, json_schema_extra=_key("75", "Autoscaling average usage target in percent, 1..100.")
    )
    cooldownSeconds: int = Field(
        300, json_schema_extra=_key("600", "Autoscaling cooldown before scaling down (to zero), 0..3600.")
    )
    cacheVolume: str = Field(
        "standalone",
        json_schema_extra=_key(
            "hf-cache@GRA",
            "Hugging Face cache volume: standalone, or an Object Storage container@ALIAS[/prefix].",
        ),
    )
    cachePath: str = Field("/hub", json_schema_extra=_key("/hub", "Mount path of the cache (HF_HOME)."))
    workspacePath: str = Field(
        "/workspace", json_schema_extra=_key("/workspace", "Standalone scratch volume; empty: none.")
    )
    extraVolumes: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key(
            "'[\"data@GRA/prefix:/data:ro\"]'", "More volumes, ovhai syntax SOURCE:/path[:ro|rw|rwd][:cache]."
        ),
    )
    tokenRole: str = Field(
        "read", json_schema_extra=_key("read", "Role of the consumers' token: read or operator.")
    )
    tokenRotation: str = Field(
        "", json_schema_extra=_key("2025-06-01", "Change this value to renew the tokens in place.")
    )
    operatorToken: bool = Field(
        False,
        json_schema_extra=_key("true", "Also create an operator token for automation (operatorToken)."),
    )
    unsecureHttp: bool = Field(
        False, json_schema_extra=_key("false", "Serve without token (refused in prod).")
    )
    readinessTimeoutSeconds: int = Field(
        0,
        json_schema_extra=_key(
            "3600", "Deadline for the app to serve, 60..14400 s; 0: the environment's (1800/2700/3600)."
        ),
    )
    keepFailedApps: str = Field(
        "",
        json_schema_extra=_key("false", "Keep a failed app for its logs: true/false; empty: true in dev."),
    )
    labels: list[str] = Field(
        default_factory=list, json_schema_extra=_key("'[\"team=ml\"]'", "Extra app labels, key=value.")
    )
    hfToken: str = Field(
        "",
        json_schema_extra=_key(
            "hf_...",
            "Hugging Face token for gated models; set with --secret (or the HF_TOKEN environment variable).",
            secret=True,
        ),
    )
    gpuQuota: int = Field(4, json_schema_extra=_key("8", "The project's GPU quota (default 4)."))
    prices: list[str] = Field(
        default_factory=list,
        json_schema_extra=_key("'[\"l40s-1-gpu=1.40\"]'", "Hourly price overrides, flavor=EUR per GPU-hour."),
    )


LIST_KEYS = frozenset(name for name, f in StackConfig.model_fields.items() if f.annotation == list[str])


# ---------------------------------------------------------------------------------------------
# problems


class ConfigProblem(BaseModel):
    """One broken rule: the key (short, without namespace), what is wrong, the command that fixes it."""

    model_config = ConfigDict(frozen=True)

    key: str
    message: str
    fix: str

    def render(self) -> str:
        return f"{self.key}: {self.message}\n    fix: {self.fix}"


class SettingsError(ValueError):
    """Every problem of a stack's config at once."""

    def __init__(self, stack: str, problems: Sequence[ConfigProblem]) -> None:
        self.stack = stack
        self.problems = tuple(problems)
        lines = [f"stack '{stack}': {len(self.problems)} configuration problem(s):"]
        lines += [f"  - {p.render()}" for p in self.problems]
        super().__init__("\n".join(lines))

    @property
    def keys(self) -> list[str]:
        return [p.key for p in self.problems]


def full_key(key: str, namespace: str = PROJECT) -> str:
    return key if ":" in key else f"{namespace}:{key}"


def set_command(key: str, value: str, *, namespace: str = PROJECT, secret: bool = False) -> str:
    flag = "--secret " if secret else ""
    return f"pulumi config set {flag}{full_key(key, namespace)} {value}"


def rm_command(key: str, *, namespace: str = PROJECT) -> str:
    return f"pulumi config rm {full_key(key, namespace)}"


def example(key: str) -> str:
    extra = StackConfig.model_fields[key].json_schema_extra
    assert isinstance(extra, dict)
    return str(extra["example"])


class _Problems:
    """Collects problems; keys are namespaced when rendered."""

    def __init__(self, namespace: str) -> None:
        self.namespace = namespace
        self.items: list[ConfigProblem] = []
        self.keys: set[str] = set()

    def add(self, key: str, message: str, fix: str | None = None, *, value: str | None = None) -> None:
        if fix is None:
            secret = key == "hfToken" or key.endswith(":token")
            fix = set_command(key, value if value is not None else example(key), namespace=self.namespace,
                              secret=secret)
        self.items.append(ConfigProblem(key=full_key(key, self.namespace), message=message, fix=fix))
        self.keys.add(key)

    def set_cmd(self, key: str, value: str, *, secret: bool = False) -> str:
        return set_command(key, value, namespace=self.namespace, secret=secret)

    def rm_cmd(self, key: str) -> str:
        return rm_command(key, namespace=self.namespace)


# ---------------------------------------------------------------------------------------------
# resolved settings


@dataclass(frozen=True)
class VolumeSettings:
    """One app volume; `container`/`alias` set for Object Storage, else a standalone disk."""

    mount_path: str
    permission: Literal["RO", "RW", "RWD"] = "RW"
    cache: bool = False
    container: str | None = None
    alias: str | None = None
    prefix: str | None = None

    def to_wire(self) -> dict[str, Any]:
        if self.container is not None:
            data_store: dict[str, Any] = {"alias": self.alias, "container": self.container}
            if self.prefix:
                data_store["prefix"] = self.prefix
            source: dict[str, Any] = {"dataStore": data_store}
        else:
            source = {"standalone": {}}
        return {
            "mountPath": self.mount_path,
            "permission": self.permission,
            "cache": self.cache,
            "volumeSource": source,
        }


@dataclass(frozen=True)
class ScalingSettings:
    """Fixed replicas, or autoscaling between min and max (min 0: scale to zero)."""

    replicas: int | None = None
    min_replicas: int | None = None
    max_replicas: int | None = None
    metric: str = "CPU"
    target: int = 75
    cooldown_seconds: int = 300

    @property
    def automatic(self) -> bool:
        return self.max_replicas is not None

    @property
    def billed_replicas(self) -> tuple[int, int]:
        """(least, most) replicas running at once."""
        if self.automatic:
            assert self.min_replicas is not None and self.max_replicas is not None
            return self.min_replicas, self.max_replicas
        assert self.replicas is not None
        return self.replicas, self.replicas

    def to_wire(self) -> dict[str, Any]:
        if not self.automatic:
            return {"fixed": {"replicas": self.replicas}}
        return {
            "automatic": {
                "replicasMin": self.min_replicas,
                "replicasMax": self.max_replicas,
                "resourceType": self.metric,
                "averageUsageTarget": self.target,
                "cooldownPeriodSeconds": self.cooldown_seconds,
            }
        }


class Settings(BaseModel):
    """A stack's settings, every rule checked and every default applied."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True)

    project: str
    stack: str
    environment: Environment
    model: catalog.ModelSpec
    served_model_name: str
    app_name: str
    plan: sizing.Plan
    plans: tuple[sizing.Plan, ...]  # what the planner weighed, for the reviewer's table
    image: str
    scaling: ScalingSettings
    volumes: tuple[VolumeSettings, ...]
    cache_path: str
    gpu_memory_utilization: float
    tool_calling: bool
    vllm_args: tuple[str, ...]
    token_role: Literal["read", "operator"]
    operator_token: bool
    token_rotation: str
    unsecure_http: bool
    readiness_timeout_seconds: int
    keep_failed_apps: bool
    labels: dict[str, str]
    gpu_quota: int
    hf_token: SecretStr | None = Field(default=None, repr=False)
    warnings: tuple[str, ...] = ()

    @property
    def deployment_label(self) -> tuple[str, str]:
        return DEPLOYMENT_LABEL, deployment_label_value(self.project, self.stack)

    @property
    def label_selector(self) -> str:
        key, value = self.deployment_label
        return f"{key}={value}"

    def estimated_hourly_cost(self) -> dict[str, Any]:
        """Per replica and for the replicas billed (min..max when autoscaling); an estimate."""
        per_replica = round(float(self.plan.hourly_cost), 4)
        low, high = self.scaling.billed_replicas
        cost: dict[str, Any] = {
            "amount": round(per_replica * low, 4),
            "perReplica": per_replica,
            "replicas": low,
            "currency": self.plan.currency,
            "note": COST_NOTE,
        }
        if high != low:
            cost["maxAmount"] = round(per_replica * high, 4)
            cost["maxReplicas"] = high
        return cost


def deployment_label_value(project: str, stack: str) -> str:
    """`<project>-<stack>` as a valid label value (63 chars, [A-Za-z0-9._-])."""
    value = re.sub(r"[^A-Za-z0-9._-]+", "-", f"{project}-{stack}").strip("-._")
    if len(value) > 63:
        import hashlib

        digest = hashlib.sha256(value.encode()).hexdigest()[:8]
        value = value[:54].rstrip("-._") + "-" + digest
    return value


# ---------------------------------------------------------------------------------------------
# loading


def declared_config() -> dict[str, dict[str, Any]]:
    """The `config:` block of Pulumi.yaml, derived from `StackConfig` (a test keeps them equal)."""
    out: dict[str, dict[str, Any]] = {}
    for name, f in StackConfig.model_fields.items():
        extra = f.json_schema_extra
        assert isinstance(extra, dict)
        decl: dict[str, Any]
        if f.annotation is int:
            decl = {"type": "integer"}
        elif f.annotation is bool:
            decl = {"type": "boolean"}
        elif f.annotation == list[str]:
            decl = {"type": "array", "items": {"type": "string"}}
        else:
            decl = {"type": "string"}
        decl["description"] = extra["description"]
        if name != "model":  # the one required key: the CLI refuses a stack without it
            decl["default"] = f.get_default(call_default_factory=True)
        out[name] = decl
    return out


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


def _parse(raw: Mapping[str, Any], problems: _Problems) -> StackConfig:
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
) -> Settings:
    """Parse and check a stack's config. `raw`: key (no namespace) -> value; `secret_keys`: the keys
    set with `--secret`; `environ`: where HF_TOKEN may come from; `provider_config`: `ovhai:*`
    keys (full names) to check that the API token is not stored in plain text."""
    problems = _Problems(project)
    cfg = _parse(raw, problems)
    resolved = _Resolver(cfg, problems, stack=stack, project=project, secret_keys=set(secret_keys),
                         environ=environ or {}, provider_config=provider_config or {}).resolve()
    if problems.items or resolved is None:
        raise SettingsError(stack, problems.items)
    return resolved


def parse_structured(text: str) -> Any:
    """JSON (or YAML, its superset) text of a structured value."""
    return yaml.safe_load(text)


# ---------------------------------------------------------------------------------------------
# rules


class _Resolver:
    def __init__(
        self,
        cfg: StackConfig,
        problems: _Problems,
        *,
        stack: str,
        project: str,
        secret_keys: set[str],
        environ: Mapping[str, str],
        provider_config: Mapping[str, Any],
    ) -> None:
        self.cfg = cfg
        self.p = problems
        self.stack = stack
        self.project = project
        self.secret_keys = secret_keys
        self.environ = environ
        self.provider_config = provider_config
        self.warnings: list[str] = []

    def resolve(self) -> Settings | None:
        cfg, p = self.cfg, self.p
        env = self._environment()
        defaults = ENVIRONMENT_DEFAULTS[env or "dev"]
        model = self._model()
        served = self._served_name(model)
        app_name = self._app_name()
        image = self._image(env, defaults)
        scaling = self._scaling(defaults)
        volumes = self._volumes()
        gmu = self._gpu_memory_utilization()
        labels = self._labels()
        role = self._token_role(env)
        readiness = self._readiness(defaults, model)
        keep_failed = self._keep_failed(defaults)
        self._unsecure(env, defaults)
        self._provider_credentials(env)
        vllm_args = self._vllm_args()
        hf_token = self._hf_token(model)
        if cfg.toolCalling and model is not None and not model.tool_call_parser:
            p.add("toolCalling", f"model {model.hf_id} has no known tool-call parser",
                  p.set_cmd("toolCalling", "false"))
        if cfg.gpuQuota < 1:
            p.add("gpuQuota", f"must be at least 1 (got {cfg.gpuQuota})", value="4")
        prices = self._prices()
        chosen: tuple[sizing.Plan, list[sizing.Plan]] | None = None
        if model is not None and gmu is not None and prices is not None and self._planner_inputs_ok():
            chosen = self._plan(model, gmu, prices)
        if chosen is not None and scaling is not None:
            self._quota(chosen[0], scaling)
        if p.items or env is None or model is None or chosen is None or scaling is None:
            return None
        assert served is not None and app_name is not None and image is not None and volumes is not None
        assert gmu is not None and labels is not None and role is not None and readiness is not None
        return Settings(
            project=self.project,
            stack=self.stack,
            environment=env,
            model=model,
            served_model_name=served,
            app_name=app_name,
            plan=chosen[0],
            plans=tuple(chosen[1]),
            image=image,
            scaling=scaling,
            volumes=tuple(volumes),
            cache_path=cfg.cachePath.rstrip("/") or "/",
            gpu_memory_utilization=gmu,
            tool_calling=cfg.toolCalling,
            vllm_args=tuple(vllm_args),
            token_role=role,
            operator_token=cfg.operatorToken,
            token_rotation=cfg.tokenRotation.strip(),
            unsecure_http=cfg.unsecureHttp,
            readiness_timeout_seconds=readiness,
            keep_failed_apps=keep_failed,
            labels=labels,
            gpu_quota=cfg.gpuQuota,
            hf_token=SecretStr(hf_token) if hf_token else None,
            warnings=tuple(self.warnings),
        )

    # --- identity -------------------------------------------------------------------------

    def _environment(self) -> Environment | None:
        value = self.cfg.environment.strip()
        if value:
            if value not in ENVIRONMENTS:
                self.p.add("environment", f"must be one of dev, staging, prod (got {value!r})", value="dev")
                return None
            return value  # type: ignore[return-value]
        for env in ENVIRONMENTS:
            if self.stack == env or self.stack.endswith(f"-{env}"):
                return env  # type: ignore[return-value]
        self.p.add(
            "environment",
            f"not set and the stack name '{self.stack}' does not end in -dev, -staging or -prod",
            value="dev",
        )
        return None

    def _model(self) -> catalog.ModelSpec | None:
        cfg, p = self.cfg, self.p
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

    def _served_name(self, model: catalog.ModelSpec | None) -> str | None:
        name = self.cfg.servedModelName.strip()
        if not name:
            return model.hf_id if model is not None else None
        if not _SERVED_NAME.match(name):
            self.p.add("servedModelName", f"'{name}' must be 1-128 characters of letters, digits and ._/:-")
            return None
        return name

    def _app_name(self) -> str | None:
        name = self.cfg.appName.strip()
        if not name:
            name = re.sub(r"[^a-z0-9-]+", "-", f"vllm-{self.stack}".lower()).strip("-")[:63].rstrip("-")
            return name
        if not _APP_NAME.match(name):
            self.p.add("appName", f"'{name}' must be 1-63 lowercase letters, digits or '-', not at the ends")
            return None
        return name

    # --- image ------------------------------------------------------------------------------

    def _image(self, env: Environment | None, defaults: EnvironmentDefaults) -> str | None:
        image = self.cfg.vllmImage.strip() or defaults.vllm_image
        ref, _, digest = image.partition("@")
        name, tag = ref, ""
        last = ref.rsplit("/", 1)[-1]
        if ":" in last:
            name, tag = ref.rsplit(":", 1)
        bad_tag = bool(tag) and not _IMAGE_TAG.match(tag)
        if not _IMAGE_NAME.match(name) or bad_tag or (digest and not _DIGEST.match(digest)):
            self.p.add("vllmImage", f"'{image}' is not an image reference (name[:tag][@sha256:...])")
            return None
        floating = not digest and (not tag or tag in FLOATING_TAGS)
        if floating and env is not None and not ENVIRONMENT_DEFAULTS[env].floating_image_allowed:
            what = "has no tag" if not tag else f"uses the floating tag '{tag}'"
            self.p.add("vllmImage", f"'{image}' {what}: {env} needs a pinned tag or digest "
                       "so that a restart cannot change the engine", value=PINNED_VLLM_IMAGE)
            return None
        if floating and env == "staging":
            self.warnings.append(f"vllmImage '{image}' is not pinned: prod will refuse it")
        return image

    # --- scaling ----------------------------------------------------------------------------

    def _scaling(self, defaults: EnvironmentDefaults) -> ScalingSettings | None:
        cfg, p = self.cfg, self.p
        ok = True
        if cfg.maxReplicas == 0:
            if cfg.minReplicas != 1:
                p.add("minReplicas", "only applies with autoscaling: set maxReplicas too",
                      p.set_cmd("maxReplicas", "3"))
                return None
            replicas = cfg.replicas or defaults.replicas
            if not 1 <= replicas <= 10:
                p.add("replicas", f"must be 1..10 (got {replicas})", value="1")
                return None
            return ScalingSettings(replicas=replicas)
        if cfg.replicas:
            p.add("replicas", "fixed replicas and autoscaling (maxReplicas) exclude each other",
                  p.rm_cmd("replicas"))
            ok = False
        if not 1 <= cfg.maxReplicas <= 10:
            p.add("maxReplicas", f"must be 1..10 (got {cfg.maxReplicas})", value="3")
            ok = False
        if not 0 <= cfg.minReplicas <= 10:
            p.add("minReplicas", f"must be 0..10 (got {cfg.minReplicas})", value="1")
            ok = False
        elif cfg.minReplicas > cfg.maxReplicas >= 1:
            p.add("minReplicas", f"{cfg.minReplicas} is above maxReplicas {cfg.maxReplicas}",
                  value=str(cfg.maxReplicas))
            ok = False
        metric = cfg.scalingMetric.strip().upper()
        if metric not in ("CPU", "RAM"):
            p.add("scalingMetric", f"must be CPU or RAM (got {cfg.scalingMetric!r})", value="CPU")
            ok = False
        if not 1 <= cfg.scalingTarget <= 100:
            p.add("scalingTarget", f"must be 1..100 percent (got {cfg.scalingTarget})", value="75")
            ok = False
        if not 0 <= cfg.cooldownSeconds <= 3600:
            p.add("cooldownSeconds", f"must be 0..3600 seconds (got {cfg.cooldownSeconds})", value="300")
            ok = False
        if not ok:
            return None
        if cfg.minReplicas == 0:
            self.warnings.append("minReplicas 0: the app scales to zero; the first request after "
                                 "idle waits for the model to load again")
        return ScalingSettings(
            min_replicas=cfg.minReplicas,
            max_replicas=cfg.maxReplicas,
            metric=metric,
            target=cfg.scalingTarget,
            cooldown_seconds=cfg.cooldownSeconds,
        )

    def _quota(self, plan: sizing.Plan, scaling: ScalingSettings) -> None:
        most = scaling.billed_replicas[1]
        need = most * plan.gpus
        if need <= self.cfg.gpuQuota:
            return
        key = "maxReplicas" if scaling.automatic else "replicas"
        fit = max(1, self.cfg.gpuQuota // plan.gpus)
        self.p.add(
            key,
            f"{most} replica(s) x {plan.gpus} GPU(s) of {plan.flavor} = {need} GPUs, above the "
            f"project's GPU quota of {self.cfg.gpuQuota} (raise it with OVHcloud support, then "
            f"`{self.p.set_cmd('gpuQuota', str(need))}`)",
            value=str(fit),
        )

    # --- volumes ----------------------------------------------------------------------------

    def _mount_path(self, key: str, path: str) -> str | None:
        if not path.startswith("/"):
            self.p.add(key, f"mount path '{path}' must be absolute (start with /)")
            return None
        norm = "/" + "/".join(part for part in path.split("/") if part)
        if any(part in (".", "..") for part in path.split("/")) or " " in path:
            self.p.add(key, f"mount path '{path}' must not contain '.', '..' or spaces")
            return None
        if norm == "/" or any(norm == r or norm.startswith(r + "/") for r in RESERVED_MOUNTS):
            self.p.add(key, f"mount path '{path}' would hide a system directory of the container")
            return None
        return norm

    def _source(self, key: str, source: str) -> tuple[str | None, str | None, str | None] | None:
        """'standalone' -> (None, None, None); 'container@ALIAS[/prefix]' -> (container, alias, prefix)."""
        if source == "standalone":
            return None, None, None
        m = re.match(r"^([^@/]+)@([^/]+)(?:/(.+))?$", source)
        if not m or not _CONTAINER.match(m.group(1)) or not _ALIAS.match(m.group(2)):
            self.p.add(key, f"volume source '{source}' must be 'standalone' or 'container@ALIAS[/prefix]' "
                       "(an Object Storage container through a datastore alias such as GRA or S3GRA)")
            return None
        return m.group(1), m.group(2), m.group(3)

    def _volumes(self) -> list[VolumeSettings] | None:
        cfg = self.cfg
        volumes: list[tuple[str, VolumeSettings]] = []
        ok = True
        cache_path = self._mount_path("cachePath", cfg.cachePath.strip())
        source = self._source("cacheVolume", cfg.cacheVolume.strip())
        if cache_path is not None and source is not None:
            container, alias, prefix = source
            volumes.append(("cachePath", VolumeSettings(cache_path, "RW", False, container, alias, prefix)))
        else:
            ok = False
        if cfg.workspacePath.strip():
            ws = self._mount_path("workspacePath", cfg.workspacePath.strip())
            if ws is None:
                ok = False
            else:
                volumes.append(("workspacePath", VolumeSettings(ws, "RW")))
        for i, text in enumerate(cfg.extraVolumes):
            vol = self._extra_volume(i, text)
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
                    self.p.add(base, f"mount path {vol.mount_path} collides with {other_key} at {other_path}")
                    ok = False
            seen[vol.mount_path] = key
        return [v for _, v in volumes] if ok else None

    def _extra_volume(self, index: int, text: str) -> VolumeSettings | None:
        parts = text.strip().split(":")
        key = "extraVolumes"
        if len(parts) < 2 or len(parts) > 4:
            self.p.add(key, f"[{index}] '{text}' must be SOURCE:/path[:ro|rw|rwd][:cache]")
            return None
        source = self._source(key, parts[0])
        path = self._mount_path(key, parts[1])
        permission = "RW"
        cache = False
        for extra in parts[2:]:
            if extra.lower() in ("ro", "rw", "rwd"):
                permission = extra.upper()
            elif extra.lower() == "cache":
                cache = True
            else:
                self.p.add(key, f"[{index}] '{extra}' in '{text}' is neither ro, rw, rwd nor cache")
                return None
        if source is None or path is None:
            return None
        container, alias, prefix = source
        if cache and container is None:
            self.p.add(key, f"[{index}] 'cache' only applies to an Object Storage container")
            return None
        return VolumeSettings(path, permission, cache, container, alias, prefix)  # type: ignore[arg-type]

    # --- engine -----------------------------------------------------------------------------

    def _gpu_memory_utilization(self) -> float | None:
        text = self.cfg.gpuMemoryUtilization.strip()
        try:
            value = float(text)
        except ValueError:
            self.p.add("gpuMemoryUtilization", f"'{text}' is not a number")
            return None
        if not 0.5 <= value <= 0.98:
            self.p.add("gpuMemoryUtilization", f"must be between 0.5 and 0.98 (got {value})")
            return None
        return value

    def _vllm_args(self) -> list[str]:
        args = [a for a in self.cfg.vllmArgs]
        for arg in args:
            flag = arg.split("=", 1)[0]
            if flag in MANAGED_VLLM_FLAGS:
                self.p.add("vllmArgs", f"'{flag}' is set by the deployment from the plan; use its own "
                           "config key (gpuCount, maxModelLen, dtype, servedModelName, ...)",
                           self.p.set_cmd("vllmArgs", "'[]'"))
            elif not arg.strip():
                self.p.add("vllmArgs", "contains an empty argument", self.p.set_cmd("vllmArgs", "'[]'"))
        return args

    def _planner_inputs_ok(self) -> bool:
        cfg, p = self.cfg, self.p
        ok = True
        if cfg.dtype not in DTYPES:
            p.add("dtype", f"must be one of {', '.join(DTYPES)} (got {cfg.dtype!r})", value="auto")
            ok = False
        if cfg.kvCacheDtype not in KV_CACHE_DTYPES:
            p.add("kvCacheDtype", f"must be one of {', '.join(KV_CACHE_DTYPES)} (got {cfg.kvCacheDtype!r})",
                  value="auto")
            ok = False
        if cfg.gpuFlavor and cfg.gpuFlavor not in sizing.FLAVORS:
            known = ", ".join(sorted(sizing.FLAVORS))
            p.add("gpuFlavor", f"'{cfg.gpuFlavor}' is not a GPU flavor ({known})", value="l40s-1-gpu")
            ok = False
        if cfg.gpuCount < 0 or cfg.gpuCount > 4:
            p.add("gpuCount", f"must be 1..4 GPUs per app, or 0 for the planner (got {cfg.gpuCount})",
                  value="2")
            ok = False
        elif cfg.gpuFlavor in sizing.FLAVORS and cfg.gpuCount > sizing.FLAVORS[cfg.gpuFlavor].max_gpus:
            limit = sizing.FLAVORS[cfg.gpuFlavor].max_gpus
            p.add("gpuCount", f"{cfg.gpuFlavor} allows at most {limit} GPUs per app (got {cfg.gpuCount})",
                  value=str(limit))
            ok = False
        return ok

    def _plan(
        self, model: catalog.ModelSpec, gmu: float, prices: dict[str, float]
    ) -> tuple[sizing.Plan, list[sizing.Plan]] | None:
        cfg, p = self.cfg, self.p
        if cfg.maxModelLen < 0 or (cfg.maxModelLen and cfg.maxModelLen < 256):
            p.add("maxModelLen", "must be at least 256 tokens, or 0 for the model's maximum "
                  f"(got {cfg.maxModelLen})", value="8192")
            return None
        if cfg.maxModelLen > model.max_position_embeddings:
            p.add("maxModelLen", f"{cfg.maxModelLen} is above {model.hf_id}'s maximum context of "
                  f"{model.max_position_embeddings} tokens", value=str(model.max_position_embeddings))
            return None
        kwargs = self._planner_kwargs(gmu, prices)
        try:
            plans = sizing.plan(model, **kwargs)
            best = sizing.best_plan(model, **kwargs)
        except sizing.NoFittingPlan as exc:
            self._explain_no_fit(model, exc, kwargs)
            return None
        except ValueError as exc:  # an input the planner refuses (checked above: a safety net)
            p.add("gpuFlavor" if cfg.gpuFlavor else "model", str(exc).splitlines()[0])
            return None
        return best, plans

    def _planner_kwargs(self, gmu: float, prices: dict[str, float]) -> dict[str, Any]:
        cfg = self.cfg
        kwargs: dict[str, Any] = {
            "max_model_len": cfg.maxModelLen or None,
            "dtype": None if cfg.dtype == "auto" else cfg.dtype,
            "kv_cache_dtype": None if cfg.kvCacheDtype == "auto" else cfg.kvCacheDtype,
            "gpu_memory_utilization": gmu,
        }
        if cfg.gpuFlavor:
            kwargs["flavors"] = [cfg.gpuFlavor]
        if cfg.gpuCount:
            kwargs["gpus"] = cfg.gpuCount
        if prices:
            kwargs["prices"] = prices
        return kwargs

    def _explain_no_fit(
        self, model: catalog.ModelSpec, exc: sizing.NoFittingPlan, kwargs: dict[str, Any]
    ) -> None:
        """Name the key to change and the value that makes a plan fit (the planner says which)."""
        cfg, p = self.cfg, self.p
        message = str(exc)
        # An explicit GPU count that breaks tensor parallelism: another count, same flavor.
        if cfg.gpuCount and any("tensor parallel" in r for pl in exc.plans for r in pl.reasons):
            for count in range(1, sizing.MAX_GPUS_PER_APP + 1):
                if count != cfg.gpuCount and any(
                    pl.fits for pl in sizing.plan(model, **{**kwargs, "gpus": count})
                ):
                    p.add("gpuCount", message, value=str(count))
                    return
        # bfloat16 asked on a GPU without it (V100S): half precision runs there.
        reasons = [r for pl in exc.plans for r in pl.reasons]
        if cfg.dtype in ("bfloat16", "bf16") and any("no bfloat16" in r for r in reasons):
            p.add("dtype", message, value="half")
            return
        length = kwargs["max_model_len"] or model.max_position_embeddings
        useful = [fit for _text, fit in exc.suggestions if fit.max_model_len >= min(8192, length)]
        # a context cut to a few thousand tokens is a poor fix when other GPUs or FP8 would do
        for fit in useful or [fit for _text, fit in exc.suggestions]:
            if fit.max_model_len < length:
                p.add("maxModelLen", message, value=str(fit.max_model_len))
            elif fit.kv_cache_dtype == "fp8" and cfg.kvCacheDtype == "auto":
                p.add("kvCacheDtype", message, value="fp8")
            elif fit.quantization == "fp8" and cfg.dtype != "fp8":
                p.add("dtype", message, value="fp8")
            elif cfg.gpuFlavor and fit.flavor != cfg.gpuFlavor:
                also = p.set_cmd("gpuCount", str(fit.gpus))
                p.add("gpuFlavor", f"{message} (and `{also}`)", value=fit.flavor)
            else:
                p.add("gpuCount", message, value=str(fit.gpus))
            return
        p.add("model", message, p.set_cmd("model", "llama-3.1-8b"))

    def _prices(self) -> dict[str, float] | None:
        out: dict[str, float] = {}
        for i, item in enumerate(self.cfg.prices):
            flavor, sep, amount = item.partition("=")
            try:
                value = float(amount)
            except ValueError:
                value = -1.0
            if not sep or flavor.strip() not in sizing.FLAVORS or value <= 0:
                self.p.add("prices", f"[{i}] '{item}' must be flavor=EUR per GPU-hour, a known GPU flavor")
                return None
            out[flavor.strip()] = value
        return out

    # --- access -----------------------------------------------------------------------------

    def _labels(self) -> dict[str, str] | None:
        labels: dict[str, str] = {}
        ok = True
        for i, item in enumerate(self.cfg.labels):
            key, sep, value = item.partition("=")
            prefix, _, name = key.rpartition("/")
            problem = None
            if not sep:
                problem = "must be key=value"
            elif not _LABEL_NAME.match(name) or (prefix and not _LABEL_PREFIX.match(prefix)):
                problem = f"key '{key}' is not a valid label key ([prefix/]name, 63 chars of [A-Za-z0-9._-])"
            elif not _LABEL_VALUE.match(value):
                problem = f"value '{value}' is not a valid label value (63 chars of [A-Za-z0-9._-])"
            elif prefix == "ovh" or key.startswith("ovh/"):
                problem = "labels under ovh/ belong to the platform"
            elif key == DEPLOYMENT_LABEL:
                problem = f"{DEPLOYMENT_LABEL} is the deployment's own label (the token is scoped by it)"
            elif key in labels:
                problem = f"key '{key}' is given twice"
            if problem:
                self.p.add("labels", f"[{i}] '{item}': {problem}", value=example("labels"))
                ok = False
            else:
                labels[key] = value
        return labels if ok else None

    def _token_role(self, env: Environment | None) -> Literal["read", "operator"] | None:
        role = self.cfg.tokenRole.strip()
        if role not in ("read", "operator"):
            self.p.add("tokenRole", f"must be read or operator (got {role!r})", value="read")
            return None
        if role == "operator" and env == "prod":
            self.warnings.append("tokenRole operator: consumers of this stack's token can manage the app")
        return role  # type: ignore[return-value]

    def _unsecure(self, env: Environment | None, defaults: EnvironmentDefaults) -> None:
        if self.cfg.unsecureHttp and env is not None and not defaults.unsecure_http_allowed:
            self.p.add("unsecureHttp", f"{env} refuses an endpoint open without a token", value="false")
        elif self.cfg.unsecureHttp:
            self.warnings.append("unsecureHttp: anyone who knows the URL can use the model")

    def _readiness(self, defaults: EnvironmentDefaults, model: catalog.ModelSpec | None) -> int | None:
        """The provider's deadline; never shorter than the platform's progress deadline for the
        model (download + load), or a healthy start-up would be reported as a failure."""
        deadline = vllm.progress_deadline_seconds(model) if model is not None else 0
        explicit = self.cfg.readinessTimeoutSeconds
        if explicit == 0:
            return max(defaults.readiness_timeout_seconds, deadline)
        if not 60 <= explicit <= 14400:
            self.p.add("readinessTimeoutSeconds", "must be 60..14400 seconds, or 0 for the environment's "
                       f"(got {explicit})", value=str(max(defaults.readiness_timeout_seconds, deadline)))
            return None
        if explicit < deadline:
            assert model is not None
            self.p.add("readinessTimeoutSeconds", f"{explicit} s is shorter than the {deadline} s that "
                       f"{model.hf_id} may need to download and load", value=str(deadline))
            return None
        return explicit

    def _keep_failed(self, defaults: EnvironmentDefaults) -> bool:
        text = self.cfg.keepFailedApps.strip().lower()
        if text == "":
            return defaults.keep_failed_apps
        if text not in ("true", "false"):
            self.p.add("keepFailedApps", f"must be true or false (got {self.cfg.keepFailedApps!r})",
                       value="true")
            return defaults.keep_failed_apps
        return text == "true"

    def _provider_credentials(self, env: Environment | None) -> None:
        token_key = "ovhai:token"
        if token_key in self.provider_config and token_key not in self.secret_keys:
            self.p.add(token_key, "the API token is stored in plain text in the stack file",
                       f"pulumi config set --secret {token_key} <token> (or export OVHAI_TOKEN)")
        endpoint = str(self.provider_config.get("ovhai:endpoint", "") or "")
        if env == "prod" and endpoint and not endpoint.startswith("https://"):
            self.p.add("ovhai:endpoint", f"prod talks to the API over https (got {endpoint})",
                       "pulumi config set ovhai:endpoint https://gra.ai.cloud.ovh.net")

    def _hf_token(self, model: catalog.ModelSpec | None) -> str | None:
        """The stack's secret `hfToken`, else (for a gated model only: an ambient token is not
        shipped into an app that does not need it) the HF_TOKEN environment variable."""
        value = self.cfg.hfToken.strip()
        if value and "hfToken" not in self.secret_keys:
            self.p.add("hfToken", "is stored in plain text: set it as a secret", value="hf_...")
            return None
        if not value and model is not None and model.gated:
            value = self.environ.get("HF_TOKEN", "").strip()
        if value and not value.startswith("hf_"):
            self.p.add("hfToken", "a Hugging Face token starts with 'hf_'", value="hf_...")
            return None
        if model is not None and model.gated and not value:
            self.p.add("hfToken", f"{model.hf_id} is gated on Hugging Face: the engine needs a token "
                       "of an account that accepted its licence (or export HF_TOKEN)", value="hf_...")
            return None
        return value or None
