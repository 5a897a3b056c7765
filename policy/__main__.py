"""The policy pack: `pulumi preview --policy-pack policy [--policy-pack-config policy/config.json]`."""

from pack import POLICIES
from pulumi_policy import EnforcementLevel, PolicyPack

PolicyPack("vllm-ai-deploy", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
