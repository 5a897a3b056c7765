"""pydantic v2 models of the AI Deploy API objects (regional API, `cloud-ai-schema.json` names).

Wire names are the API's camelCase (alias generator), Python names snake_case; both are accepted
on input. `to_wire()` gives the JSON body to send. Response objects keep fields the server adds
that we do not model (`extra="allow"`), so a newer server never breaks parsing and a round trip
loses nothing. Validators reject, cheaply and with the field's location, what the server would
answer 400 to, so that a Pulumi `check` can report per-field errors before any API call.

Strict input: `AppSpec.from_input(data)` (or `model_validate(data, context={"input": True})`)
also rejects unknown keys (a typo in a stack file) and input-only mistakes such as giving both
`cpu` and `gpu`; plain `model_validate` is lenient, for what the server sends back.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Self

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic.alias_generators import to_camel

from components.platform import (
    ENV_NAME,
    LABEL_VALUE,
    MAX_REPLICAS,
    MAX_WINDOW_SECONDS,
    TERMINAL_STATES,
    label_key_ok,
)

__all__ = [
    "TERMINAL_STATES",
    "App",
    "AppSpec",
    "AppState",
    "AppStateHistory",
    "AppStatus",
    "AppUpdate",
    "AutomaticScaling",
    "CustomMetrics",
    "CustomMetricsAggregation",
    "CustomMetricsFormat",
    "DataStoreSource",
    "DeploymentStrategy",
    "EnvVar",
    "ErrorBody",
    "FixedScaling",
    "Flavor",
    "FlavorType",
    "GpuInformation",
    "ImageUpdate",
    "Info",
    "LabelUpdate",
    "LivenessProbe",
    "Me",
    "PrivateSwiftSource",
    "Probe",
    "PublicGitSource",
    "PublicSwiftSource",
    "Quotas",
    "Resources",
    "ResourcesPerUnit",
    "ScalingResourceType",
    "ScalingStrategy",
    "StandaloneSource",
    "Token",
    "TokenRole",
    "TokenSpec",
    "TokenStatus",
    "UserVolume",
    "UserVolumeSpec",
    "Volume",
    "VolumePermission",
    "VolumeSource",
    "VolumeStatus",
    "WireModel",
    "field_errors",
]

Port = Annotated[int, Field(ge=1, le=65535)]
Replicas = Annotated[int, Field(ge=1, le=MAX_REPLICAS)]
WindowSeconds = Annotated[int, Field(ge=0, le=MAX_WINDOW_SECONDS)]
NonNegative = Annotated[int, Field(ge=0)]
Positive = Annotated[int, Field(ge=1)]


class WireModel(BaseModel):
    """Base of every API object: camelCase on the wire, snake_case in Python, extra keys kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        populate_by_name=True,
        extra="allow",
        use_enum_values=False,
    )

    def to_wire(self) -> dict[str, Any]:
        """The JSON-ready body the API expects (camelCase, no nulls)."""
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")

    @classmethod
    def from_input(cls, data: Any) -> Self:
        """Validate user input strictly: unknown keys and input-only mistakes are errors."""
        return cls.model_validate(data, context={"input": True})

    @model_validator(mode="after")
    def _no_unknown_keys_on_input(self, info: ValidationInfo) -> Self:
        if _is_input(info) and self.model_extra:
            names = ", ".join(sorted(self.model_extra))
            raise ValueError(f"unknown field(s): {names}")
        return self


def _is_input(info: ValidationInfo) -> bool:
    return isinstance(info.context, Mapping) and bool(info.context.get("input"))


# ---------------------------------------------------------------------------------------------
# Enums


class AppState(StrEnum):
    """`cloud.project.ai.app.AppStateEnum`: the eleven states of an app."""

    QUEUED = "QUEUED"
    INITIALIZING = "INITIALIZING"
    SCALING = "SCALING"
    RUNNING = "RUNNING"
    STOPPING = "STOPPING"
    STOPPED = "STOPPED"
    DELETING = "DELETING"
    DELETED = "DELETED"
    FAILED = "FAILED"
    ERROR = "ERROR"
    STANDBY = "STANDBY"



