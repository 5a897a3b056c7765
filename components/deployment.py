"""VllmDeployment: one model served by vLLM on AI Deploy - the token, the volumes and the app.

The only layer that knows both vLLM (through the pure planner and launch builder) and Pulumi
(through the dynamic resources). Everything is wired by one label: the AiApp carries the stack's
deployment label (the provider sets `vllm-ai-deploy/deployment=<deploymentKey>`), and the AiToken
is scoped to exactly that selector, so the token opens this stack's app and nothing else.
"""

from __future__ import annotations

import math
import os
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components import cache, sizing, vllm
from components.resources import AiApp, AiToken, credentials
from components.resources.datasync import AiCachePush
from components.settings import Settings, SettingsError
from components.settings.problems import Problems
from components.settings.rules_lifecycle import bucket_readiness

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
    readiness: dict[str, Any] = {"path": path, "timeoutSeconds": settings.readiness_timeout_seconds}
    if settings.cache is not None:
        # Applies only once an app of this deployment pushed the prefix (readiness.choose_deadline).
        readiness["fromBucket"] = {"timeoutSeconds": bucket_deadline(settings),
                                   "mountPath": settings.cache_path, "model": settings.model.hf_id}
    return readiness


def bucket_deadline(settings: Settings) -> int:
    return bucket_readiness(settings.model, settings.readiness_timeout_seconds)


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
    starts = cache.estimate_starts(settings.model).describe(cached=settings.cache is not None)
    hub = settings.readiness_timeout_seconds
    if settings.cache is None:
        deadline = f"readiness deadline {hub} s (covers a start from the Hub)"
    else:
        deadline = (f"readiness deadline {hub} s for a start from the Hub (the first start of a fresh "
                    f"prefix, or after a failed push), {bucket_deadline(settings)} s for a start from "
                    "the bucket once an app of this stack pushed the prefix (estimates)")
    return (head + "\n" + sizing.format_plans(list(settings.plans)) + "\n" + str(cost["sourceNote"])
            + f"\nEstimates: {starts}; {deadline}.")


# ------------------------------------------------------------------------------ the model cache


def _cache_failure(settings: Settings, key: str, message: str, value: str | None = None,
                   fix: str | None = None) -> pulumi.RunError:
    """A preview failure worded like the settings' own (key, problem, fix command)."""
    problems = Problems(settings.project)
    problems.add(key, message, fix, value=value)
    return pulumi.RunError(str(SettingsError(settings.stack, problems.items)))


def sibling_claims(settings: Settings, project_dir: Path) -> list[cache.CacheClaim]:
    """The cache claims of the project's other stack files (Pulumi.<stack>.yaml)."""
    claims = []
    for path in sorted(project_dir.glob("Pulumi.*.yaml")):
        stack = path.name[len("Pulumi."):-len(".yaml")]
        try:
            config = (yaml.safe_load(path.read_text()) or {}).get("config") or {}
        except (OSError, yaml.YAMLError):
            continue
        claim = cache.claim_of_stack_file(stack, config, settings.project)
        if claim is not None:
            claims.append(claim)
    return claims


def check_cache_prefix(settings: Settings, project_dir: Path) -> None:
    """Refuse a prefix that another model uses in the same cache (pulumi.RunError naming the key)."""
    assert settings.cache is not None
    mine = cache.CacheClaim(settings.stack, settings.cache.stack, settings.model.hf_id, settings.cache.prefix)
    problems = cache.collisions(mine, sibling_claims(settings, project_dir))
    if problems:
        key = "cachePrefix"
        fix = (f"pulumi config rm {settings.project}:cachePrefix (derive it from the model)"
               if settings.cache.explicit_prefix else None)
        raise _cache_failure(settings, key, "; ".join(problems) + ": two models under one prefix "
                             "would pull each other's weights", value=cache.model_prefix(settings.model.hf_id)
                             + "-" + settings.stack, fix=fix)


def app_region() -> str | None:
    """The app's AI Deploy region: `ovhai:region`, else the regional endpoint's host; None for
    another endpoint (the emulator)."""
    config = pulumi.Config("ovhai")
    region = config.get("region") or os.environ.get("OVHAI_REGION")
    if region:
        return region.strip().upper()
    return cache.region_of_endpoint(config.get("endpoint") or os.environ.get("OVHAI_ENDPOINT"))


def platform_project_needed() -> bool:
    """The public door (`ovh:*` credentials) with no project of the stack's own
    (`vllm-ai-deploy:serviceName` / OVH_CLOUD_PROJECT_SERVICE): the platform stack's is used."""
    def get(key: str) -> Any:
        namespace, _, name = key.partition(":")
        return pulumi.Config(namespace).get(name)

    door_keys = (credentials.SERVICE_NAME_KEY, credentials.TOKEN_KEY, *credentials.PUBLIC_KEYS)
    return credentials.needs_project({key: get(key) for key in door_keys})


def platform_project(source: pulumi.Output[cache.CacheSource] | None) -> pulumi.Output[str] | None:
    """The `serviceName` input of the resources: the platform's project, only for a cache stack on
    the public door without its own (None otherwise, so that existing stacks see no diff)."""
    if source is None or not platform_project_needed():
        return None
    return source.apply(lambda src: src.service_name or "")


