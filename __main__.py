"""The Pulumi program: the stack's settings, one VllmDeployment, its outputs.

Every rule on the stack's config is checked before any resource is declared, so a bad stack file
fails `pulumi preview` with one message that names each key and the command that fixes it. Then,
on the public API door with a consumer key, its rights (one GET /auth/currentCredential).
"""

import os

import pulumi

from components.deployment import VllmDeployment
from components.resources.rights_preview import preview_rights
from components.settings import SettingsError
from components.stack_config import load_stack_settings, read_stack_config

try:
    settings = load_stack_settings()
except SettingsError as error:
    # A RunError prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

rights = preview_rights(read_stack_config(pulumi.get_project())[2], pulumi.Config().get("serviceName") or "",
                        os.environ)  # fmt: skip
if rights.problem:
    raise pulumi.RunError(f"stack '{pulumi.get_stack()}': {rights.problem}")
if rights.warning:
    pulumi.log.warn(rights.warning)

deployment = VllmDeployment("vllm", settings)

for name, value in deployment.outputs.items():
    pulumi.export(name, value)
