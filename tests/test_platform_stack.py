"""The platform stack (platform/): its pure plan as plain functions, and its program under mocks.

What is mocked and why: the `ovh:` resources are answered by `pulumi.runtime.set_mocks`, because
the `pulumi-resource-ovh` plugin (a Go binary the CLI downloads from GitHub) cannot be had on these
machines and no OVHcloud account is reached from a test. The mocks echo the inputs the program
gives (so the test sees exactly what pulumi-ovh would send to its provider) and answer the outputs
the provider computes (the user's id, the S3 credential's key pair) with fixed values. Each real
`platform/Pulumi.<stack>.yaml` is loaded as config, with the project's declared defaults, exactly
as tests/program_harness.py does for the main program: a typo in a stack file fails here.
tests/test_platform_stack_cli.py runs the same program with the real CLI as far as it goes.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pulumi
import pytest
import yaml

from components.platform_stack import (
    AI_REGIONS,
    BUCKET_ACTIONS,
    CONFIG_KEYS,
    OBJECT_ACTIONS,
    PlatformConfigError,
    bucket_policy,
    plan_platform,
    s3_endpoint,
)
from tests.program_harness import REPO, ProgramRun, RecordingMocks, run_program, stack_config
from tests.shared_reference import shared_file

PLATFORM = REPO / "platform"
PROJECT = "platform"
STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in PLATFORM.glob("Pulumi.*.yaml"))
ACCESS_KEY = "mock-access-key-id"
SECRET_KEY = "mock-secret-access-key"
USER = "ovh:CloudProject/user:User"
CREDENTIAL = "ovh:CloudProject/s3Credential:S3Credential"
BUCKET = "ovh:CloudProject/storage:Storage"
POLICY = "ovh:CloudProject/s3Policy:S3Policy"
ALIAS = "pulumi-python:dynamic/ovhai:AiDatastoreAlias"
ENV_PROJECT = "00112233445566778899aabbccddeeff"  # OVH_CLOUD_PROJECT_SERVICE of the test session


class OvhMocks(RecordingMocks):
    """The outputs pulumi-resource-ovh computes: ids, the user's name, the credential's keys."""

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
        rid, outputs = super().new_resource(args)
        if args.typ == USER:
            rid = "42"
            project = args.inputs.get("serviceName") or os.environ["OVH_CLOUD_PROJECT_SERVICE"]
            outputs.update(username="user-mock", status="ok", password="mock-user-password",
                           serviceName=project)
        elif args.typ == CREDENTIAL:
            rid = ACCESS_KEY
            outputs.update(accessKeyId=ACCESS_KEY, secretAccessKey=SECRET_KEY, internalUserId="u-1")
        self.resources[-1].outputs = outputs
        return rid, outputs


def run_platform(stack: str, **overrides: str) -> ProgramRun:
    config = stack_config(PLATFORM, stack)
    config.update({f"{PROJECT}:{k}": v for k, v in overrides.items()})

    def exported(_namespace: dict[str, Any]) -> dict[str, Any]:
        stack_resource = pulumi.runtime.settings.get_root_resource()
        assert stack_resource is not None
        return dict(stack_resource.outputs)  # type: ignore[attr-defined]

    return run_program(PLATFORM / "__main__.py", project=PROJECT, stack=stack, config=config,
                       mocks=OvhMocks(), outputs_of=exported)


@pytest.fixture(scope="module", autouse=True)
def project_from_the_environment() -> Iterator[None]:
    """pulumi-ovh's fallback for the project when `serviceName` is not set."""
    saved = os.environ.get("OVH_CLOUD_PROJECT_SERVICE")
    os.environ["OVH_CLOUD_PROJECT_SERVICE"] = ENV_PROJECT
    yield
    if saved is None:
        del os.environ["OVH_CLOUD_PROJECT_SERVICE"]
    else:
        os.environ["OVH_CLOUD_PROJECT_SERVICE"] = saved


@pytest.fixture(scope="module")
def runs(project_from_the_environment: None) -> dict[str, ProgramRun]:
    return {stack: run_platform(stack) for stack in STACKS}


# --- the pure plan ------------------------------------------------------------------------------


