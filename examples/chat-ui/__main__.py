"""Open WebUI on AI Deploy (CPU), wired to a model stack's outputs through a StackReference.

The model stack exports `openaiBaseUrl`, `model` and `token` (secret); this program reads them,
gives the token to the UI as OPENAI_API_KEY through the app's secret env (never in the spec or the
state in clear) and exports the UI's URL.
"""

import re

import pulumi

from components.resources import AiApp

PORT = 8080  # Open WebUI's port
DATA = "/app/backend/data"  # Open WebUI's database and uploads


def label_value(text: str) -> str:
    """`text` as a valid label value (63 characters of [A-Za-z0-9._-])."""
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text)[:63].strip("-._")


config = pulumi.Config()
stack = pulumi.get_stack()
model_stack = config.require("modelStack")
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
token: pulumi.Output[str] = pulumi.Output.secret(model.require_output("token")).apply(str)

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
