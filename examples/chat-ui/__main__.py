"""Open WebUI on AI Deploy (CPU), wired to a model stack's outputs through a StackReference.

The model stack exports `openaiBaseUrl`, `model`, `labelSelector` and `token` (secret); this
program reads them, gives a token to the UI as OPENAI_API_KEY through the app's secret env (never
in the spec or the state in clear) and exports the UI's URL. The token is the model stack's
(`tokenSource: modelStack`, the default) or one of its own (`tokenSource: mint`): a read token
scoped to the model stack's `labelSelector`, minted with this stack's credentials.

Credentials, like the model stack's: the regional door (`ovhai:endpoint` + `ovhai:token` or
OVHAI_TOKEN) or the OVHcloud public API door with the `ovh:*` keys pulumi-ovh reads
(`ovh:endpoint`, `ovh:applicationKey`, `ovh:applicationSecret`, `ovh:consumerKey`, or
`ovh:clientId` + `ovh:clientSecret`), `vllm-ai-deploy:serviceName` and `ovhai:region`: with those,
no AI token is pasted anywhere. They are checked before anything is declared: both doors, half a
door or a credential in plain text fail the preview naming the key and the command that fixes it;
then a consumer key without the rules the product needs (README "Consumer key rights").
"""

import os
import re

import pulumi

from components.resources import AiApp, AiToken
from components.resources.rights_preview import preview_rights
from components.settings.problems import Problems, SettingsError
from components.settings.rules_access import provider_credentials
from components.settings.rules_base import Findings
from components.stack_config import read_stack_config

PORT = 8080  # Open WebUI's port
DATA = "/app/backend/data"  # Open WebUI's database and uploads


def label_value(text: str) -> str:
    """`text` as a valid label value (63 characters of [A-Za-z0-9._-])."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63].strip("-._")


TOKEN_SOURCES = ("modelStack", "mint")
SERVICE_NAME_KEY = "vllm-ai-deploy:serviceName"


def check_credentials(project: str, stack: str) -> None:
    """The door's credentials, before any resource (the main project's rules, pure: no API call)."""
    _, secret, provider = read_stack_config(project)
    service_name = str(pulumi.Config("vllm-ai-deploy").get("serviceName") or "")
    findings = Findings(Problems(project))
    provider_credentials(provider, secret, None, findings, service_name=service_name,
                         environ=os.environ)  # fmt: skip
    if findings.failed:
        raise pulumi.RunError(str(SettingsError(stack, findings.problems.items)))
    # Then (the config is sound) one signed GET /auth/currentCredential: the key's rules.
    rights = preview_rights(provider, service_name, os.environ)
    if rights.problem:
        raise pulumi.RunError(f"stack '{stack}': {rights.problem}")
    if rights.warning:
        pulumi.log.warn(rights.warning)


config = pulumi.Config()
stack = pulumi.get_stack()
check_credentials(pulumi.get_project(), stack)
model_stack = config.require("modelStack")
token_source = config.get("tokenSource") or "modelStack"
if token_source not in TOKEN_SOURCES:
    raise pulumi.RunError(
        f"{pulumi.get_project()}:tokenSource must be one of {', '.join(TOKEN_SOURCES)} "
        f"(got {token_source!r}); fix: pulumi config set {pulumi.get_project()}:tokenSource mint"
    )
cpus = config.get_int("cpus") or 2
if not 1 <= cpus <= 12:
    raise pulumi.RunError(
        f"{pulumi.get_project()}:cpus must be 1..12 (got {cpus}); "
        f"fix: pulumi config set {pulumi.get_project()}:cpus 2"
    )
app_name = config.get("appName") or re.sub(r"[^a-z0-9-]+", "-", f"chat-ui-{stack}".lower()).strip("-")[:63]

model = pulumi.StackReference(model_stack)
base_url = model.require_output("openaiBaseUrl")
served_model = model.require_output("model")
ui_token: AiToken | None = None
if token_source == "mint":
    # A read token of the UI's own, scoped to the model's deployment label, minted through this
    # stack's door (with `ovh:*` keys: the API credentials; no AI token pasted anywhere).
    ui_token = AiToken(
        "chat-ui-token",
        name=f"{app_name}-read",
        role="read",
        label_selector=model.require_output("labelSelector").apply(str),
    )
    minted: pulumi.Output[str] = ui_token.value
    token: pulumi.Output[str] = pulumi.Output.secret(minted)
else:
    token = pulumi.Output.secret(model.require_output("token")).apply(str)

spec = pulumi.Output.all(base_url, served_model).apply(
    lambda values: {
        "name": app_name,
        "image": config.get("image") or "ghcr.io/open-webui/open-webui:v0.6.5",
        "defaultHttpPort": PORT,
        "envVars": [
            {"name": "OPENAI_API_BASE_URL", "value": str(values[0])},
            {"name": "DEFAULT_MODELS", "value": str(values[1])},
            {"name": "ENABLE_OLLAMA_API", "value": "false"},
            {"name": "DATA_DIR", "value": DATA},
            # A browser cannot send AI Deploy's Bearer token, so the UI is served without it
            # (unsecureHttp) and Open WebUI's own login guards it; the model endpoint behind it
            # stays token-guarded.
            {"name": "WEBUI_AUTH", "value": "true"},
        ],
        "labels": {"vllm-ai-deploy/model-stack": label_value(model_stack)},
        "resources": {"flavor": "ai1-1-cpu", "cpu": cpus},
        "volumes": [
            {"mountPath": DATA, "permission": "RW", "cache": False, "volumeSource": {"standalone": {}}}
        ],
        "scalingStrategy": {"fixed": {"replicas": 1}},
        "probe": {"path": "/health", "port": PORT},
        "unsecureHttp": config.get_bool("unsecureHttp", True),
    }
)

ui = AiApp(
    "chat-ui",
    spec=spec,
    secret_env={"OPENAI_API_KEY": token},
    readiness={"path": "/health", "timeoutSeconds": config.get_int("readinessTimeoutSeconds") or 900},
    deployment_key=label_value(f"{pulumi.get_project()}-{stack}"),
)

pulumi.export("url", ui.url)
pulumi.export("appId", ui.appId)
pulumi.export("model", served_model)