def test_a_plan_from_the_minimal_config_uses_the_defaults() -> None:
    plan = plan_platform({"region": "gra", "cachePrefix": "models"}, stack="gra")
    assert (plan.region, plan.bucket, plan.cache_prefix) == ("GRA", "vllm-model-cache-gra", "models")
    assert (plan.alias, plan.alias_is_default) == ("S3GRA", True)
    assert plan.s3_endpoint == "https://s3.gra.io.cloud.ovh.net" == s3_endpoint("GRA")
    assert plan.volume_source == "vllm-model-cache-gra@S3GRA/models"
    assert plan.service_name is None


def test_a_customer_alias_is_kept_and_not_taken_for_the_default() -> None:
    plan = plan_platform({"region": "BHS", "cachePrefix": "a/b", "datastoreAlias": "CACHE_BHS",
                          "serviceName": "0123456789abcdef0123456789abcdef"}, stack="bhs")
    assert (plan.alias, plan.alias_is_default) == ("CACHE_BHS", False)
    assert plan.service_name == "0123456789abcdef0123456789abcdef"


@pytest.mark.parametrize(("raw", "key", "fix"), [
    ({}, "platform:region", "pulumi config set region GRA"),
    ({"region": "SBG"}, "platform:region", "pulumi config set region GRA"),
    ({"region": "GRA", "bucketName": "Bad_Name"}, "platform:bucketName", "pulumi config set bucketName"),
    ({"region": "GRA", "bucketName": "10.0.0.1"}, "platform:bucketName", "pulumi config set bucketName"),
    ({"region": "GRA", "bucketName": "ab"}, "platform:bucketName", "pulumi config set bucketName"),
    ({"region": "GRA", "cachePrefix": "/models"}, "platform:cachePrefix", "pulumi config set cachePrefix"),
    ({"region": "GRA", "cachePrefix": "a/../b"}, "platform:cachePrefix", "pulumi config set cachePrefix"),
    ({"region": "GRA", "cachePrefix": "*"}, "platform:cachePrefix", "pulumi config set cachePrefix"),
    ({"region": "GRA", "datastoreAlias": "S3BHS"}, "platform:datastoreAlias", "config set datastoreAlias"),
    ({"region": "GRA", "datastoreAlias": "a b"}, "platform:datastoreAlias", "config set datastoreAlias"),
    ({"region": "GRA", "datastoreAlias": "gra"}, "platform:datastoreAlias", "config set datastoreAlias"),
    ({"region": "BHS", "datastoreAlias": "GRA"}, "platform:datastoreAlias", "config set datastoreAlias"),
    ({"region": "GRA", "serviceName": "my-project"}, "platform:serviceName", "OVH_CLOUD_PROJECT_SERVICE"),
    ({"region": "GRA", "bukcetName": "x"}, "platform:bukcetName", "pulumi config rm bukcetName"),
])
def test_bad_config_names_the_key_and_the_fix(raw: dict[str, str], key: str, fix: str) -> None:
    raw = {"cachePrefix": "models", **raw}
    with pytest.raises(PlatformConfigError) as caught:
        plan_platform(raw, stack="gra")
    assert caught.value.keys == [key]
    assert key in str(caught.value) and fix in str(caught.value)


def test_every_problem_is_reported_at_once() -> None:
    with pytest.raises(PlatformConfigError) as caught:
        plan_platform({"region": "XX", "bucketName": "_", "cachePrefix": ""}, stack="s")
    assert caught.value.keys == ["platform:region", "platform:bucketName", "platform:cachePrefix"]


