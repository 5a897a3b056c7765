"""The platform stack: the OVHcloud side of the model caches in one AI Deploy region (pulumi-ovh).

Thin: the stack's config is checked and turned into a plan by `components.platform_stack` (pure,
tested as plain functions) before any resource is declared; a bad key fails `pulumi preview` with
the key and its fix. Then: the cache bucket, a Public Cloud user that may only use it, the user's
S3 credentials and its bucket policy; outputs for the model stacks' StackReference, credentials
as secrets.
"""

import pulumi
import pulumi_ovh as ovh

from components.platform_stack import PROJECT, USER_ROLE, PlatformConfigError, plan_platform
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

pulumi.export("bucket", bucket.name)
pulumi.export("region", plan.region)
pulumi.export("alias", plan.alias)
pulumi.export("s3Endpoint", plan.s3_endpoint)
pulumi.export("cachePrefix", plan.cache_prefix)
pulumi.export("volumeSource", plan.volume_source)
pulumi.export("accessKeyId", pulumi.Output.secret(credential.access_key_id))
pulumi.export("secretAccessKey", pulumi.Output.secret(credential.secret_access_key))
