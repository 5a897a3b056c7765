"""Run a Pulumi program under `pulumi.runtime.set_mocks` with a real stack file's config loaded.

The config is what the CLI would hand the program: the stack file's values plus the defaults
declared in the project's Pulumi.yaml, as strings (JSON text for arrays and objects). The mocks
answer like the dynamic providers would: an AiApp gets its id, URL, state and the deployment
label the provider sets from `deploymentKey`; an AiToken gets an id and a value.
"""

from __future__ import annotations

import gc
import json
import logging
import runpy
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime import settings as runtime_settings

REPO = Path(__file__).resolve().parent.parent
DEPLOYMENT_LABEL = "vllm-ai-deploy/deployment"
SECRET_SIG = "4dabf18193072939515e22adb298388d"  # pulumi.runtime.rpc's secret envelope


def unsecret(value: Any, path: str = "", found: set[str] | None = None) -> Any:
    """Inputs as plain values; the paths of the secret ones are added to `found`."""
    if isinstance(value, dict):
        if value.get(SECRET_SIG) == "1b47061264138c4ac30d75fd1eb44270":
            if found is not None:
                found.add(path)
            return unsecret(value["value"], path, found)
        return {k: unsecret(v, f"{path}.{k}" if path else k, found) for k, v in value.items()}
    if isinstance(value, list):
        return [unsecret(v, f"{path}[{i}]", found) for i, v in enumerate(value)]
    return value


def config_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def stack_config(project_dir: Path, stack: str) -> dict[str, str]:
    """The config the CLI passes for `stack`: project defaults, then the stack file's values."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    name = project["name"]
    config: dict[str, str] = {}
    for key, decl in (project.get("config") or {}).items():
        full = key if ":" in key else f"{name}:{key}"
        if isinstance(decl, dict) and "default" in decl:
            config[full] = config_text(decl["default"])
        elif not isinstance(decl, dict):
            config[full] = config_text(decl)
    stack_file = yaml.safe_load((project_dir / f"Pulumi.{stack}.yaml").read_text()) or {}
    for key, value in (stack_file.get("config") or {}).items():
        config[key] = config_text(value)
    return config


@dataclass
class Registered:
    typ: str
    name: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secret_inputs: set[str] = field(default_factory=set)


@dataclass
class RecordingMocks(pulumi.runtime.Mocks):
    resources: list[Registered] = field(default_factory=list)
    stack_outputs: dict[str, Any] = field(default_factory=dict)  # StackReference name -> outputs

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        secret_inputs: set[str] = set()
        given = {k: v for k, v in dict(args.inputs).items() if k != "__provider"}
        inputs = unsecret(given, "", secret_inputs)
        outputs = dict(inputs)
        rid = f"{args.name}-id"
        if "spec" in inputs and "deploymentKey" in inputs:  # AiApp
            rid = f"app-{args.name}"
            spec = dict(inputs["spec"])
            spec["labels"] = {**spec.get("labels", {}), DEPLOYMENT_LABEL: inputs["deploymentKey"],
                              "ovh/id": rid, "ovh/type": "app"}
            outputs.update(spec=spec, appId=rid, url=f"https://{rid}.app.gra.ai.cloud.ovh.net",
                           state="RUNNING", availableReplicas=1, createdAt="2025-01-01T00:00:00Z",
                           infoUrl=f"https://ui.gra.ai.cloud.ovh.net/app/{rid}",
                           monitoringUrl=f"https://monitoring.gra.ai.cloud.ovh.net/d/app?var-app={rid}")
        elif "role" in inputs and "labelSelector" in inputs:  # AiToken
            rid = f"token-{args.name}"
            outputs.update(tokenId=rid, version=1, value=f"secret-value-of-{args.name}")
        elif args.typ == "pulumi:pulumi:StackReference":
            exported = self.stack_outputs.get(args.name, {})
            outputs = {"name": inputs.get("name", args.name), "outputs": exported,
                       "secretOutputNames": [k for k in exported if "token" in k]}
        self.resources.append(Registered(args.typ, args.name, inputs, outputs, secret_inputs))
        return rid, outputs

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
        return {}, None

    def of_kind(self, kind: str) -> list[Registered]:
        if kind == "app":
            return [r for r in self.resources if "spec" in r.inputs and "deploymentKey" in r.inputs]
        if kind == "token":
            return [r for r in self.resources if "role" in r.inputs and "labelSelector" in r.inputs]
        return [r for r in self.resources if r.typ == kind]


@dataclass
class ProgramRun:
    mocks: RecordingMocks
    namespace: dict[str, Any]
    outputs: dict[str, Any]
    secret: dict[str, bool]
    logs: list[str]


class _ListHandler(logging.Handler):
    def __init__(self, sink: list[str]) -> None:
        super().__init__(logging.DEBUG)
        self.sink = sink

    def emit(self, record: logging.LogRecord) -> None:
        self.sink.append(f"{record.levelname}: {record.getMessage()}")


def run_program(
    program: Path,
    *,
    project: str,
    stack: str,
    config: dict[str, str],
    secret_keys: list[str] | None = None,
    mocks: RecordingMocks | None = None,
    outputs_of: str | Callable[[dict[str, Any]], dict[str, Any]] = "deployment",
) -> ProgramRun:
    """Run `program` (a __main__.py) and resolve the outputs: the `outputs` dict of its
    `outputs_of` global, or what `outputs_of(namespace)` returns."""
    mocks = mocks or RecordingMocks()
    logs: list[str] = []
    logger = logging.getLogger(f"pulumi-program-{project}-{stack}")
    logger.handlers[:] = [_ListHandler(logs)]
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    runtime_settings.ROOT.set(None)  # a fresh root stack per run
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, logger=logger)
    pulumi.runtime.set_all_config(config, secret_keys or [])
    namespace: dict[str, Any] = {}
    values: dict[str, Any] = {}
    secret: dict[str, bool] = {}

    @pulumi.runtime.test  # type: ignore[untyped-decorator]
    def body() -> Any:
        namespace.update(runpy.run_path(str(program), run_name="__main__"))
        outputs = outputs_of(namespace) if callable(outputs_of) else namespace[outputs_of].outputs
        keys = list(outputs)
        wrapped = [pulumi.Output.from_input(outputs[k]) for k in keys]

        async def collect() -> None:
            for key, out in zip(keys, wrapped, strict=True):
                values[key] = await out.future(with_unknowns=True)
                secret[key] = await out.is_secret()

        return pulumi.Output.from_input(collect())

    try:
        body()
    finally:
        # A failed run leaves futures whose exception nobody read; finalised later inside a
        # compile() (pytest importing a module), CPython 3.11 can fail the session with
        # "SystemError: AST constructor recursion depth mismatch". Finalise them here.
        gc.collect()
    return ProgramRun(mocks, namespace, values, secret, logs)