def test_the_bucket_policy_is_least_privilege() -> None:
    document = json.loads(bucket_policy("vllm-model-cache-gra", "models"))
    assert set(document) == {"Statement"}
    statements = document["Statement"]
    assert all(s["Effect"] == "Allow" and set(s) == {"Sid", "Effect", "Action", "Resource"}
               for s in statements)
    by_resource = {tuple(s["Resource"]): set(s["Action"]) for s in statements}
    # Objects: only under the cache prefix, only read/write/delete and multipart uploads.
    assert by_resource[("arn:aws:s3:::vllm-model-cache-gra/models/*",)] == set(OBJECT_ACTIONS) == {
        "s3:GetObject", "s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload",
        "s3:ListMultipartUploadParts"}
    # The bucket: list and locate it, nothing that changes it.
    assert by_resource[("arn:aws:s3:::vllm-model-cache-gra",)] == set(BUCKET_ACTIONS) == {
        "s3:ListBucket", "s3:ListBucketMultipartUploads", "s3:GetBucketLocation"}
    assert len(by_resource) == 2
    actions = set(OBJECT_ACTIONS) | set(BUCKET_ACTIONS)
    assert not any("*" in a for a in actions)  # no wildcard action
    assert not any(a.startswith(("s3:PutBucket", "s3:DeleteBucket", "s3:PutObjectAcl", "s3:GetBucketPolicy"))
                   for a in actions)
    resources = [r for s in statements for r in s["Resource"]]
    assert "arn:aws:s3:::vllm-model-cache-gra/*" not in resources and "arn:aws:s3:::*" not in resources


def test_the_config_keys_are_the_ones_pulumi_yaml_declares() -> None:
    project = yaml.safe_load((PLATFORM / "Pulumi.yaml").read_text())
    assert set(project["config"]) == set(CONFIG_KEYS)
    assert all(region in project["config"]["region"]["description"] for region in AI_REGIONS)


def test_pulumi_yaml_matches_pulumis_project_schema() -> None:
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(shared_file("reference/pulumi/project.schema.json").read_text())
    project = yaml.safe_load((PLATFORM / "Pulumi.yaml").read_text())
    jsonschema.validate(project, schema)
    assert project["runtime"]["options"]["virtualenv"] == "../.venv"
    assert (PLATFORM / project["runtime"]["options"]["virtualenv"]).resolve() == (REPO / ".venv").resolve()


def test_pulumi_ovh_is_pinned_and_installed_at_the_pin() -> None:
    import importlib.metadata

    pins = [line.split("==")[1].strip() for line in (REPO / "requirements.txt").read_text().splitlines()
            if line.startswith("pulumi-ovh==")]
    assert pins == [importlib.metadata.version("pulumi_ovh")]


# --- the program under mocks --------------------------------------------------------------------


def test_there_is_a_stack_per_ai_region() -> None:
    regions = {yaml.safe_load((PLATFORM / f"Pulumi.{s}.yaml").read_text())["config"]["platform:region"]
               for s in STACKS}
    assert STACKS == ["bhs", "gra"] and regions == set(AI_REGIONS)


@pytest.mark.parametrize("stack", STACKS)
def test_each_stack_declares_the_ovh_resources_with_the_plans_inputs(
    stack: str, runs: dict[str, ProgramRun],
) -> None:
    run = runs[stack]
    plan = plan_platform({k.split(":", 1)[1]: v for k, v in stack_config(PLATFORM, stack).items()
                          if k.startswith("platform:")}, stack=stack)
    kinds = sorted(r.typ for r in run.mocks.resources if r.typ.startswith("ovh:"))
    assert kinds == sorted([USER, CREDENTIAL, BUCKET, POLICY])
    [user] = run.mocks.of_kind(USER)
    [credential] = run.mocks.of_kind(CREDENTIAL)
    [bucket] = run.mocks.of_kind(BUCKET)
    [policy] = run.mocks.of_kind(POLICY)
    assert user.inputs == {"description": plan.user_description, "roleNames": ["objectstore_operator"]}
    assert credential.inputs == {"userId": "42"}
    assert bucket.inputs == {"regionName": plan.region, "name": plan.bucket, "hideObjects": True,
                             "encryption": {"sseAlgorithm": "AES256"}}
    assert policy.inputs == {"userId": "42", "policy": plan.policy}
    assert json.loads(policy.inputs["policy"]) == json.loads(bucket_policy(plan.bucket, plan.cache_prefix))


def test_the_bucket_is_protected_and_the_policy_waits_for_it(runs: dict[str, ProgramRun]) -> None:
    # The mocks do not see options; the program's resource objects do.
    namespace = runs["gra"].namespace
    assert namespace["bucket"]._protect is True
    assert namespace["policy"]._name == "cache-bucket-policy"


