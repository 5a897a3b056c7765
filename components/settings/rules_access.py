"""Rules of who may reach and manage the app: labels, tokens, open HTTP, credentials in plain text."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any, Literal

from components import catalog
from components.platform import LABEL_VALUE, PLATFORM_LABEL_PREFIX, label_key_ok
from components.settings.environments import Environment, EnvironmentDefaults
from components.settings.keys import DEPLOYMENT_LABEL, StackConfig, choices
from components.settings.problems import example
from components.settings.rules_base import Findings


def labels(cfg: StackConfig, p: Findings) -> dict[str, str] | None:
    labels: dict[str, str] = {}
    ok = True
    for i, item in enumerate(cfg.labels):
        key, sep, value = item.partition("=")
        prefix = key.rpartition("/")[0]
        problem = None
        if not sep:
            problem = "must be key=value"
        elif not label_key_ok(key):
            problem = f"key '{key}' is not a valid label key ([prefix/]name, 63 chars of [A-Za-z0-9._-])"
        elif not LABEL_VALUE.match(value):
            problem = f"value '{value}' is not a valid label value (63 chars of [A-Za-z0-9._-])"
        elif prefix == PLATFORM_LABEL_PREFIX.rstrip("/") or key.startswith(PLATFORM_LABEL_PREFIX):
            problem = f"labels under {PLATFORM_LABEL_PREFIX} belong to the platform"
        elif key == DEPLOYMENT_LABEL:
            problem = f"{DEPLOYMENT_LABEL} is the deployment's own label (the token is scoped by it)"
        elif key in labels:
            problem = f"key '{key}' is given twice"
        if problem:
            p.add("labels", f"[{i}] '{item}': {problem}", value=example("labels"))
            ok = False
        else:
            labels[key] = value
    return labels if ok else None


def token_role(cfg: StackConfig, env: Environment | None, p: Findings) -> Literal["read", "operator"] | None:
    role = cfg.tokenRole.strip()
    if role not in choices("tokenRole"):
        allowed = " or ".join(choices("tokenRole"))
        p.add("tokenRole", f"must be {allowed} (got {role!r})", value="read")
        return None
    if role == "operator" and env == "prod":
        p.warn("tokenRole operator: consumers of this stack's token can manage the app")
    return role  # type: ignore[return-value]


def unsecure(cfg: StackConfig, env: Environment | None, defaults: EnvironmentDefaults, p: Findings) -> None:
    if cfg.unsecureHttp and env is not None and not defaults.unsecure_http_allowed:
        p.add("unsecureHttp", f"{env} refuses an endpoint open without a token", value="false")
    elif cfg.unsecureHttp:
        p.warn("unsecureHttp: anyone who knows the URL can use the model")


PLATFORM_PROJECT = "<the platform stack's serviceName>"  # stands for the project read at deploy


def provider_credentials(
    provider_config: Mapping[str, Any],
    secret_keys: Collection[str],
    env: Environment | None,
    p: Findings,
    *,
    service_name: str = "",
    environ: Mapping[str, str] | None = None,
    project_from_platform: bool = False,
) -> None:
    """Credentials in plain text, and the door the provider will take: both doors, half a public
    door or the wrong door's keys are reported at preview, before any API call.

    `project_from_platform` (the stack sets `cacheStack`): a missing `serviceName` is not reported,
    the platform stack's output supplies it (components/cache.py fails the preview when the
    platform does not export one)."""
    from components.resources import credentials as creds  # pure: no Pulumi, no HTTP

    for key in creds.SECRET_KEYS:
        if provider_config.get(key) and key not in secret_keys:
            p.add(key, "a credential is stored in plain text in the stack file",
                  f"pulumi config set --secret {key} <value> (or export {creds.ENV_OF[key]})")
    endpoint = str(provider_config.get("ovhai:endpoint", "") or "")
    if env == "prod" and endpoint and not endpoint.startswith("https://"):
        p.add("ovhai:endpoint", f"prod talks to the API over https (got {endpoint})",
              "pulumi config set ovhai:endpoint https://gra.ai.cloud.ovh.net")
    config = {**provider_config, creds.SERVICE_NAME_KEY: service_name or None}
    if not any(provider_config.get(k) for k in creds.PUBLIC_KEYS):
        return  # the regional door: its token may come from the environment at deploy time
    try:
        creds.resolve(config, environ or {}, service_name=PLATFORM_PROJECT if project_from_platform else None)
    except creds.MissingCredentials as error:
        for key, reason, fix in error.issues:
            p.add(key, reason, fix)


def hf_token(
    cfg: StackConfig,
    model: catalog.ModelSpec | None,
    secret_keys: Collection[str],
    environ: Mapping[str, str],
    p: Findings,
) -> str | None:
    """The stack's secret `hfToken`, else (for a gated model only: an ambient token is not
    shipped into an app that does not need it) the HF_TOKEN environment variable."""
    value = cfg.hfToken.strip()
    if value and "hfToken" not in secret_keys:
        p.add("hfToken", "is stored in plain text: set it as a secret", value="hf_...")
        return None
    if not value and model is not None and model.gated:
        value = environ.get("HF_TOKEN", "").strip()
    if value and not value.startswith("hf_"):
        p.add("hfToken", "a Hugging Face token starts with 'hf_'", value="hf_...")
        return None
    if model is not None and model.gated and not value:
        p.add("hfToken", f"{model.hf_id} is gated on Hugging Face: the engine needs a token "
              "of an account that accepted its licence (or export HF_TOKEN)", value="hf_...")
        return None
    return value or None
