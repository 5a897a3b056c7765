"""The platform stack: the OVHcloud side of the model caches in one AI Deploy region (pulumi-ovh).

Thin: the stack's config is checked and turned into a plan by `components.platform_stack` (pure,
tested as plain functions) before any resource is declared; a bad key fails `pulumi preview` with
the key and its fix. Then: the cache bucket, a Public Cloud user that may only use it, the user's
S3 credentials and its bucket policy; with `datastoreAlias`, a customer datastore alias that
AI Deploy mounts the bucket through, registered with that user's S3 credentials (AiDatastoreAlias,
components/resources/alias.py: pulumi-ovh has no resource for the AI datastore routes; it goes
through the OVHcloud public API with the same `ovh:*` keys). Outputs for the model stacks'
StackReference, credentials as secrets, and the project (`serviceName`) the resources were made in.
"""

import pulumi
import pulumi_ovh as ovh

from components.platform_stack import PROJECT, USER_ROLE, PlatformConfigError, plan_platform
from components.resources.alias import AiDatastoreAlias
from components.stack_config import read_stack_config

raw, _secret, _provider = read_stack_config(PROJECT)
try:
    plan = plan_platform(raw, stack=pulumi.get_stack())
except PlatformConfigError as error:
    # A RunError prints the message alone, without a Python traceback.
    raise pulumi.RunError(str(error)) from None

service = plan.service_name  # None: pulumi-ovh reads OVH_CLOUD_PROJECT_SERVICE

user = ovh.cloudproject.User(
    "cache-user",
    service_name=service,
    description=plan.user_description,
    role_names=[USER_ROLE],
)
credential = ovh.cloudproject.S3Credential("cache-s3-credential", service_name=service, user_id=user.id)
bucket = ovh.cloudproject.Storage(
    "cache-bucket",
    service_name=service,
    region_name=plan.region,
    name=plan.bucket,
    # A model cache holds many objects: keep their listing out of the state.
    hide_objects=True,
    encryption=ovh.cloudproject.StorageEncryptionArgs(sse_algorithm="AES256"),
    # The caches outlive any model stack; deleting them is a decision (`pulumi state unprotect`).
    opts=pulumi.ResourceOptions(protect=True),
)
policy = ovh.cloudproject.S3Policy(
    "cache-bucket-policy",
    service_name=service,
    user_id=user.id,
    policy=plan.policy,
    opts=pulumi.ResourceOptions(depends_on=[bucket]),
)

alias: pulumi.Input[str] = plan.alias
if not plan.alias_is_default:
    # A customer alias of the bucket's region, with the cache user's keys (secret in, never in the
    # state in plain text), once the policy lets that user reach the bucket.
    alias = AiDatastoreAlias(
        "cache-datastore-alias",
        alias=plan.alias,
        region=plan.region,
        endpoint=plan.s3_endpoint,
        access_key=credential.access_key_id,
        secret_key=credential.secret_access_key,
        credentials_region=plan.region.lower(),
        service_name=user.service_name,
        opts=pulumi.ResourceOptions(depends_on=[policy, bucket]),
    ).alias

pulumi.export("bucket", bucket.name)
pulumi.export("region", plan.region)
pulumi.export("alias", alias)
# The project, as pulumi-ovh resolved it (platform:serviceName, else OVH_CLOUD_PROJECT_SERVICE):
# a model stack on the public door without its own vllm-ai-deploy:serviceName takes it from here.
pulumi.export("serviceName", user.service_name)
pulumi.export("s3Endpoint", plan.s3_endpoint)
pulumi.export("cachePrefix", plan.cache_prefix)
pulumi.export("volumeSource", plan.volume_source)
pulumi.export("accessKeyId", pulumi.Output.secret(credential.access_key_id))
pulumi.export("secretAccessKey", pulumi.Output.secret(credential.secret_access_key))
