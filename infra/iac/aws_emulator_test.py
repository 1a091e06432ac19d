"""`terraform apply`, deploy, roll back and `destroy` of infra/envs/aws, offline, against an
emulated AWS account (moto's server on loopback), with the real Terraform engine and the real
AWS provider from the filesystem mirror at TF_PLUGIN_DIR (skipped without it).

The production configuration is unchanged: the test writes, into its own copy of infra/,

- an override file for the root module that points the AWS provider's endpoints at the
  emulator (path-style S3, no credential, account or metadata look-ups), and the emulator's
  endpoints in the backend file infra:backend writes from the variables (state bucket and lock
  table created first, as the README's prerequisites do);
- overrides that do not create what the emulator cannot serve (see infra/README.md, "The
  offline AWS account"); envs/aws/tests covers these with a mocked provider instead:
  - the MWAA environment: the provider sends MWAA calls to api.<endpoint host>, which no
    loopback address resolves;
  - the serve service's autoscaling target and policy: moto 5.2 answers Application Auto
    Scaling's ListTagsForResource with an internal error, and the provider retries it forever.
  And it applies without the MWAA bundle (mwaa_bundle_dir unset, the default), so no object is
  written into a bucket: moto evaluates a bucket policy without its conditions, so the buckets'
  TLS-only Deny (aws:SecureTransport false) refuses every object request.

Then it checks the applied account with the AWS SDK, the CI roles' policies against the calls
each workflow job makes (iac.ci_permissions), and that destroy leaves nothing behind.
"""

from __future__ import annotations

import fnmatch
import functools
import hashlib
import json
import os
import re
import shlex
import shutil
import subprocess
import tarfile
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml

from iac.airflow_permissions import ECS_STAGE_CALLS, TRAINING_CALLS, UNSCOPED_RUNNER_ACTIONS
from iac.backend import write_backend
from iac.ci_permissions import JOB_CALLS, READ_ACTIONS, ROLE_JOBS, UNSCOPED_ACTIONS
from iac.conftest import AIRFLOW_REQUIREMENTS, INFRA
from iac.engine import find_engine
from loopback.ports import free_port
from model_registry.store import open_store
from serve.smoke import smoke
from serve.sources import ALLOWANCE_ENV, DATA_ENV, MODEL_VERSION, ONLINE_STORE, STATS, location
from storage.digest import sha256_of_stream, tree_sha256
from tests.aws_emulator import (
    ACCOUNT_ID,
    REGION,
    Emulator,
    EmulatorNotRunning,
    check_reachable,
    running_emulator,
)
from tests.serving.harness import build_data, register_model, server_env, third_party_path
from tests.workflow_steps import git, run_step, step_script
from tools.releases import SERVED_MARK

PLUGIN_DIR = os.environ.get("TF_PLUGIN_DIR", "")

# The tests of the platform need the provider; the plain checks below run without it.
PROVIDER_MIRRORED = bool(
    PLUGIN_DIR and any(Path(PLUGIN_DIR).glob("registry.terraform.io/hashicorp/aws/*"))
)

# Every AWS API the environment's resources use, by the provider's `endpoints` name.
PROVIDER_ENDPOINTS = (
    "applicationautoscaling",
    "ec2",
    "ecr",
    "ecs",
    "elbv2",
    "iam",
    "kms",
    "logs",
    "mwaa",
    "s3",
    "ssm",
    "sts",
    "wafv2",
)
STATE_BUCKET = "acme-tfstate"
STATE_KEY = "ml-platform/aws/terraform.tfstate"
LOCK_TABLE = "acme-tfstate-lock"
PREFIX = "acme-mlp"
NAME = "ml-platform-dev"
FIRST = "sha256:" + "a" * 64
# The pipeline's tasks on ECS from MWAA, with training on SageMaker: the stage task definitions
# named each way the variable takes them.
PIPELINE_CLUSTER = "ml-platform-dev-pipeline"
PIPELINE_TASK_DEFINITIONS = {
    "ingest": "flight-delay-ingest",
    "feature": "flight-delay-feature:3",
    "train": f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}:task-definition/flight-delay-train:7",
}
PIPELINE_TASK_ROLES = [
    f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform-dev-pipeline-task",
    f"arn:aws:iam::{ACCOUNT_ID}:role/ml-platform-dev-pipeline-execution",
]
PIPELINE_ECS = (
    f'{{cluster = "{PIPELINE_CLUSTER}", '
    f"task_definitions = {json.dumps(PIPELINE_TASK_DEFINITIONS)}, "
    f"task_role_arns = {json.dumps(PIPELINE_TASK_ROLES)}, "
    f'training = {{image = "{ACCOUNT_ID}.dkr.ecr.{REGION}.amazonaws.com/ml-platform-dev/train:v1", '
    'instance_type = "ml.m5.xlarge"}}'
)
# moto runs no containers; its ECS services report this many running tasks, so that the
# provider's wait for a steady state (wait_for_steady_state) sees the min_tasks it asked for.
RUNNING_TASKS = 2


def provider_override(endpoint: str) -> str:
    endpoints = "\n".join(f'    {name} = "{endpoint}"' for name in PROVIDER_ENDPOINTS)
    return (
        "# Written by aws_emulator_test.py into its copy of infra/: the emulated account.\n"
        'provider "aws" {\n'
        "  skip_credentials_validation = true\n"
        "  skip_requesting_account_id  = true\n"
        "  skip_metadata_api_check     = true\n"
        "  s3_use_path_style           = true\n"
        f"  endpoints {{\n{endpoints}\n  }}\n"
        "}\n"
    )


def emulator_backend(endpoint: str) -> str:
    """What backend.hcl adds, for the emulator, to the settings infra:backend writes from the
    variables."""
    return (
        "use_path_style = true\n"
        "skip_credentials_validation = true\n"
        "skip_requesting_account_id  = true\n"
        "skip_metadata_api_check     = true\n"
        f'endpoints = {{\n  s3 = "{endpoint}"\n  dynamodb = "{endpoint}"\n'
        f'  sts = "{endpoint}"\n  iam = "{endpoint}"\n}}\n'
    )


# MWAA's API is out of the emulator's reach (see the module docstring).
MWAA_OVERRIDE = """\
# Written by aws_emulator_test.py: the emulator cannot serve MWAA; envs/aws/tests mocks it.
resource "aws_mwaa_environment" "this" {
  count = 0
}

# Its bucket's TLS-only Deny refuses the upload here (see the module docstring).
resource "aws_s3_object" "startup_script" {
  count = 0
}

output "webserver_url" {
  value = "not created against the emulator"
}
"""


SERVE_OVERRIDE = """\
# Written by aws_emulator_test.py: moto fails Application Auto Scaling's ListTagsForResource;
# envs/aws/tests mocks these two.
resource "aws_appautoscaling_target" "this" {
  count = 0
}

resource "aws_appautoscaling_policy" "cpu" {
  count              = 0
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
}
"""