class TokenRole(StrEnum):
    """`cloud.project.ai.TokenRoleEnum`; also accepts the CLI's names `read` and `operator`."""

    OPERATOR = "ai_training_operator"
    READ = "ai_training_read"
    QUANTUM_OPERATOR = "quantum_operator"
    QUANTUM_READER = "quantum_reader"

    @classmethod
    def _missing_(cls, value: object) -> TokenRole | None:
        if isinstance(value, str):
            return _CLI_ROLES.get(value.strip().lower())
        return None

    @property
    def cli_name(self) -> str:
        """The `ovhai` CLI's name for the role (`read`, `operator`), else the wire value."""
        return {TokenRole.READ: "read", TokenRole.OPERATOR: "operator"}.get(self, self.value)


_CLI_ROLES = {"read": TokenRole.READ, "operator": TokenRole.OPERATOR}


class VolumePermission(StrEnum):
    RO = "RO"
    RW = "RW"
    RWD = "RWD"

    @classmethod
    def _missing_(cls, value: object) -> VolumePermission | None:
        # The CLI spells them in lower case (`-v standalone:/hub:rw`).
        if isinstance(value, str) and value.upper() in cls.__members__:
            return cls[value.upper()]
        return None


class ScalingResourceType(StrEnum):
    CPU = "CPU"
    RAM = "RAM"


class CustomMetricsFormat(StrEnum):
    JSON = "JSON"
    PROMETHEUS = "PROMETHEUS"
    XML = "XML"
    YAML = "YAML"


class CustomMetricsAggregation(StrEnum):
    AVERAGE = "AVERAGE"
    MAX = "MAX"
    MIN = "MIN"
    SUM = "SUM"


class FlavorType(StrEnum):
    CPU = "cpu"
    GPU = "gpu"


# A state or flavor type the server invents later must not break parsing: try the enum, keep the str.
StateValue = Annotated[AppState | str, Field(union_mode="left_to_right")]

# ---------------------------------------------------------------------------------------------
# App spec parts


class Resources(WireModel):
    """`ResourcesInput` / `Resources`: give `flavor` and `gpu` (or `cpu`); the server fills the rest."""

    flavor: str | None = None
    gpu: NonNegative | None = None
    cpu: NonNegative | None = None
    flavor_count: NonNegative | None = None
    memory: NonNegative | None = None
    ephemeral_storage: NonNegative | None = None
    gpu_brand: str | None = None
    gpu_model: str | None = None
    gpu_memory: NonNegative | None = None
    private_network: NonNegative | None = None
    public_network: NonNegative | None = None

    @field_validator("flavor")
    @classmethod
    def _flavor_not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("flavor must not be empty")
        return value

    @model_validator(mode="after")
    def _cpu_or_gpu(self, info: ValidationInfo) -> Self:
        # The server fills both on output; on input one app asks for GPUs or for CPUs, never both.
        if _is_input(info) and self.gpu and self.cpu:
            raise ValueError("give gpu (GPU flavor) or cpu (CPU flavor), not both")
        return self


class FixedScaling(WireModel):
    replicas: Replicas


class CustomMetrics(WireModel):
    """Scale on a metric the app serves itself (e.g. vLLM's queue length)."""

    api_url: str
    format: CustomMetricsFormat
    value_location: str
    target_value: float
    aggregation_type: CustomMetricsAggregation | None = None


class AutomaticScaling(WireModel):
    replicas_min: Annotated[int, Field(ge=0, le=MAX_REPLICAS)]  # 0: scale to zero (STANDBY)
    replicas_max: Replicas
    resource_type: ScalingResourceType | None = None
    average_usage_target: Annotated[int, Field(ge=1, le=100)] | None = None
    scale_up_stabilization_window_seconds: WindowSeconds | None = None
    scale_down_stabilization_window_seconds: WindowSeconds | None = None
    cooldown_period_seconds: NonNegative | None = None
    custom_metrics: CustomMetrics | None = None

    @model_validator(mode="after")
    def _min_not_above_max(self) -> Self:
        if self.replicas_min > self.replicas_max:
            raise ValueError(
                f"replicasMin ({self.replicas_min}) must not exceed replicasMax ({self.replicas_max})"
            )
        return self


class ScalingStrategy(WireModel):
    """Exactly one of `fixed` or `automatic`."""

    fixed: FixedScaling | None = None
    automatic: AutomaticScaling | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        if (self.fixed is None) == (self.automatic is None):
            raise ValueError("give exactly one of fixed or automatic scaling")
        return self

    @classmethod
    def fixed_replicas(cls, replicas: int) -> ScalingStrategy:
        return cls(fixed=FixedScaling(replicas=replicas))