def cache_source(settings: Settings, ref: pulumi.StackReference) -> pulumi.Output[cache.CacheSource]:
    """The platform stack's outputs, checked: a RunError naming `cacheStack` when the stack cannot
    be read, lacks an output, or keeps its bucket in another region than the app."""
    assert settings.cache is not None
    stack, prefix, region = settings.cache.stack, settings.cache.prefix, app_region()

    async def checked() -> cache.CacheSource:
        try:
            outputs = await ref.outputs.future()
        except Exception as exc:  # the engine could not read the stack: say which key names it
            raise _cache_failure(settings, "cacheStack", f"the platform stack {stack} cannot be read "
                                 f"({exc}); deploy it (`pulumi up -s {stack}` in platform/) or fix the "
                                 "name") from None
        try:
            return cache.resolve_source(outputs or {}, stack=stack, app_region=region, model_prefix=prefix,
                                        service_name=pulumi.Config(settings.project).get("serviceName"),
                                        project_needed=platform_project_needed())
        except cache.CacheError as error:
            raise _cache_failure(settings, error.key, str(error), value=error.fix_value or stack) from None

    return pulumi.Output.from_input(checked())


def push_weights(name: str, settings: Settings, app: AiApp,
                 source: pulumi.Output[cache.CacheSource]) -> AiCachePush | None:
    """The first start's weights back to the bucket (components/resources/datasync.py says why a
    push); none for an app that may scale to zero (no RUNNING replica to push from)."""
    least, _ = settings.scaling.billed_replicas
    if least == 0:
        pulumi.log.warn("cacheStack: an app that scales to zero is not pushed to the cache after its "
                        "first start; seed the prefix from an app with minReplicas >= 1")
        return None
    estimate = cache.estimate_starts(settings.model)
    return AiCachePush(
        f"{name}-cache-push",
        app_id=app.appId,
        prefix=source.apply(lambda src: src.volume_source),
        timeout_seconds=float(max(600, math.ceil(estimate.push_seconds * 3))),
        service_name=platform_project(source),
        opts=pulumi.ResourceOptions(parent=app, depends_on=[app]),
    )


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
        cache                {volumeSource, s3Url, region} of /hub, with cacheStack
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

        self.cache_source: pulumi.Output[cache.CacheSource] | None = None
        if settings.cache is not None:
            check_cache_prefix(settings, Path.cwd())
            # Named after the key: the engine's own error for a stack it cannot read names it.
            ref = pulumi.StackReference(f"{settings.project}:cacheStack", stack_name=settings.cache.stack,
                                        opts=child)
            pulumi.log.info(f"cacheStack: /hub from the bucket of platform stack {settings.cache.stack} "
                            f"under .../{settings.cache.prefix}; a stack that does not exist fails here: "
                            f"pulumi config set {settings.project}:cacheStack <org>/platform/<region>",
                            resource=self)
            self.cache_source = cache_source(settings, ref)
            hub = self.cache_source.apply(lambda src: src.to_volume(settings.cache_path))
            self.spec["volumes"] = [hub if v["mountPath"] == settings.cache_path else v
                                    for v in self.spec["volumes"]]
            # Nothing of this stack is registered before the platform stack's outputs are checked
            # (a bad cacheStack fails the preview before any resource reaches the engine).
            child = pulumi.ResourceOptions(parent=self, depends_on=self.cache_source.apply(lambda _: [ref]))

        # The platform's project, for a cache stack on the public door that names none of its own.
        project = platform_project(self.cache_source)
        self.app = AiApp(
            f"{name}-app",
            spec=self.spec,
            secret_env={k: pulumi.Output.secret(v) for k, v in launch.secret_env.items()},
            readiness=readiness(settings, launch),
            deployment_key=deployment_key,
            gpu_quota=settings.gpu_quota,
            keep_failed_apps=settings.keep_failed_apps,
            adopt_app_id=settings.adopt_app_id or None,
            service_name=project,
            opts=child,
        )
        # The token opens exactly the apps labelled like this one (see the module docstring).
        self.consumer_token = AiToken(
            f"{name}-token",
            name=f"{settings.app_name}-{settings.token_role}",
            role=settings.token_role,
            label_selector=settings.label_selector,
            rotation=settings.token_rotation or None,
            service_name=project,
            opts=child,
        )
        self.cache_push: AiCachePush | None = None
        if self.cache_source is not None:
            self.cache_push = push_weights(name, settings, self.app, self.cache_source)
        self.operator_token: AiToken | None = None
        if settings.operator_token:
            self.operator_token = AiToken(
                f"{name}-operator-token",
                name=f"{settings.app_name}-operator",
                role="operator",
                label_selector=settings.label_selector,
                rotation=settings.token_rotation or None,
                service_name=project,
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
        if self.cache_source is not None:
            outputs["cache"] = self.cache_source.apply(
                lambda src: {"volumeSource": src.volume_source, "s3Url": src.s3_url, "region": src.region})
        if self.operator_token is not None:
            outputs["operatorToken"] = pulumi.Output.secret(self.operator_token.value)
        self.outputs = outputs
        self.register_outputs(outputs)