@pytest.mark.parametrize("stack", STACKS)
def test_the_outputs_are_what_a_model_stack_reads_with_the_credentials_secret(
    stack: str, runs: dict[str, ProgramRun],
) -> None:
    run = runs[stack]
    region = yaml.safe_load((PLATFORM / f"Pulumi.{stack}.yaml").read_text())["config"]["platform:region"]
    bucket = run.mocks.of_kind(BUCKET)[0].inputs["name"]
    assert run.outputs == {
        "bucket": bucket, "region": region, "alias": f"S3{region}",
        "s3Endpoint": f"https://s3.{region.lower()}.io.cloud.ovh.net", "cachePrefix": "models",
        "volumeSource": f"{bucket}@S3{region}/models",
        "accessKeyId": ACCESS_KEY, "secretAccessKey": SECRET_KEY, "serviceName": ENV_PROJECT,
    }
    assert not run.mocks.of_kind(ALIAS)  # the region's default alias: nothing to register
    assert {k for k, secret in run.secret.items() if secret} == {"accessKeyId", "secretAccessKey"}
    assert not any(SECRET_KEY in line or ACCESS_KEY in line for line in run.logs)


def test_a_service_name_reaches_every_resource_and_the_outputs() -> None:
    run = run_platform("gra", serviceName="0123456789abcdef0123456789abcdef")
    assert {r.inputs.get("serviceName") for r in run.mocks.resources if r.typ.startswith("ovh:")} == {
        "0123456789abcdef0123456789abcdef"}
    assert run.outputs["serviceName"] == "0123456789abcdef0123456789abcdef"
    assert run.secret["serviceName"] is False


@pytest.mark.parametrize("stack", STACKS)
def test_a_customer_alias_is_registered_with_the_cache_users_keys(stack: str) -> None:
    run = run_platform(stack, datastoreAlias="vllm-cache", serviceName="0123456789abcdef0123456789abcdef")
    region = run.mocks.of_kind(BUCKET)[0].inputs["regionName"]
    [alias] = run.mocks.of_kind(ALIAS)
    assert alias.name == "cache-datastore-alias"
    assert {k: v for k, v in alias.inputs.items() if k != "credentials"} == {
        "alias": "vllm-cache", "region": region, "endpoint": f"https://s3.{region.lower()}.io.cloud.ovh.net",
        "owner": "customer", "type": "s3", "serviceName": "0123456789abcdef0123456789abcdef"}
    # The S3 user's own key pair (pulumi-ovh's S3Credential outputs), secret as a whole.
    assert alias.inputs["credentials"] == {"accessKey": ACCESS_KEY, "secretKey": SECRET_KEY,
                                           "region": region.lower()}
    assert "credentials" in alias.secret_inputs
    # Outputs unchanged in name; the alias is the registered one.
    assert run.outputs["alias"] == "vllm-cache"
    assert run.outputs["volumeSource"].endswith("@vllm-cache/models")
    assert set(run.outputs) == {"bucket", "region", "alias", "s3Endpoint", "cachePrefix", "volumeSource",
                                "accessKeyId", "secretAccessKey", "serviceName"}
    assert {k for k, secret in run.secret.items() if secret} == {"accessKeyId", "secretAccessKey"}
    assert not any(SECRET_KEY in line for line in run.logs)


def test_without_service_name_the_alias_and_the_output_take_the_project_pulumi_ovh_resolved() -> None:
    run = run_platform("gra", datastoreAlias="vllm-cache")
    assert run.mocks.of_kind(ALIAS)[0].inputs["serviceName"] == ENV_PROJECT
    assert run.outputs["serviceName"] == ENV_PROJECT


def test_bad_config_fails_before_any_resource_naming_the_key() -> None:
    with pytest.raises(Exception, match=r"platform:region: 'SBG' is not an AI Deploy region") as caught:
        run_platform("gra", region="SBG")
    assert "pulumi config set region GRA" in str(caught.value)


def test_the_stack_files_hold_no_secret_in_plain_text() -> None:
    for path in sorted(Path(PLATFORM).glob("Pulumi.*.yaml")):
        config = yaml.safe_load(path.read_text())["config"]
        assert not any(word in key.lower() for key in config
                       for word in ("secret", "password", "consumerkey", "token")), path