class Probe(WireModel):
    """`ProbeInput`: readiness (`probe`) and liveness (`livenessProbe`) share the shape."""

    path: str | None = None
    port: Port | None = None
    initial_delay_seconds: NonNegative | None = None
    period_seconds: Positive | None = None
    timeout_seconds: Positive | None = None
    success_threshold: Positive | None = None
    failure_threshold: Positive | None = None

    @field_validator("path")
    @classmethod
    def _absolute_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"probe path {value!r} must start with '/'")
        return value


LivenessProbe = Probe


class DeploymentStrategy(WireModel):
    """Rolling-update knobs; `maxSurge`/`maxUnavailable` are strings ("25%" or "1") on the wire."""

    max_surge: str | None = None
    max_unavailable: str | None = None
    progress_deadline_seconds: NonNegative | None = None
    termination_grace_period_seconds: NonNegative | None = None

    @field_validator("max_surge", "max_unavailable", mode="before")
    @classmethod
    def _int_as_string(cls, value: Any) -> Any:
        if isinstance(value, bool):
            return value
        if isinstance(value, int | float) and float(value).is_integer():
            return str(int(value))  # Pulumi sends numbers as floats
        return value

    @field_validator("max_surge", "max_unavailable")
    @classmethod
    def _count_or_percent(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"\d+%?", value):
            raise ValueError("must be a count (e.g. '1') or a percentage (e.g. '25%')")
        return value


class EnvVar(WireModel):
    name: str
    value: str | None = None

    @field_validator("name")
    @classmethod
    def _valid_name(cls, value: str) -> str:
        if not ENV_NAME.match(value):
            raise ValueError(
                f"invalid environment variable name {value!r}: letters, digits and '_', "
                "not starting with a digit"
            )
        return value

    def __repr__(self) -> str:  # values may be secrets (HF_TOKEN): keep them out of logs
        return f"EnvVar(name={self.name!r}, value=...)"


class DataStoreSource(WireModel):
    """An Object Storage container reached through a datastore alias (`GRA`, `S3GRA`, ...)."""

    alias: str
    container: str
    prefix: str | None = None
    archive: str | None = None
    internal: bool | None = None


class PublicGitSource(WireModel):
    url: str


class PublicSwiftSource(WireModel):
    url: str


class PrivateSwiftSource(WireModel):
    """The deprecated form of a container source on user volumes (`dataStore` replaces it)."""

    container: str
    region: str
    prefix: str | None = None
    archive: str | None = None
    internal: bool | None = None


class StandaloneSource(WireModel):
    """A platform disk with no data source (the seed's Hugging Face cache)."""

    name: str | None = None


class VolumeSource(WireModel):
    """Exactly one data source."""

    data_store: DataStoreSource | None = None
    public_git: PublicGitSource | None = None
    public_swift: PublicSwiftSource | None = None
    standalone: StandaloneSource | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> Self:
        given = [n for n in _SOURCE_KEYS if getattr(self, _SOURCE_KEYS[n]) is not None]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of dataStore, publicGit, publicSwift, standalone"
                + (f" (got {', '.join(given)})" if given else "")
            )
        return self

    @property
    def kind(self) -> str:
        """The wire name of the source kind (`standalone`, `dataStore`, ...)."""
        return next(n for n in _SOURCE_KEYS if getattr(self, _SOURCE_KEYS[n]) is not None)


_SOURCE_KEYS = {
    "dataStore": "data_store",
    "publicGit": "public_git",
    "publicSwift": "public_swift",
    "standalone": "standalone",
}


class Volume(WireModel):
    """A volume mounted in the app. The deprecated top-level source form is moved into `volumeSource`."""

    mount_path: str
    permission: VolumePermission
    cache: bool | None = None
    volume_source: VolumeSource | None = None
    id: str | None = None  # deprecated read-only copy of status.volumes[].id

    @model_validator(mode="before")
    @classmethod
    def _normalise_deprecated_source(cls, data: Any) -> Any:
        if not isinstance(data, Mapping):
            return data
        data = dict(data)
        top = {}
        for wire, py in _SOURCE_KEYS.items():
            for key in (wire, py):
                if key in data:
                    value = data.pop(key)
                    if value is not None:
                        top[wire] = value
        if top:
            source = data.get("volumeSource", data.get("volume_source"))
            if source is not None:
                raise ValueError(
                    f"give the source in volumeSource only (also found top-level {', '.join(top)})"
                )
            data["volumeSource"] = top
            data.pop("volume_source", None)
        return data

    @field_validator("mount_path")
    @classmethod
    def _absolute(cls, value: str) -> str:
        if not value.startswith("/"):
            raise ValueError(f"mount path {value!r} must start with '/'")
        return value


