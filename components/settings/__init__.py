"""A stack's settings: the pydantic model of its config and every rule, checked before any API call.

Pure: no Pulumi, no HTTP. `load_settings(raw, stack=..., ...)` takes the stack's config of the
project's namespace (key -> value as the Pulumi CLI hands it over: strings, JSON for arrays),
applies the environment's defaults, resolves the model, runs the GPU planner and returns a
`Settings`, or raises one `SettingsError` that lists EVERY problem, each naming its config key
(`vllm-ai-deploy:maxModelLen`) and the command that fixes it (`pulumi config set ...`).

Modules, one job each:
    environments   dev/staging/prod and their defaults, the pinned vLLM image
    keys           `StackConfig` (the declared keys), `declared_config()` for Pulumi.yaml
    problems       `ConfigProblem`, `SettingsError`, the fix commands, the problem collector
    model          the resolved `Settings`, `VolumeSettings`, `ScalingSettings`
    rules*         the resolver (`rules`) and its rule groups (identity, scaling, volumes, gpu,
                   access, lifecycle) sharing `rules_base.RuleContext`
    loading        `load_settings()`: raw CLI values -> `StackConfig` -> rules -> `Settings`
"""

from components.settings.environments import (
    ENVIRONMENT_DEFAULTS,
    ENVIRONMENTS,
    PINNED_VLLM_IMAGE,
    Environment,
    EnvironmentDefaults,
)
from components.settings.keys import (
    DEPLOYMENT_LABEL,
    LIST_KEYS,
    PROJECT,
    StackConfig,
    declared_config,
    parse_structured,
)
from components.settings.loading import load_settings
from components.settings.model import (
    COST_NOTE,
    ScalingSettings,
    Settings,
    VolumeSettings,
    deployment_label_value,
)
from components.settings.problems import (
    ConfigProblem,
    SettingsError,
    example,
    full_key,
    rm_command,
    set_command,
)
from components.settings.rules_gpu import DTYPES, KV_CACHE_DTYPES, MANAGED_VLLM_FLAGS
from components.settings.rules_identity import FLOATING_TAGS
from components.settings.rules_volumes import RESERVED_MOUNTS

__all__ = [
    "COST_NOTE",
    "DEPLOYMENT_LABEL",
    "DTYPES",
    "ENVIRONMENTS",
    "ENVIRONMENT_DEFAULTS",
    "FLOATING_TAGS",
    "KV_CACHE_DTYPES",
    "LIST_KEYS",
    "MANAGED_VLLM_FLAGS",
    "PINNED_VLLM_IMAGE",
    "PROJECT",
    "RESERVED_MOUNTS",
    "ConfigProblem",
    "Environment",
    "EnvironmentDefaults",
    "ScalingSettings",
    "Settings",
    "SettingsError",
    "StackConfig",
    "VolumeSettings",
    "declared_config",
    "deployment_label_value",
    "example",
    "full_key",
    "load_settings",
    "parse_structured",
    "rm_command",
    "set_command",
]
