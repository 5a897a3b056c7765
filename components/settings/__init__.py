"""A stack's settings: the pydantic model of its config and every rule, checked before any API call.

Pure: no Pulumi, no HTTP. `load_settings(raw, stack=..., ...)` takes the stack's config of the
project's namespace (key -> value as the Pulumi CLI hands it over: strings, JSON for arrays),
applies the environment's defaults, resolves the model, runs the GPU planner and returns a
`Settings`, or raises one `SettingsError` that lists EVERY problem, each naming its config key
(`vllm-ai-deploy:maxModelLen`) and the command that fixes it (`pulumi config set ...`).

Modules, one job each:
    environments   dev/staging/prod and their defaults, the pinned vLLM image
    keys           `StackConfig` (the declared keys, each with its own constraint), `declared_config()`
    pulumi_yaml    `python -m components.settings.pulumi_yaml --write`: Pulumi.yaml's config block
    problems       `ConfigProblem`, `SettingsError`, the fix commands, the problem collector
    model          the resolved `Settings`, `VolumeSettings`, `ScalingSettings`
    rules*         the resolver (`rules`) and its rule groups (identity, scaling, volumes, gpu,
                   access, lifecycle) sharing `rules_base.RuleContext`
    loading        `load_settings()`: raw CLI values -> `StackConfig` -> rules -> `Settings`

`__all__` is what the other layers use; the rest is reached through its module.
"""

from components.settings.environments import PINNED_VLLM_IMAGE
from components.settings.keys import PROJECT, StackConfig, declared_config
from components.settings.loading import load_settings
from components.settings.model import Settings, deployment_label_value
from components.settings.problems import ConfigProblem, SettingsError

__all__ = [
    "PINNED_VLLM_IMAGE",
    "PROJECT",
    "ConfigProblem",
    "Settings",
    "SettingsError",
    "StackConfig",
    "declared_config",
    "deployment_label_value",
    "load_settings",
]
