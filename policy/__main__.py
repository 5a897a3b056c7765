"""The policy pack: `pulumi preview --policy-pack policy [--policy-pack-config policy/config.json]`."""

import grpc
from google.protobuf import json_format
from pack import CONFIG_FILE_HINT, POLICIES, config_problems
from pulumi_policy import EnforcementLevel, PolicyPack
from pulumi_policy import policy as _sdk

# A config file with an unknown policy name or setting is refused when the engine configures the
# pack (before any resource is checked), with one message naming each unknown key. pulumi-policy
# (pinned, 1.21.0) has no hook for it: its analyzer servicer's Configure is wrapped.
_configure = _sdk._PolicyAnalyzerServicer.Configure


def _checked_configure(self, request, context):  # type: ignore[no-untyped-def]
    config = {name: json_format.MessageToDict(request.policyConfig[name].properties)
              for name in request.policyConfig}
    problems = config_problems(config, POLICIES)
    if problems:
        context.abort(grpc.StatusCode.INVALID_ARGUMENT,
                      f"policy pack config: {'; '.join(problems)}: {CONFIG_FILE_HINT}")
    return _configure(self, request, context)


_sdk._PolicyAnalyzerServicer.Configure = _checked_configure

PolicyPack("vllm-ai-deploy", enforcement_level=EnforcementLevel.MANDATORY, policies=POLICIES)
