"""The Pulumi program: the stack's settings, one VllmDeployment, its outputs.

Every rule on the stack's config is checked before any resource is declared, so a bad stack file
fails `pulumi preview` with one message that names each key and the command that fixes it.
"""

import pulumi

from components.deployment import VllmDeployment
from components.settings import SettingsError
from components.stack_config import load_stack_settings

try:
    settings = load_stack_settings()
except SettingsError as error:
    # A RunError prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

deployment = VllmDeployment("vllm", settings)

for name, value in deployment.outputs.items():
    pulumi.export(name, value)