@dataclass
class Platform:
    """The environment applied to the emulated account."""

    emulator: Emulator
    directory: Path
    environ: dict[str, str]
    variables: dict[str, str]
    destroyed: bool = False
    outputs: dict[str, Any] = field(default_factory=dict)

    def terraform(self, *args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        """Run Terraform in the environment; its output also goes to terraform.log beside the
        copy of infra/, to follow a long apply while it runs."""
        log = self.directory.parents[2] / "terraform.log"
        with log.open("a") as sink:
            sink.write(f"\n$ terraform {' '.join(args)}\n")
            sink.flush()
            process = subprocess.Popen(
                [*find_engine().argv, f"-chdir={self.directory}", *args],
                env=self.environ,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            lines: list[str] = []
            assert process.stdout is not None
            for line in process.stdout:
                lines.append(line)
                sink.write(line)
                sink.flush()
            stderr = process.stderr.read() if process.stderr else ""
            sink.write(stderr)
            code = process.wait()
        result = subprocess.CompletedProcess(args, code, "".join(lines), stderr)
        if check and code != 0:
            raise AssertionError(f"terraform {args[0]} failed:\n{result.stdout}\n{stderr}")
        return result

    def var_args(self, **extra: str) -> list[str]:
        return [f"-var={name}={value}" for name, value in {**self.variables, **extra}.items()]

    def var_environ(self) -> dict[str, str]:
        """The variables as TF_VAR_s, as a job's terraform.tfvars would give them."""
        return {f"TF_VAR_{name}": value for name, value in self.variables.items()}

    def state(self) -> dict[str, Any]:
        shown: dict[str, Any] = json.loads(self.terraform("show", "-json").stdout)
        return shown

    def service_task(self) -> tuple[dict[str, Any], dict[str, Any]]:
        """The serve service, and the task definition it runs."""
        ecs = self.emulator.client("ecs")
        (service,) = ecs.describe_services(cluster=f"{NAME}-serve", services=[f"{NAME}-serve"])[
            "services"
        ]
        definition = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
        return service, definition["taskDefinition"]

    def service_containers(self) -> dict[str, dict[str, Any]]:
        """The containers of the task definition the serve service runs, by name."""
        _, definition = self.service_task()
        return {c["name"]: c for c in definition["containerDefinitions"]}

    def service_image(self) -> str:
        """The image every container of the serve service's task runs."""
        (image,) = {c["image"] for c in self.service_containers().values()}
        return str(image)


def resources(module: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
    """Every resource and data source of a `terraform show -json` module, depth first."""
    yield from module.get("resources", [])
    for child in module.get("child_modules", []):
        yield from resources(child)


@pytest.fixture(scope="module")
def platform(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Platform]:
    if not PROVIDER_MIRRORED:
        pytest.skip("set TF_PLUGIN_DIR to a filesystem mirror holding the hashicorp/aws provider")
    root = tmp_path_factory.mktemp("aws") / "repo"
    shutil.copytree(INFRA, root / "infra", ignore=shutil.ignore_patterns(".terraform", "*.tfstate"))
    (root / AIRFLOW_REQUIREMENTS).parent.mkdir(parents=True)
    shutil.copy(Path.cwd() / AIRFLOW_REQUIREMENTS, root / AIRFLOW_REQUIREMENTS)
    directory = root / "infra" / "envs" / "aws"

    with running_emulator({"MOTO_ECS_SERVICE_RUNNING": str(RUNNING_TASKS)}) as emulator:
        # What infra/README.md asks for before the first init: the state bucket and lock
        # table, and an issued certificate.
        emulator.client("s3").create_bucket(Bucket=STATE_BUCKET)
        emulator.client("dynamodb").create_table(
            TableName=LOCK_TABLE,
            BillingMode="PAY_PER_REQUEST",
            AttributeDefinitions=[{"AttributeName": "LockID", "AttributeType": "S"}],
            KeySchema=[{"AttributeName": "LockID", "KeyType": "HASH"}],
        )
        certificate = emulator.client("acm").request_certificate(DomainName="api.example.com")
        (directory / "emulator_override.tf").write_text(provider_override(emulator.endpoint))
        for module, override in (("mwaa", MWAA_OVERRIDE), ("serve", SERVE_OVERRIDE)):
            (root / "infra" / "modules" / module / "emulator_override.tf").write_text(override)
        cli_config = root / "terraform.rc"
        mirror = f'  filesystem_mirror {{\n    path = "{PLUGIN_DIR}"\n  }}\n'
        cli_config.write_text(f"provider_installation {{\n{mirror}}}\n")
        environ = emulator.environ()
        environ.update({"TF_CLI_CONFIG_FILE": str(cli_config), "TF_IN_AUTOMATION": "1"})
        environ.pop("TF_WORKSPACE", None)
        platform = Platform(
            emulator,
            directory,
            environ,
            {
                "bucket_prefix": PREFIX,
                "github_repository": "acme/ml-platform",
                "certificate_arn": certificate["CertificateArn"],
                "terraform_state_bucket": STATE_BUCKET,
                "terraform_state_key": STATE_KEY,
                "terraform_state_lock_table": LOCK_TABLE,
                # So that destroy can remove the load balancer and the buckets.
                "deletion_protection": "false",
                "pipeline_ecs": PIPELINE_ECS,
            },
        )
        # The backend's bucket, key, region and table, as every init of the environment
        # takes them: written by infra:backend from the variables.
        backend = write_backend(directory, platform.var_environ())
        with backend.open("a") as file:
            file.write(emulator_backend(emulator.endpoint))
        platform.terraform("init", "-input=false", "-no-color", f"-backend-config={backend.name}")
        platform.terraform(
            "apply",
            "-input=false",
            "-auto-approve",
            "-no-color",
            *platform.var_args(serve_image_digest=FIRST),
        )
        platform.outputs = {
            name: output["value"]
            for name, output in json.loads(platform.terraform("output", "-json").stdout).items()
        }
        try:
            yield platform
        finally:
            if not platform.destroyed:
                platform.terraform(
                    "destroy", "-auto-approve", "-no-color", *platform.var_args(), check=False
                )


def test_an_emulator_that_is_not_running_is_named() -> None:
    endpoint = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(EmulatorNotRunning, match=endpoint):
        check_reachable(endpoint, timeout=2)


def test_apply_creates_the_platform_with_its_outputs(platform: Platform) -> None:
    outputs = platform.outputs
    assert outputs["dvc_remote_url"] == f"s3://{PREFIX}-dev-dvc"
    assert outputs["model_store_url"] == f"s3://{PREFIX}-dev-artifacts/models"
    assert outputs["bucket_names"] == {
        "dvc": f"{PREFIX}-dev-dvc",
        "artifacts": f"{PREFIX}-dev-artifacts",
        "landing": f"{PREFIX}-dev-landing",
    }
    assert outputs["serve_image"] == f"{outputs['ecr_repository_url']}@{FIRST}"
    # The SageMaker training role pulls the train image, from its own repository only.
    assert outputs["train_repository_url"].endswith("/ml-platform-dev/train")
    repositories = {
        r["repositoryName"]: r["repositoryArn"]
        for r in platform.emulator.client("ecr").describe_repositories()["repositories"]
    }
    role = outputs["sagemaker_training_role_arn"].rsplit("/", 1)[1]
    pull = allows(role_statements(platform.emulator, role), "ecr:BatchGetImage")
    assert pull(repositories["ml-platform-dev/train"])
    assert not pull(repositories["ml-platform-dev/serve"])
    s3 = platform.emulator.client("s3")
    names = {bucket["Name"] for bucket in s3.list_buckets()["Buckets"]}
    for purpose in ("dvc", "artifacts", "landing", "logs"):
        bucket = f"{PREFIX}-dev-{purpose}"
        assert bucket in names
        assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
        block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        assert all(block.values())
        policy = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
        (deny,) = (s for s in policy["Statement"] if s.get("Sid") == "DenyInsecureTransport")
        assert deny["Effect"] == "Deny"
        assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    logging = s3.get_bucket_logging(Bucket=f"{PREFIX}-dev-dvc")["LoggingEnabled"]
    assert logging["TargetBucket"] == f"{PREFIX}-dev-logs"
    # The state is in the S3 backend on the emulator.
    state = json.loads(s3.get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read())
    assert state["resources"]


def test_the_serve_task_reads_its_data_from_the_artifacts_bucket(platform: Platform) -> None:
    service, definition = platform.service_task()
    container = platform.service_containers()["serve"]
    environment = {pair["name"]: pair["value"] for pair in container["environment"]}
    # Each model's data under its own version (serve.publish), which the service puts in place.
    serving = f"s3://{PREFIX}-dev-artifacts/serving/{MODEL_VERSION}"
    assert environment["FLIGHT_DELAY_SERVING_DATA"] == serving
    # The server listens where the load balancer sends traffic and health checks.
    (mapping,) = container["portMappings"]
    assert environment["BENTOML_PORT"] == str(mapping["containerPort"])
    elbv2 = platform.emulator.client("elbv2")
    (group,) = elbv2.describe_target_groups(
        TargetGroupArns=[service["loadBalancers"][0]["targetGroupArn"]]
    )["TargetGroups"]
    assert group["Port"] == mapping["containerPort"]
    assert group["HealthCheckPort"] in ("traffic-port", str(mapping["containerPort"]))
    role = definition["taskRoleArn"].rsplit("/", 1)[1]
    read = allows(role_statements(platform.emulator, role), "s3:GetObject")
    assert read(f"arn:aws:s3:::{PREFIX}-dev-artifacts/serving/v1/online_store/online.sqlite")
    assert not read(f"arn:aws:s3:::{PREFIX}-dev-artifacts/models/x")
    assert not read(f"arn:aws:s3:::{PREFIX}-dev-dvc/files/x")


def test_the_pipeline_working_directory_is_encrypted_and_open_to_the_pipeline_only(
    platform: Platform,
) -> None:
    """The EFS file system a SageMaker job and the stage tasks share (orchestration/README.md):
    the platform's key, a mount target in every private subnet, NFS from the pipeline's
    security group only, and an access point at the directory the DAG's settings name."""
    storage = platform.outputs["pipeline_storage"]
    efs = platform.emulator.client("efs")
    ec2 = platform.emulator.client("ec2")
    (file_system,) = efs.describe_file_systems(FileSystemId=storage["file_system_id"])[
        "FileSystems"
    ]
    assert file_system["Encrypted"] is True
    applied = {
        r["address"]: r["values"] for r in resources(platform.state()["values"]["root_module"])
    }
    assert file_system["KmsKeyId"] == applied["module.kms.aws_kms_key.this"]["arn"]
    targets = efs.describe_mount_targets(FileSystemId=storage["file_system_id"])["MountTargets"]
    assert sorted(t["SubnetId"] for t in targets) == sorted(storage["subnet_ids"])
    for target in targets:
        (group,) = efs.describe_mount_target_security_groups(MountTargetId=target["MountTargetId"])[
            "SecurityGroups"
        ]
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
        inbound = [r for r in rules["SecurityGroupRules"] if not r["IsEgress"]]
        assert [
            (r["IpProtocol"], r["FromPort"], r["ToPort"], r["ReferencedGroupInfo"]["GroupId"])
            for r in inbound
        ] == [("tcp", 2049, 2049, storage["security_group_id"])]
    (access_point,) = efs.describe_access_points(FileSystemId=storage["file_system_id"])[
        "AccessPoints"
    ]
    assert access_point["AccessPointId"] == storage["access_point_id"]
    assert access_point["RootDirectory"]["Path"] == storage["directory_path"] == "/pipeline"


def test_ci_trusts_the_aws_environment_of_its_repository_only(platform: Platform) -> None:
    iam = platform.emulator.client("iam")
    for role in ("plan", "deploy"):
        trust = iam.get_role(RoleName=f"{NAME}-github-actions-{role}")["Role"]
        (statement,) = trust["AssumeRolePolicyDocument"]["Statement"]
        condition = statement["Condition"]["StringEquals"]
        assert condition["token.actions.githubusercontent.com:sub"] == (
            "repo:acme/ml-platform:environment:aws"
        )
        assert condition["token.actions.githubusercontent.com:aud"] == "sts.amazonaws.com"


def firewall_rules(platform: Platform) -> dict[str, Any]:
    """The rules of the load balancer's web ACL, by name."""
    waf = platform.emulator.client("wafv2")
    (summary,) = waf.list_web_acls(Scope="REGIONAL")["WebACLs"]
    acl = waf.get_web_acl(Name=summary["Name"], Scope="REGIONAL", Id=summary["Id"])["WebACL"]
    return {rule["Name"]: rule for rule in acl["Rules"]}


def large_body_paths(rules: Mapping[str, Any]) -> str:
    """The regex of the paths the firewall lets large bodies through to."""
    body = rules["body-size-outside-the-api"]
    _, outside = body["Statement"]["AndStatement"]["Statements"]
    return str(outside["NotStatement"]["Statement"]["RegexMatchStatement"]["RegexString"])


def test_the_firewall_limits_the_rate_and_lets_large_bodies_through_to_the_api_only(
    platform: Platform,
) -> None:
    rules = firewall_rules(platform)
    assert rules["rate-limit-per-ip"]["Statement"]["RateBasedStatement"]["AggregateKeyType"] == "IP"
    (override,) = rules["aws-common"]["Statement"]["ManagedRuleGroupStatement"][
        "RuleActionOverrides"
    ]
    assert override["Name"] == "SizeRestrictions_BODY" and "Count" in override["ActionToUse"]
    body = rules["body-size-outside-the-api"]
    assert "Block" in body["Action"]
    label, _ = body["Statement"]["AndStatement"]["Statements"]
    assert label["LabelMatchStatement"]["Key"].endswith("SizeRestrictions_Body")
    # Which paths: exactly the service's API routes, checked against its Bento in the deploy
    # rehearsal (test_a_deploy_rehearsal_...).


def listener_routing(platform: Platform) -> tuple[dict[str, Any], set[str], str]:
    """The HTTPS listener's default action, the paths its one rule forwards to the service, and
    the target group's health check path."""
    elbv2 = platform.emulator.client("elbv2")
    (balancer,) = elbv2.describe_load_balancers()["LoadBalancers"]
    (listener,) = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    (default,) = listener["DefaultActions"]
    rules = elbv2.describe_rules(ListenerArn=listener["ListenerArn"])["Rules"]
    (forward,) = (rule for rule in rules if not rule["IsDefault"])
    (action,) = forward["Actions"]
    assert action["Type"] == "forward"
    (condition,) = forward["Conditions"]
    (group,) = elbv2.describe_target_groups(TargetGroupArns=[action["TargetGroupArn"]])[
        "TargetGroups"
    ]
    paths = condition["PathPatternConfig"]["Values"]
    return default, set(paths), group["HealthCheckPath"]


def test_the_load_balancer_forwards_the_api_and_the_health_probes_only(
    platform: Platform,
) -> None:
    """Any other path gets the load balancer's own 404: /metrics is scraped inside the VPC, and
    a scanner's paths, forwarded, would each be a new endpoint label value of the service's
    request metrics. Which API routes: the Bento's, checked in the deploy rehearsal."""
    default, forwarded, health_check = listener_routing(platform)
    assert default["Type"] == "fixed-response"
    assert default["FixedResponseConfig"]["StatusCode"] == "404"
    assert {"/readyz", "/livez", "/healthz"} <= forwarded
    assert health_check in forwarded
    assert not forwarded & {"/", "/metrics", "/docs.json"}


# Attributes moto reports differently from AWS, so a plan after apply shows an in-place update:
# it drops security group rules' descriptions and prefixes their referenced group with the
# account, and does not echo the ECS service's availability_zone_rebalancing.
MOTO_DRIFT = {
    "module.mwaa.aws_vpc_security_group_egress_rule.postgres",
    "module.mwaa.aws_vpc_security_group_ingress_rule.self",
    "module.pipeline_storage.aws_vpc_security_group_egress_rule.tasks_nfs",
    "module.pipeline_storage.aws_vpc_security_group_ingress_rule.mount_targets_nfs",
    "module.serve.aws_ecs_service.this",
    "module.serve.aws_vpc_security_group_egress_rule.alb_to_tasks",
    "module.serve.aws_vpc_security_group_ingress_rule.tasks_from_alb",
}


def test_a_plan_without_a_digest_keeps_the_live_image(platform: Platform) -> None:
    """No default image tag: a plan (or apply) that names no image keeps the live one."""
    platform.terraform(
        "plan", "-input=false", "-no-color", "-out=keep.tfplan", *platform.var_args()
    )
    plan = json.loads(platform.terraform("show", "-json", "keep.tfplan").stdout)
    changes = {
        change["address"]: change["change"]
        for change in plan["resource_changes"]
        if change["change"]["actions"] != ["no-op"]
    }
    assert set(changes) <= MOTO_DRIFT, sorted(set(changes) - MOTO_DRIFT)
    for change in changes.values():
        assert change["actions"] == ["update"]
    service = changes.get("module.serve.aws_ecs_service.this")
    if service:
        assert service["before"]["task_definition"] == service["after"]["task_definition"]


# --- The deploy rehearsal: the workflows' own steps against the emulated account -------------

# moto weighs a bucket policy's statements without their conditions, so the TLS-only Deny
# (aws:SecureTransport false) refuses every object request, over TLS or not. For the rehearsal,
# once test_apply_creates_the_platform_with_its_outputs has checked the Deny on the applied
# buckets, this override, in the test's copy of infra/ only, puts in its place a statement moto
# does not weigh (it takes only statements whose principal is "*" into account). The
# configuration itself always denies plain HTTP; nothing else writes this file.
S3_POLICY_OVERRIDE = f"""\
# Written by aws_emulator_test.py for the deploy rehearsal: moto ignores the TLS-only Deny's
# condition, so it would refuse every object request. Never part of the configuration.
data "aws_iam_policy_document" "tls_only" {{
  statement {{
    sid       = "EmulatorHasNoTransportToCheck"
    effect    = "Allow"
    actions   = ["s3:GetObject"]
    resources = ["${{aws_s3_bucket.this.arn}}/*"]
    principals {{
      type        = "AWS"
      identifiers = ["arn:aws:iam::{ACCOUNT_ID}:root"]
    }}
  }}
}}
"""

# What the pipeline writes under data/ and DVC tracks (the stand-in for `./pants run //:main`).
PIPELINE_OUTPUTS = ("landing", "curated", "features", "online_store")
# The image of the model promoted before the rehearsal's (no Docker here: ECR holds manifests).
PREVIOUS_IMAGE = "flight-delay-previous"


# What `./pants run` runs for the workflows' steps (DVC) and the serve artifact, whose `build`
# the main job runs and the deploy job's `publish` (from dist/, where its `./pants package`
# puts it): the artifacts, as `./pants package` writes them (runtime_package_dependencies in
# BUILD).
ARTIFACTS = {
    "//:dvc": Path("dvc.pex").resolve(),
    "services/serve:serve": Path("services.serve/serve.pex/__main__.py").resolve(),
}


def workflow_runner(checkout: Path) -> None:
    """`./pants` in `checkout`, for the `./pants run <target> -- <args>` the deploy and
    andon-cord steps call: infra:terraform (the engine this test runs) and the DVC artifact; and
    the serve artifact in `checkout`'s dist/, where the deploy job's `./pants package` puts it
    for the steps that run it."""
    serve = ARTIFACTS["services/serve:serve"].parent
    packaged = checkout / "dist" / serve.parent.name / serve.name
    packaged.parent.mkdir(parents=True, exist_ok=True)
    packaged.symlink_to(serve, target_is_directory=True)
    runner = checkout / "pants"
    runner.write_text(
        "#!/usr/bin/env bash\n"
        "# Written by aws_emulator_test.py: ./pants run <target> -- <args> of the workflows.\n"
        "set -euo pipefail\n"
        'target="$2"\n'
        "shift 3\n"
        'case "$target" in\n'
        f'  infra:terraform) exec {shlex.join(find_engine().argv)} "$@" ;;\n'
        f'  //:dvc) exec {shlex.quote(str(ARTIFACTS["//:dvc"]))} "$@" ;;\n'
        '  *) echo "the rehearsal does not run $target" >&2; exit 2 ;;\n'
        "esac\n"
    )
    runner.chmod(0o755)


def dvc(checkout: Path, environ: Mapping[str, str], *args: str) -> None:
    result = subprocess.run(
        [str(checkout / "pants"), "run", "//:dvc", "--", *args],
        cwd=checkout,
        env=dict(environ),
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, f"dvc {' '.join(args)}:\n{result.stdout}\n{result.stderr}"


def push_image(emulator: Emulator, repository: str, tag: str) -> str:
    """An image manifest tagged `tag` in the ECR repository; its digest."""
    layer = {
        "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
        "size": 1,
        "digest": "sha256:" + hashlib.sha256(tag.encode()).hexdigest(),
    }
    manifest = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
        "config": {**layer, "mediaType": "application/vnd.docker.container.image.v1+json"},
        "layers": [layer],
    }
    image = emulator.client("ecr").put_image(
        repositoryName=repository, imageManifest=json.dumps(manifest), imageTag=tag
    )["image"]
    digest: str = image["imageId"]["imageDigest"]
    return digest


def lifecycle_rule(policy: Mapping[str, Any], tags: list[str]) -> dict[str, Any] | None:
    """The rule of an ECR lifecycle policy that decides an image with these tags: the first,
    by priority, whose tag selection takes it (a later rule never expires it). Only the
    selections the platform's policy uses."""
    for rule in sorted(policy["rules"], key=lambda rule: rule["rulePriority"]):
        selection = rule["selection"]
        status = selection["tagStatus"]
        if (
            status == "any"
            or (status == "untagged" and not tags)
            or (
                status == "tagged"
                and any(tag.startswith(p) for tag in tags for p in selection["tagPrefixList"])
            )
        ):
            return dict(rule)
    return None


def lifecycle_expires(policy: Mapping[str, Any], pushed: list[list[str]]) -> list[int]:
    """Which of the images, given by their tags oldest push first, the policy expires (their
    indexes): each image is counted by the rule that decides it, and an `imageCountMoreThan`
    rule expires all but the newest `countNumber` of its images."""
    decided: dict[int, list[int]] = {}
    for index, tags in enumerate(pushed):
        rule = lifecycle_rule(policy, tags)
        assert rule is not None, f"no rule decides an image tagged {tags}"
        assert rule["selection"]["countType"] == "imageCountMoreThan" or not tags, rule
        decided.setdefault(rule["rulePriority"], []).append(index)
    rules = {rule["rulePriority"]: rule for rule in policy["rules"]}
    expired: list[int] = []
    for priority, images in decided.items():
        selection = rules[priority]["selection"]
        if selection["countType"] == "imageCountMoreThan":
            expired += images[: max(0, len(images) - selection["countNumber"])]
    return sorted(expired)


def repository_policy(platform: Platform) -> dict[str, Any]:
    """The lifecycle policy of the serve image's repository, as the account holds it."""
    repository = platform.outputs["ecr_repository_url"].split("/", 1)[1]
    text = platform.emulator.client("ecr").get_lifecycle_policy(repositoryName=repository)
    policy: dict[str, Any] = json.loads(text["lifecyclePolicyText"])
    return policy


def test_served_images_outlive_any_number_of_newer_pushes_that_never_served(
    platform: Platform,
) -> None:
    """The deploy job marks the image it rolled out `served-<tag>` (releases.SERVED_MARK):
    pushes whose rollout failed expire past the newest 30, and cannot expire the live image or
    one the andon cord would restore."""
    policy = repository_policy(platform)
    served = [[f"flight-delay-v{n}", f"{SERVED_MARK}flight-delay-v{n}"] for n in range(5)]
    failed = [[f"flight-delay-failed{n}"] for n in range(40)]
    assert lifecycle_expires(policy, served + failed) == list(range(5, 15))
    # Marked images expire only past the newest 100 of them.
    many = [[f"{SERVED_MARK}flight-delay-v{n}"] for n in range(103)]
    assert lifecycle_expires(policy, many + failed) == [0, 1, 2, *range(103, 113)]
    # An image pushed without a tag (a layer of a failed push) is decided by the first rule.
    untagged = lifecycle_rule(policy, [])
    assert untagged is not None and untagged["selection"]["countType"] == "sinceImagePushed"


def on_this_machine(value: str, mounts: Mapping[str, Path]) -> str:
    """`value`, with a path inside one of the task's volumes moved to the volume's local
    directory."""
    for inside, outside in mounts.items():
        if value == inside or value.startswith(inside.rstrip("/") + "/"):
            return str(outside) + value[len(inside.rstrip("/")) :]
    return value


def test_a_deploy_rehearsal_serves_what_the_pipeline_pushed_then_the_andon_cord_rolls_back(
    platform: Platform, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 18's rehearsal, with the workflows' own step scripts (main.yml's deploy and
    record-promotion jobs, andon-cord.yml's rollback job) and the real AWS CLI, DVC, Terraform
    and Bento, against the emulated account:

    1. the checkout that ran the pipeline (the copy of the repo the environment was applied
       from) reads the environment's addresses, pushes its outputs with DVC and syncs its model
       store to the artifacts bucket; a fresh clone pulls both back, byte for byte;
    2. the clone decides the release, publishes the online store and statistics under the
       model's version in s3://<artifacts>/serving and builds the Bento of the promoted model;
    3. the rollout step applies module.serve with the image's digest (a previous image first);
    4. the serve task definition is read from Terraform's state, and the Bento is served with
       exactly its environment (its volume mounted at a local directory, the endpoint at the
       emulator) and its task role's credentials: /readyz, then a prediction by that model;
    5. the andon cord reads the image in service from SSM and ECR, picks the promotion before
       it, finds its digest in ECR and re-deploys it: the service's task definition points at
       it again.
    """
    if not shutil.which("aws"):
        pytest.skip("the deploy job's steps call the AWS CLI (`aws`), which is not on PATH")
    emulator = platform.emulator
    source = platform.directory.parents[2]
    override = platform.directory.parents[1] / "modules" / "s3_bucket" / "emulator_override.tf"
    override.write_text(S3_POLICY_OVERRIDE)
    # Only the buckets: the rest would meet moto's drift (MOTO_DRIFT), which it cannot update.
    buckets = ("-target=module.log_bucket", "-target=module.bucket")
    platform.terraform(
        "apply", "-input=false", "-auto-approve", "-no-color", *buckets, *platform.var_args()
    )

    # The deploy job's environment: the variables its terraform.tfvars gives it (on CI, the
    # aws environment's TERRAFORM_TFVARS) and the AWS credentials of its role.
    environ = {**platform.environ, **platform.var_environ()}
    deploy = functools.partial(step_script, "main.yml", "deploy")
    restore = deploy(name="Restore the model store and the pipeline's data")
    workflow_runner(source)
    git(source, "init", "-q")
    dvc(source, environ, "init", "-q")
    git(source, "add", ".dvc", ".dvcignore")
    git(source, "commit", "-qm", "dvc init")

    # 1. Push the pipeline's outputs; pull them into a fresh clone.
    addresses = run_step(deploy(step_id="aws"), source, environ)
    assert addresses == {
        "ecr": platform.outputs["ecr_repository_url"],
        "models": f"s3://{PREFIX}-dev-artifacts/models",
        "dvc": f"s3://{PREFIX}-dev-dvc",
        "serving": f"s3://{PREFIX}-dev-artifacts/serving/{MODEL_VERSION}",
    }
    stores = {**environ, "MODELS": addresses["models"], "DVC_REMOTE": addresses["dvc"]}
    run_step(restore, source, stores)  # nothing stored yet
    _, features, _ = build_data(source / "data")
    # open_store makes the first checkout's store this process's (undone after the test).
    monkeypatch.delenv("BENTOML_HOME", raising=False)
    model = register_model(features, open_store(source / "build" / "bentoml"), tmp_path / "fit")
    dvc(source, environ, "add", *(f"data/{name}" for name in PIPELINE_OUTPUTS))
    git(source, "add", "data")
    git(source, "commit", "-qm", "the pipeline's outputs")
    run_step(deploy(name="Keep the model store and the pipeline's data"), source, stores)

    clone = tmp_path / "clone"
    git(tmp_path, "clone", "-q", str(source), str(clone))
    workflow_runner(clone)
    run_step(restore, clone, stores)
    tracked = (*(f"data/{name}" for name in PIPELINE_OUTPUTS), "build/bentoml/models")
    pushed = tree_sha256(source, *tracked)
    assert "data/online_store/online.sqlite" in pushed and "data/features/stats.json" in pushed
    assert tree_sha256(clone, *tracked) == pushed

    # 2. The release, the serving data and the Bento, from the clone.
    registry = clone / "data" / "evaluation" / "registry.json"
    registry.parent.mkdir()
    # The evaluate stage's record of the gate's decision (stand-in: the model registered above).
    registry.write_text(json.dumps({"promoted": model, "decision": {"reason": "rehearsal"}}))
    release = run_step(deploy(step_id="release"), clone, environ)
    image_tag = model.replace(":", "-")
    assert release == {
        "deploy": "true",
        "image_tag": image_tag,
        "served_tag": SERVED_MARK + image_tag,
        "model": model,
    }
    publish = deploy(name="Publish the serving data")
    published = {**environ, "SERVING": addresses["serving"], "MODEL": model}
    run_step(publish, clone, published)
    artifacts = emulator.client("s3")
    # Where the service reads them (serve.sources), not where the workflow says it wrote them.
    served_from = location(model.split(":")[1], {DATA_ENV: addresses["serving"]})
    bucket, prefix = served_from.removeprefix("s3://").split("/", 1)
    for name in (ONLINE_STORE, STATS):
        uploaded = artifacts.get_object(Bucket=bucket, Key=f"{prefix}/{name}")
        assert sha256_of_stream(uploaded["Body"]) == pushed[f"data/{name}"]
    # A retried deploy publishes nothing new; other data for a published version is refused.
    run_step(publish, clone, published)
    stats = clone / "data" / STATS
    kept = stats.read_bytes()
    # Statistics the service loads (publish refuses others first), with another threshold.
    stats.write_text(json.dumps({**json.loads(kept), "psi_threshold": 0.3}))
    with pytest.raises(AssertionError, match="is never replaced"):
        run_step(publish, clone, published)
    stats.write_bytes(kept)
    # The Bento, built by the serve artifact as the main job runs it.
    home = clone / "build" / "bentoml"
    builder = subprocess.run(
        [str(ARTIFACTS["services/serve:serve"]), "build"],
        cwd=clone,
        env=server_env(home, clone / "data"),
        capture_output=True,
        text=True,
    )
    assert builder.returncode == 0, builder.stdout + builder.stderr
    bento_tag = builder.stdout.strip().splitlines()[-1]
    # The Bento with its models, as `bentoml containerize` puts it into the image: the store
    # keeps a Bento's models apart, in the model store of the BENTOML_HOME that built it.
    archive = tmp_path / "bento.tar"
    exported = subprocess.run(
        [str(ARTIFACTS["services/serve:serve"]), "export", bento_tag, str(archive)],
        # The bentoml CLI from the serve artifact, as the deploy job runs `containerize`.
        env={**server_env(home, clone / "data"), "PEX_SCRIPT": "bentoml"},
        capture_output=True,
        text=True,
    )
    assert exported.returncode == 0, exported.stdout + exported.stderr
    with tarfile.open(archive) as packed:
        packed.extractall(tmp_path / "image", filter="data")
    (bento_file,) = (tmp_path / "image").rglob("bento.yaml")
    bento = bento_file.parent
    assert list((bento / "models").rglob("model.yaml")), "the Bento carries no model"
    # The firewall lets large request bodies through to exactly the routes the Bento serves as
    # its API, not to BentoML's health and metrics paths.
    api = {route["route"] for route in yaml.safe_load(bento_file.read_text())["schema"]["routes"]}
    paths = api | {"/", "/livez", "/readyz", "/metrics", "/docs.json"}
    allowed = re.compile(large_body_paths(firewall_rules(platform)))
    assert {path for path in paths if allowed.search(path)} == api
    # The load balancer forwards those routes and the health probes, nothing else of the Bento.
    _, forwarded, _ = listener_routing(platform)
    assert forwarded == api | {"/readyz", "/livez", "/healthz"}

    # 3. Roll out the previous image, then the new one, recording each promotion as the
    # record-promotion job does (the clone's origin is the pipeline's checkout).
    repository = addresses["ecr"].split("/", 1)[1]
    rollout = deploy(name="Roll the image out on ECS")
    mark = deploy(name="Mark the image as served")
    ecr = emulator.client("ecr")
    lifecycle = repository_policy(platform)
    record = step_script("main.yml", "record-promotion", name="Record the promotion")
    digests = {}
    for day, (image, promoted) in enumerate(
        ((PREVIOUS_IMAGE, "flight-delay:previous"), (release["image_tag"], model)), start=1
    ):
        digests[image] = push_image(emulator, repository, image)
        pushed = {**environ, "DIGEST": digests[image]}
        run_step(rollout, source, pushed)
        assert platform.service_image() == f"{addresses['ecr']}@{digests[image]}"
        # Marked served, a second tag of the same image, which the lifecycle policy keeps.
        marked = {**pushed, "ECR": addresses["ecr"], "SERVED_TAG": SERVED_MARK + image}
        for _ in range(2):  # a re-run finds the mark there
            run_step(mark, source, marked)
        (details,) = ecr.describe_images(
            repositoryName=repository, imageIds=[{"imageDigest": digests[image]}]
        )["imageDetails"]
        assert sorted(details["imageTags"]) == [image, SERVED_MARK + image]
        kept_by = lifecycle_rule(lifecycle, details["imageTags"])
        assert kept_by is not None and kept_by["selection"]["tagStatus"] == "tagged"
        when = {"GIT_COMMITTER_DATE": f"2026-01-0{day}T00:00:00Z"}
        run_step(record, clone, {**environ, **when, "IMAGE_TAG": image, "MODEL": promoted})

    # 4. Serve the Bento as the task definition in Terraform's state runs it.
    (definition,) = (
        instance["values"]
        for instance in resources(platform.state()["values"]["root_module"])
        if instance["address"] == "module.serve.aws_ecs_task_definition.this"
    )
    containers = {c["name"]: c for c in json.loads(definition["container_definitions"])}
    container = containers["serve"]
    assert container["image"] == f"{addresses['ecr']}@{digests[release['image_tag']]}"
    mounts = {
        m["containerPath"]: tmp_path / "volumes" / m["sourceVolume"]
        for m in container["mountPoints"]
    }
    for volume in mounts.values():
        volume.mkdir(parents=True)
    # The root filesystem is read-only and Fargate mounts volumes owned by root: before the
    # server starts, a container of its image, as root, gives them to the user the image runs as.
    owner = containers["scratch-owner"]
    user = re.findall(r"^USER (\S+)$", (bento / "env/docker/Dockerfile").read_text(), re.M)[-1]
    assert container["readonlyRootFilesystem"] and owner["user"] == "0"
    assert owner["entryPoint"] == ["chown", f"{user}:{user}", *mounts]
    assert owner["mountPoints"] == container["mountPoints"]
    assert container["dependsOn"] == [{"containerName": "scratch-owner", "condition": "SUCCESS"}]
    task_environment = {
        pair["name"]: on_this_machine(pair["value"], mounts) for pair in container["environment"]
    }
    assert task_environment["FLIGHT_DELAY_SERVING_DATA"] == addresses["serving"]
    role = emulator.assume_role(definition["task_role_arn"], session_name="serve-task")
    served = emulator.environ(credentials=role)
    served.update({"PYTHONPATH": third_party_path(), "BENTOML_DO_NOT_TRACK": "true"})
    served.update(task_environment)
    # The smoke example leaves in November, past this test's January store by more than the
    # default allowance.
    served[ALLOWANCE_ENV] = str(366 * 24)
    answer = smoke(str(bento), served, timeout=300)
    # Its temporary files, the serving data it fetched among them, are in the volume.
    assert (Path(task_environment["TMPDIR"]) / f"flight-delay-serving-{os.getuid()}").is_dir()
    assert answer["model"] == model
    (prediction,) = answer["predictions"]
    assert 0 <= prediction["delay_probability"] <= 1

    # 5. The andon cord, in the checkout that holds the promotion tags.
    andon = functools.partial(step_script, "andon-cord.yml", "rollback")
    # What is live, from the serve module's record in SSM and the image's tags in ECR.
    in_service = run_step(andon(step_id="live"), source, environ)
    assert sorted(json.loads(in_service["tags"])) == [
        release["image_tag"],
        release["served_tag"],
    ]
    picked = run_step(
        andon(step_id="pick"), source, {**environ, "LIVE": in_service["tags"], "REQUESTED": ""}
    )
    assert picked == {"current": release["image_tag"], "restore": PREVIOUS_IMAGE}
    found = run_step(andon(step_id="digest"), source, {**environ, "RESTORE": picked["restore"]})
    assert found == {"digest": digests[PREVIOUS_IMAGE]}
    restored = {**environ, "DIGEST": found["digest"]}
    run_step(andon(name="Re-deploy the restored model"), source, restored)
    assert platform.service_image() == f"{addresses['ecr']}@{digests[PREVIOUS_IMAGE]}"
    parameter = platform.outputs["serve_image_digest_parameter"]
    ssm = emulator.client("ssm")
    assert ssm.get_parameter(Name=parameter)["Parameter"]["Value"] == digests[PREVIOUS_IMAGE]


# --- The CI roles' permissions (iac.ci_permissions) -----------------------------------------


def matches(patterns: str | list[str], value: str) -> bool:
    return any(
        fnmatch.fnmatchcase(value.lower(), pattern.lower())
        for pattern in ([patterns] if isinstance(patterns, str) else patterns)
    )


def role_statements(emulator: Emulator, role: str) -> list[dict[str, Any]]:
    """The statements of every inline policy of `role`."""
    iam = emulator.client("iam")
    statements: list[dict[str, Any]] = []
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
        if not isinstance(document, dict):
            document = json.loads(document)
        found = document["Statement"]
        statements += found if isinstance(found, list) else [found]
    return statements


def allows(statements: list[dict[str, Any]], action: str) -> Callable[[str], bool]:
    def on(resource: str) -> bool:
        return any(
            s["Effect"] == "Allow"
            and matches(s["Action"], action)
            and matches(s["Resource"], resource)
            for s in statements
        )

    return on


def resource_arn(instance: Mapping[str, Any], resource_type: str) -> str:
    """The ARN IAM authorizes a read of this resource against."""
    values = instance["values"]
    if resource_type == "aws_ecs_service":
        return str(values["id"])
    if resource_type.startswith("aws_s3_bucket_") or resource_type == "aws_s3_bucket":
        return f"arn:aws:s3:::{values['bucket']}"
    if resource_type == "aws_s3_object":
        return f"arn:aws:s3:::{values['bucket']}/{values['key']}"
    if resource_type == "aws_ecr_lifecycle_policy":
        return f"arn:aws:ecr:{REGION}:{ACCOUNT_ID}:repository/{values['repository']}"
    if resource_type == "aws_efs_mount_target":
        # Its file system's (moto leaves the account out of file_system_arn).
        file_system = values["file_system_id"]
        return f"arn:aws:elasticfilesystem:{REGION}:{ACCOUNT_ID}:file-system/{file_system}"
    if resource_type == "aws_iam_role_policy":
        return f"arn:aws:iam::{ACCOUNT_ID}:role/{values['role']}"
    if resource_type in (
        "aws_wafv2_web_acl_association",
        "aws_wafv2_web_acl_logging_configuration",
    ):
        return str(values["resource_arn"])
    if values.get("arn"):
        return str(values["arn"])
    raise AssertionError(f"{instance['address']}: no ARN to authorize its read against")


def needed_calls(platform: Platform, state: Mapping[str, Any]) -> dict[str, set[tuple[str, str]]]:
    """(action, resource) pairs each job needs: the refresh of every resource in the state, plus
    its own calls from JOB_CALLS."""
    instances = list(resources(state["values"]["root_module"]))
    by_type: dict[str, list[dict[str, Any]]] = {}
    for instance in instances:
        kind = instance["type"] if instance["mode"] == "managed" else f"data.{instance['type']}"
        by_type.setdefault(kind, []).append(instance)
    unknown = sorted(set(by_type) - set(READ_ACTIONS))
    assert not unknown, f"resource types without READ_ACTIONS in iac/ci_permissions.py: {unknown}"

    refresh: set[tuple[str, str]] = set()
    for kind, found in by_type.items():
        for instance in found:
            for action in READ_ACTIONS[kind]:
                where = "*" if action in UNSCOPED_ACTIONS else resource_arn(instance, kind)
                refresh.add((action, where))
    # Not created in the emulator, refreshed in a real account (MWAA_OVERRIDE, SERVE_OVERRIDE,
    # and the MWAA bundle's objects).
    for kind, where in (
        ("aws_mwaa_environment", f"arn:aws:airflow:{REGION}:{ACCOUNT_ID}:environment/{NAME}"),
        (
            "aws_appautoscaling_target",
            f"arn:aws:application-autoscaling:{REGION}:{ACCOUNT_ID}:scalable-target/0123456789abcdef",
        ),
        ("aws_appautoscaling_policy", "*"),
        ("aws_s3_object", f"arn:aws:s3:::airflow-{PREFIX}-dev/dags/flight_delay.zip"),
        ("aws_s3_object", f"arn:aws:s3:::airflow-{PREFIX}-dev/requirements.txt"),
        ("aws_s3_object", f"arn:aws:s3:::airflow-{PREFIX}-dev/startup.sh"),
    ):
        for action in READ_ACTIONS[kind]:
            refresh.add((action, "*" if action in UNSCOPED_ACTIONS else where))

    by_address = {i["address"]: i["values"] for i in instances}
    artifacts = f"arn:aws:s3:::{PREFIX}-dev-artifacts"
    fill = {
        "state_bucket": f"arn:aws:s3:::{STATE_BUCKET}",
        "state_key": STATE_KEY,
        "lock_table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{LOCK_TABLE}",
        "artifacts_bucket": artifacts,
        "dvc_bucket": f"arn:aws:s3:::{PREFIX}-dev-dvc",
        "kms_key": by_address["module.kms.aws_kms_key.this"]["arn"],
        "repository": by_address["module.ecr.aws_ecr_repository.this"]["arn"],
        "image_digest_parameter": by_address["module.serve.aws_ssm_parameter.image_digest"]["arn"],
        "task_definition": by_address["module.serve.aws_ecs_task_definition.this"]["arn"],
        "service": by_address["module.serve.aws_ecs_service.this"]["id"],
        "execution_role": by_address["module.serve.aws_iam_role.execution"]["arn"],
        "task_role": by_address["module.serve.aws_iam_role.task"]["arn"],
    }
    return {
        job: refresh | {(action, where.format(**fill)) for action, where in calls}
        for job, calls in JOB_CALLS.items()
    }


def role_policies(state: Mapping[str, Any]) -> dict[str, list[dict[str, Any]]]:
    statements: dict[str, list[dict[str, Any]]] = {}
    for instance in resources(state["values"]["root_module"]):
        if instance["type"] == "aws_iam_role_policy" and "github_oidc" in instance["address"]:
            role = str(instance["values"]["role"]).rsplit("-", 1)[1]
            statements.setdefault(role, []).extend(
                json.loads(instance["values"]["policy"])["Statement"]
            )
    return statements


def listed(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def permission_problems(
    role: str,
    statements: list[dict[str, Any]],
    calls: set[tuple[str, str]],
    unscoped: frozenset[str] = UNSCOPED_ACTIONS,
) -> list[str]:
    """What is wrong with a role's policy for these (action, resource) calls: a call it does not
    allow, an action granted by wildcard, "*" for an action that has resource-level
    permissions, or a grant no call needs."""
    problems = [
        f"{role}: missing {action} on {where}"
        for action, where in sorted(calls)
        if not allows(statements, action)(where)
    ]
    for statement in statements:
        sid = statement.get("Sid", "?")
        if (
            statement.get("Effect") != "Allow"
            or "NotAction" in statement
            or "NotResource" in statement
        ):
            problems.append(f"{role} {sid}: only plain Allow statements are expected")
            continue
        for action in listed(statement["Action"]):
            if "*" in action:
                problems.append(f"{role} {sid}: wildcard action {action}")
            for pattern in listed(statement["Resource"]):
                if pattern == "*" and action not in unscoped:
                    problems.append(
                        f'{role} {sid}: {action} on "*", but it has resource-level permissions'
                    )
                if not any(a == action and matches(pattern, w) for a, w in calls):
                    problems.append(f"{role} {sid}: {action} on {pattern} is not needed")
    return problems


def test_each_ci_role_allows_exactly_what_its_jobs_call(platform: Platform) -> None:
    state = platform.state()
    needed = needed_calls(platform, state)
    policies = role_policies(state)
    assert set(policies) == set(ROLE_JOBS)
    problems: list[str] = []
    for role, jobs in ROLE_JOBS.items():
        calls: set[tuple[str, str]] = set().union(*(needed[job] for job in jobs))
        problems += permission_problems(role, policies[role], calls)
    assert problems == [], "\n".join(problems)


def filled(
    calls: tuple[tuple[str, str], ...], fill: Mapping[str, list[str]]
) -> set[tuple[str, str]]:
    """Each (action, template) once per value of the placeholder it names."""
    found: set[tuple[str, str]] = set()
    for action, template in calls:
        names = re.findall(r"\{(\w+)\}", template)
        found |= {(action, value) for value in (fill[names[0]] if names else [template])}
    return found


def test_airflow_may_run_follow_and_stop_the_pipelines_tasks_and_training_job_only(
    platform: Platform,
) -> None:
    state = platform.state()
    by_address = {i["address"]: i["values"] for i in resources(state["values"]["root_module"])}
    policy = by_address["module.mwaa.aws_iam_role_policy.ecs_runner[0]"]
    statements = json.loads(policy["policy"])["Statement"]
    ecs = f"arn:aws:ecs:{REGION}:{ACCOUNT_ID}"
    logs = f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/aws/sagemaker/TrainingJobs"
    job = "train-scheduled-2013-12-01T00-00-00-00-00-1a2b3c4d"  # runners.training_job_name
    fill = {
        "task_definition": [
            f"{ecs}:task-definition/flight-delay-ingest:12",
            f"{ecs}:task-definition/flight-delay-feature:3",
            f"{ecs}:task-definition/flight-delay-train:7",
        ],
        "task_role": PIPELINE_TASK_ROLES,
        "task": [f"{ecs}:task/{PIPELINE_CLUSTER}/0123456789abcdef0123456789abcdef"],
        "task_log_stream": [
            f"arn:aws:logs:{REGION}:{ACCOUNT_ID}:log-group:/ml-platform/{NAME}-pipeline"
            f":log-stream:pipeline/{service}/0123456789abcdef0123456789abcdef"
            for service in PIPELINE_TASK_DEFINITIONS
        ],
        "training_job": [f"arn:aws:sagemaker:{REGION}:{ACCOUNT_ID}:training-job/{job.lower()}"],
        "training_role": [platform.outputs["sagemaker_training_role_arn"]],
        "training_log_group": [f"{logs}:*"],
        "training_log_stream": [f"{logs}:log-stream:{job}/algo-1-1700000000"],
    }
    calls = filled(ECS_STAGE_CALLS + TRAINING_CALLS, fill)
    problems = permission_problems("airflow", statements, calls, UNSCOPED_RUNNER_ACTIONS)
    assert problems == [], "\n".join(problems)

    # Only in the pipeline's cluster, and each role only to the service that runs it.
    cluster = {"ArnEquals": {"ecs:cluster": f"{ecs}:cluster/{PIPELINE_CLUSTER}"}}
    by_sid = {statement["Sid"]: statement for statement in statements}
    assert by_sid["RunStageTasks"]["Condition"] == cluster
    assert by_sid["FindStartedStageTasks"]["Condition"] == cluster
    passed_to = {
        sid: by_sid[sid]["Condition"]["StringEquals"]["iam:PassedToService"]
        for sid in ("PassStageTaskRoles", "PassTrainingRole")
    }
    assert passed_to == {
        "PassStageTaskRoles": "ecs-tasks.amazonaws.com",
        "PassTrainingRole": "sagemaker.amazonaws.com",
    }
    # The run's params file, through the role's grant on the data buckets.
    role = by_address["module.mwaa.aws_iam_role.execution"]["name"]
    params = f"arn:aws:s3:::{PREFIX}-dev-artifacts/runs/manual__2013-12-01/params.yaml"
    assert allows(role_statements(platform.emulator, role), "s3:PutObject")(params)
    ecs_settings = json.loads(platform.outputs["airflow_ecs_settings"])
    assert ecs_settings["params_prefix"] == f"s3://{PREFIX}-dev-artifacts/runs"
    # The tasks follow the log their task definitions write, as the output tells an admin to.
    options = platform.outputs["pipeline_log_configuration"]["options"]
    assert ecs_settings["logs"] == {
        "group": options["awslogs-group"],
        "stream_prefix": options["awslogs-stream-prefix"],
    }
    logs = platform.emulator.client("logs")
    (group,) = logs.describe_log_groups(logGroupNamePrefix=options["awslogs-group"])["logGroups"]
    assert group["kmsKeyId"] == by_address["module.kms.aws_kms_key.this"]["arn"]


def test_cloudwatch_may_encrypt_the_log_groups_and_airflow_may_publish_its_metrics(
    platform: Platform,
) -> None:
    """As CloudWatch Logs' and MWAA's documentation ask (the emulator enforces neither)."""
    kms = platform.emulator.client("kms")
    state = platform.state()
    by_address = {i["address"]: i["values"] for i in resources(state["values"]["root_module"])}
    key = by_address["module.kms.aws_kms_key.this"]["arn"]
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    (logs,) = (s for s in policy["Statement"] if s.get("Sid") == "LogsEncryptThisAccountsLogGroups")
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    (context,) = logs["Condition"]["ArnLike"].values()
    # Every log group the platform encrypts with the key is one the condition lets it use.
    groups = [
        values["arn"]
        for address, values in by_address.items()
        if ".aws_cloudwatch_log_group." in address and values.get("kms_key_id") == key
    ]
    assert groups and all(matches(context, group.removesuffix(":*")) for group in groups)

    role = by_address["module.mwaa.aws_iam_role.execution"]["name"]
    statements = role_statements(platform.emulator, role)
    (metrics,) = (s for s in statements if s.get("Sid") == "PublishAirflowMetrics")
    assert (metrics["Action"], metrics["Resource"]) == ("cloudwatch:PutMetricData", "*")
    assert metrics["Condition"] == {"StringEquals": {"cloudwatch:namespace": "AmazonMWAA"}}


def test_the_permission_check_finds_missing_wildcard_and_unneeded_permissions() -> None:
    calls = {
        ("s3:GetObject", "arn:aws:s3:::b/serving/online.sqlite"),
        ("ecs:UpdateService", "arn:aws:ecs:us-east-1:123456789012:service/c/s"),
        ("ecr:GetAuthorizationToken", "*"),
    }
    good: list[dict[str, Any]] = [
        {
            "Sid": "A",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": "arn:aws:s3:::b/serving/*",
        },
        {
            "Sid": "B",
            "Effect": "Allow",
            "Action": ["ecs:UpdateService"],
            "Resource": "arn:aws:ecs:us-east-1:123456789012:service/c/s",
        },
        {"Sid": "C", "Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
    ]
    assert permission_problems("r", good, calls) == []
    assert permission_problems("r", good[1:], calls) == [
        "r: missing s3:GetObject on arn:aws:s3:::b/serving/online.sqlite"
    ]
    wildcard = [*good[:1], {**good[1], "Resource": "*"}, good[2]]
    assert permission_problems("r", wildcard, calls) == [
        'r B: ecs:UpdateService on "*", but it has resource-level permissions'
    ]
    star_action = [{**good[0], "Action": "s3:*"}, *good[1:]]
    assert "r A: wildcard action s3:*" in permission_problems("r", star_action, calls)
    extra = [
        *good,
        {"Sid": "D", "Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*"},
    ]
    assert permission_problems("r", extra, calls) == [
        "r D: s3:PutObject on arn:aws:s3:::b/* is not needed"
    ]


def test_destroy_removes_everything_it_created(platform: Platform) -> None:
    platform.terraform("destroy", "-auto-approve", "-no-color", *platform.var_args())
    platform.destroyed = True
    emulator = platform.emulator
    buckets = {b["Name"] for b in emulator.client("s3").list_buckets()["Buckets"]}
    assert buckets == {STATE_BUCKET}  # the state bucket is not the configuration's
    ecs = emulator.client("ecs")
    clusters = ecs.describe_clusters(clusters=ecs.list_clusters()["clusterArns"])["clusters"]
    # A deleted cluster stays listed for a while as INACTIVE, as in AWS.
    assert {cluster["status"] for cluster in clusters} <= {"INACTIVE"}
    assert (
        emulator.client("ec2").describe_vpcs(Filters=[{"Name": "tag:Name", "Values": [NAME]}])[
            "Vpcs"
        ]
        == []
    )
    roles = [r["RoleName"] for r in emulator.client("iam").list_roles()["Roles"]]
    assert not [r for r in roles if r.startswith(NAME)]
    state = json.loads(
        emulator.client("s3").get_object(Bucket=STATE_BUCKET, Key=STATE_KEY)["Body"].read()
    )
    assert state["resources"] == []