class AppSpec(WireModel):
    """`AppSpecInput` (what create sends) and `AppSpec` (what the server returns in `app.spec`)."""

    image: str
    name: str | None = None
    command: list[str] | None = None
    env_vars: list[EnvVar] | None = None
    default_http_port: Port | None = None
    grpc_port: Port | None = None
    labels: dict[str, str] | None = None
    unsecure_http: bool | None = None
    resources: Resources
    volumes: list[Volume] | None = None
    scaling_strategy: ScalingStrategy | None = None
    probe: Probe | None = None
    liveness_probe: Probe | None = None
    deployment_strategy: DeploymentStrategy | None = None
    region: str | None = None
    partner_id: str | None = None

    @field_validator("image")
    @classmethod
    def _image_not_blank(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("image must not be empty")
        return value

    @field_validator("labels", mode="before")
    @classmethod
    def _label_values_as_strings(cls, value: Any) -> Any:
        if isinstance(value, Mapping):
            return {k: v if isinstance(v, str) else str(v) for k, v in value.items() if v is not None}
        return value

    @field_validator("labels")
    @classmethod
    def _label_syntax(cls, value: dict[str, str] | None) -> dict[str, str] | None:
        for name, label in (value or {}).items():
            if not label_key_ok(name):
                raise ValueError(
                    f"invalid label name {name!r} ([prefix/]name of alphanumerics, '-', '_', '.')"
                )
            if not LABEL_VALUE.match(label):
                raise ValueError(
                    f"invalid value {label!r} for label {name!r} (up to 63 alphanumerics, '-_.')"
                )
        return value

    @field_validator("volumes")
    @classmethod
    def _unique_mount_paths(cls, value: list[Volume] | None) -> list[Volume] | None:
        seen: dict[str, int] = {}
        for index, volume in enumerate(value or ()):
            mount = volume.mount_path.rstrip("/") or "/"
            if mount in seen:
                first = seen[mount]
                raise ValueError(f"volumes[{index}]: {volume.mount_path!r} is mounted by volumes[{first}]")
            seen[mount] = index
        return value

    @field_validator("env_vars")
    @classmethod
    def _unique_env_names(cls, value: list[EnvVar] | None) -> list[EnvVar] | None:
        names = [env.name for env in value or ()]
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ValueError(f"duplicate environment variable(s): {', '.join(duplicates)}")
        return value


class AppUpdate(WireModel):
    """`UpdateInput`: the flat body of `PUT /v1/app/{id}` (omitted fields are left unchanged)."""

    url: str | None = None  # image
    command: list[str] | None = None  # [] resets to the image's default
    env_vars: list[EnvVar] | None = None
    default_http_port: Port | None = None
    grpc_port: Port | None = None
    probe: Probe | None = None
    liveness_probe: Probe | None = None
    deployment_strategy: DeploymentStrategy | None = None
    flavor: str | None = None
    gpu: NonNegative | None = None
    cpu: NonNegative | None = None


class ImageUpdate(WireModel):
    url: str


class LabelUpdate(WireModel):
    name: str
    value: str | None = None  # no value deletes the label


# ---------------------------------------------------------------------------------------------
# App and its status


class AppStateHistory(WireModel):
    date: datetime
    state: StateValue


class Info(WireModel):
    code: str | None = None
    message: str | None = None


class VolumeStatus(WireModel):
    id: str | None = None
    mount_path: str | None = None
    user_volume_id: str | None = None


class AppStatus(WireModel):
    state: StateValue | None = None
    available_replicas: int | None = None
    url: str | None = None
    info_url: str | None = None
    monitoring_url: str | None = None
    grpc_address: str | None = None
    internal_service_ip: str | None = None
    history: list[AppStateHistory] = Field(default_factory=list)
    info: Info | None = None
    last_transition_date: datetime | None = None
    volumes: list[VolumeStatus] | None = None
    data_sync: list[dict[str, Any]] | None = None  # not modelled: apps of this project sync nothing


class App(WireModel):
    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    user: str | None = None
    spec: AppSpec
    status: AppStatus = Field(default_factory=AppStatus)

    @property
    def state(self) -> str | None:
        """The state as a plain string (`"RUNNING"`), or None when the server gave none."""
        state = self.status.state
        return None if state is None else str(state)

    @property
    def url(self) -> str | None:
        return self.status.url

    @property
    def labels(self) -> dict[str, str]:
        return dict(self.spec.labels or {})


# ---------------------------------------------------------------------------------------------
# Tokens


class TokenSpec(WireModel):
    name: str
    role: TokenRole
    label_selector: str | None = None
    region: str | None = None

    @field_validator("label_selector")
    @classmethod
    def _selector_syntax(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return value
        for part in value.split(","):
            key, sep, _ = part.partition("=")
            if not sep or not key.strip():
                raise ValueError(f"label selector {value!r} must look like k=v[,k2=v2]")
        return value


class TokenStatus(WireModel):
    value: str | None = Field(default=None, repr=False)  # only on create and renew
    version: int | None = None
    region: str | None = None


class Token(WireModel):
    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    spec: TokenSpec
    status: TokenStatus = Field(default_factory=TokenStatus)

    @property
    def value(self) -> str | None:
        return self.status.value


# ---------------------------------------------------------------------------------------------
# User volumes, capabilities, me, errors


class UserVolumeSpec(WireModel):
    """What `POST /v1/volume` takes (the official `CreateVolume`): at most one data source (none:
    a standalone disk) and `cache`."""

    cache: bool | None = None
    data_store: DataStoreSource | None = None
    private_swift: PrivateSwiftSource | None = None
    public_git: PublicGitSource | None = None
    public_swift: PublicSwiftSource | None = None
    standalone: StandaloneSource | None = None


class UserVolume(WireModel):
    """A volume object of `/v1/volume` (the official `UserVolume`): flat, the source at the top."""

    id: str
    created_at: datetime | None = None
    updated_at: datetime | None = None
    cache: bool | None = None
    data_store: DataStoreSource | None = None
    private_swift: PrivateSwiftSource | None = None
    public_git: PublicGitSource | None = None
    public_swift: PublicSwiftSource | None = None
    standalone: StandaloneSource | None = None
    target_data_store: DataStoreSource | None = None
    target_private_swift: PrivateSwiftSource | None = None


class GpuInformation(WireModel):
    gpu_brand: str | None = None
    gpu_model: str | None = None
    gpu_memory: int | None = None


class ResourcesPerUnit(WireModel):
    cpu: int | None = None
    gpu: int | None = None
    memory: int | None = None
    ephemeral_storage: int | None = None
    private_network: int | None = None
    public_network: int | None = None


class Flavor(WireModel):
    id: str
    type: Annotated[FlavorType | str, Field(union_mode="left_to_right")] | None = None
    description: str | None = None
    default: bool | None = None
    max: int | None = None
    resources_per_unit: ResourcesPerUnit | None = None
    gpu_information: GpuInformation | None = None


class Quotas(WireModel):
    """Project quotas: `resources` per compute kind (e.g. `{"GPU": 4}`), storage in bits."""

    resources: dict[str, int] | None = None
    storage: int | None = None


class Me(WireModel):
    """Who the token is (`GET /v1/me`); shapes vary between deployments, so everything is optional."""

    name: str | None = None
    tenant: str | None = None
    role: str | None = None
    token_kind: str | None = None
    trust_id: str | None = None
    quotas: Quotas | None = None


class ErrorBody(WireModel):
    """`{"message": ...}` (regional API) or `{"class": ..., "message": ...}` (public API)."""

    message: str | None = None
    error_class: str | None = Field(default=None, alias="class")


def field_errors(error: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    """A pydantic ValidationError as (wire path, message) pairs: `spec.volumes[1].mountPath`, ..."""
    pairs: list[tuple[str, str]] = []
    for item in error.errors(include_url=False):
        path = prefix
        for part in item["loc"]:
            if isinstance(part, int):
                path += f"[{part}]"
            else:
                path += f".{part}" if path else str(part)
        message = str(item["msg"]).removeprefix("Value error, ")
        pairs.append((path or "(root)", message))
    return pairs
