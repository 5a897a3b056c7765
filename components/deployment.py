"""VllmDeployment: one model served by vLLM on AI Deploy - the token, the volumes and the app.

The only layer that knows both vLLM (through the pure planner and launch builder) and Pulumi
(through the dynamic resources). Everything is wired by one label: the AiApp carries the stack's
deployment label (the provider sets `vllm-ai-deploy/deployment=<deploymentKey>`), and the AiToken
is scoped to exactly that selector, so the token opens this stack's app and nothing else.
"""

from __future__ import annotations

from typing import Any

import pulumi

from components import sizing, vllm
from components.resources import AiApp, AiToken
from components.settings import Settings

COMPONENT_TYPE = "vllm-ai-deploy:index:VllmDeployment"


def build_launch(settings: Settings) -> vllm.VllmLaunch:
    return vllm.build_launch(
        settings.model,
        settings.plan,
        options=settings.engine,
        hf_home=settings.cache_path,
        hf_token=settings.hf_token.get_secret_value() if settings.hf_token else None,
    )


def build_app_spec(settings: Settings, launch: vllm.VllmLaunch) -> dict[str, Any]:
    """The AppSpec JSON (camelCase wire names) of the stack's app; secrets stay out of it."""
    return {
        "name": settings.app_name,
        "image": settings.image,
        "command": list(launch.command),
        "envVars": [{"name": k, "value": v} for k, v in launch.env.items()],
        "defaultHttpPort": launch.port,
        "labels": dict(settings.labels),
        "resources": {"flavor": settings.plan.flavor, "gpu": settings.plan.gpus},
        "volumes": [v.to_wire() for v in settings.volumes],
        "scalingStrategy": settings.scaling.to_wire(metrics_port=launch.port),
        "probe": dict(launch.probe),
        "livenessProbe": dict(launch.liveness_probe),
        "deploymentStrategy": dict(launch.deployment_strategy),
        "unsecureHttp": settings.unsecure_http,
    }


def readiness(settings: Settings, launch: vllm.VllmLaunch) -> dict[str, Any]:
    # An app that scales to zero may have no replica to answer: wait for RUNNING only.
    least, _ = settings.scaling.billed_replicas
    path = str(launch.probe.get("path", "/health")) if least > 0 else ""
    return {"path": path, "timeoutSeconds": settings.readiness_timeout_seconds}


def planner_report(settings: Settings) -> str:
    """What the reviewer reads at preview: the chosen plan, its cost and the table it won."""
    plan = settings.plan
    cost = settings.estimated_hourly_cost()
    replicas = (
        f"{cost['replicas']}..{cost['maxReplicas']} replicas"
        if "maxReplicas" in cost
        else f"{cost['replicas']} replica(s)"
    )
    head = (
        f"{settings.model.hf_id} on {plan.gpus} x {plan.flavor} (tensor parallel {plan.tensor_parallel}, "
        f"{plan.dtype}, context {plan.max_model_len:,} tokens, {plan.kv_cache_tokens:,} KV tokens); "
        f"{replicas}, about {cost['amount']:.2f} {cost['currency']}/h (estimate). Planner's table:"
    )
    return head + "\n" + sizing.format_plans(list(settings.plans)) + "\n" + str(cost["sourceNote"])


class VllmDeployment(pulumi.ComponentResource):
    """A vLLM OpenAI-compatible endpoint on AI Deploy and a token scoped to it.

    Registered outputs (what `__main__` exports), one line each:
        endpoint             the app's URL
        openaiBaseUrl        endpoint + /v1, for OpenAI clients
        model                the model name clients send (servedModelName)
        token                the consumers' token, scoped to this app's label (secret)
        appId                the AI Deploy app id
        flavor, gpus         the plan's GPU flavor and GPUs per replica
        tensorParallel       vLLM's tensor-parallel size
        maxModelLen          the context length vLLM serves
        estimatedHourlyCost  {amount, perReplica, replicas, currency, note, source, date, subsidiary,
                             sourceNote[, maxAmount, maxReplicas]}: source and date of the prices
                             (the OVHcloud public catalog and the day it was fetched, or the
                             built-in estimates with date null)
        state                the app's state when last seen
        infoUrl, monitoringUrl  the platform's pages of the app
        labelSelector        the deployment label the tokens are scoped to
        operatorToken        an operator token for automation, when asked for (secret)
    """

    endpoint: pulumi.Output[str]  # the app's URL
    openai_base_url: pulumi.Output[str]  # endpoint + /v1
    token: pulumi.Output[str]  # the consumers' scoped token (secret)
    app_id: pulumi.Output[str]  # the AI Deploy app id
    outputs: dict[str, Any]  # the registered outputs above, by their exported names

    def __init__(self, name: str, settings: Settings, opts: pulumi.ResourceOptions | None = None) -> None:
        super().__init__(COMPONENT_TYPE, name, None, opts)
        self.settings = settings
        for warning in settings.warnings:
            pulumi.log.warn(warning, resource=self)
        pulumi.log.info(planner_report(settings), resource=self)

        launch = build_launch(settings)
        self.launch = launch
        self.spec = build_app_spec(settings, launch)
        deployment_key = settings.deployment_label[1]
        child = pulumi.ResourceOptions(parent=self)

        self.app = AiApp(
            f"{name}-app",
            spec=self.spec,
            secret_env={k: pulumi.Output.secret(v) for k, v in launch.secret_env.items()},
            readiness=readiness(settings, launch),
            deployment_key=deployment_key,
            gpu_quota=settings.gpu_quota,
            keep_failed_apps=settings.keep_failed_apps,
            adopt_app_id=settings.adopt_app_id or None,
            opts=child,
        )
        # The token opens exactly the apps labelled like this one (see the module docstring).
        self.consumer_token = AiToken(
            f"{name}-token",
            name=f"{settings.app_name}-{settings.token_role}",
            role=settings.token_role,
            label_selector=settings.label_selector,
            rotation=settings.token_rotation or None,
            opts=child,
        )
        self.operator_token: AiToken | None = None
        if settings.operator_token:
            self.operator_token = AiToken(
                f"{name}-operator-token",
                name=f"{settings.app_name}-operator",
                role="operator",
                label_selector=settings.label_selector,
                rotation=settings.token_rotation or None,
                opts=child,
            )

        url: pulumi.Output[str] = self.app.url
        self.endpoint = url
        self.openai_base_url = url.apply(lambda u: f"{u.rstrip('/')}/v1")
        # Marked secret here, not only through the resource's secret outputs: stays secret under
        # every engine and under mocks.
        self.token = pulumi.Output.secret(self.consumer_token.value)
        self.app_id = self.app.appId
        plan = settings.plan
        outputs: dict[str, Any] = {
            "endpoint": self.endpoint,
            "openaiBaseUrl": self.openai_base_url,
            "model": launch.served_model_name,
            "token": self.token,
            "appId": self.app_id,
            "flavor": plan.flavor,
            "gpus": plan.gpus,
            "tensorParallel": plan.tensor_parallel,
            "maxModelLen": plan.max_model_len,
            "estimatedHourlyCost": settings.estimated_hourly_cost(),
            "state": self.app.state,
            "infoUrl": self.app.infoUrl,
            "monitoringUrl": self.app.monitoringUrl,
            "labelSelector": settings.label_selector,
        }
        if self.operator_token is not None:
            outputs["operatorToken"] = pulumi.Output.secret(self.operator_token.value)
        self.outputs = outputs
        self.register_outputs(outputs)

