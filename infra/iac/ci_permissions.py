"""The AWS calls each CI job makes, which the roles of infra/modules/github_oidc must allow.

Two sources, both checked by aws_emulator_test.py against the policies Terraform rendered:

- `READ_ACTIONS`: what Terraform's AWS provider (5.x) calls to refresh one resource or data
  source of each type. `terraform plan` refreshes every resource of the environment; the test
  fails when the environment has a resource type that is not listed here.
- `JOB_CALLS`: what each workflow job does besides refreshing (.github/workflows): the state
  and its lock, DVC, the model store and serving data, the image, the targeted apply of
  module.serve. Resources are templates filled from the applied environment.

`UNSCOPED_ACTIONS` are the actions AWS authorizes only on "*" (no resource-level permissions);
a policy may grant "*" for these and nothing else.
"""

from __future__ import annotations

from typing import Final

READ_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    # Data sources.
    "data.aws_availability_zones": ("ec2:DescribeAvailabilityZones",),
    "data.aws_caller_identity": (),  # sts:GetCallerIdentity needs no permission
    "data.aws_elb_service_account": (),  # a table in the provider
    "data.aws_iam_policy_document": (),  # rendered locally
    "data.aws_partition": (),
    "data.aws_region": (),
    "data.aws_ssm_parameter": ("ssm:GetParameter",),
    # Resources.
    "aws_appautoscaling_policy": ("application-autoscaling:DescribeScalingPolicies",),
    "aws_appautoscaling_target": (
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:ListTagsForResource",
    ),
    "aws_cloudwatch_log_group": ("logs:DescribeLogGroups", "logs:ListTagsForResource"),
    "aws_default_security_group": ("ec2:DescribeSecurityGroups",),
    "aws_ecr_lifecycle_policy": ("ecr:GetLifecyclePolicy",),
    "aws_ecr_repository": ("ecr:DescribeRepositories", "ecr:ListTagsForResource"),
    "aws_ecs_cluster": ("ecs:DescribeClusters",),
    "aws_ecs_service": ("ecs:DescribeServices",),
    "aws_ecs_task_definition": ("ecs:DescribeTaskDefinition",),
    "aws_efs_access_point": (
        "elasticfilesystem:DescribeAccessPoints",
        "elasticfilesystem:ListTagsForResource",
    ),
    "aws_efs_file_system": (
        "elasticfilesystem:DescribeFileSystems",
        "elasticfilesystem:DescribeLifecycleConfiguration",
        "elasticfilesystem:ListTagsForResource",
    ),
    "aws_efs_mount_target": (
        "elasticfilesystem:DescribeMountTargets",
        "elasticfilesystem:DescribeMountTargetSecurityGroups",
    ),
    "aws_eip": ("ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute"),
    "aws_flow_log": ("ec2:DescribeFlowLogs",),
    "aws_iam_openid_connect_provider": ("iam:GetOpenIDConnectProvider",),
    "aws_iam_role": ("iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies"),
    "aws_iam_role_policy": ("iam:GetRolePolicy",),
    "aws_internet_gateway": ("ec2:DescribeInternetGateways",),
    "aws_kms_alias": ("kms:ListAliases",),
    "aws_kms_key": (
        "kms:DescribeKey",
        "kms:GetKeyPolicy",
        "kms:GetKeyRotationStatus",
        "kms:ListResourceTags",
    ),
    "aws_lb": (
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
    "aws_lb_listener": (
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
    "aws_lb_listener_rule": (
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTags",
    ),
    "aws_lb_target_group": (
        "elasticloadbalancing:DescribeTargetGroups",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTags",
    ),
    "aws_mwaa_environment": ("airflow:GetEnvironment",),
    "aws_nat_gateway": ("ec2:DescribeNatGateways",),
    "aws_route_table": ("ec2:DescribeRouteTables",),
    "aws_route_table_association": ("ec2:DescribeRouteTables",),
    "aws_s3_bucket": (
        "s3:ListBucket",
        "s3:GetBucketAcl",
        "s3:GetBucketCORS",
        "s3:GetBucketWebsite",
        "s3:GetBucketVersioning",
        "s3:GetAccelerateConfiguration",
        "s3:GetBucketRequestPayment",
        "s3:GetBucketLogging",
        "s3:GetLifecycleConfiguration",
        "s3:GetReplicationConfiguration",
        "s3:GetEncryptionConfiguration",
        "s3:GetBucketObjectLockConfiguration",
        "s3:GetBucketTagging",
        "s3:GetBucketPolicy",
    ),
    "aws_s3_bucket_lifecycle_configuration": ("s3:GetLifecycleConfiguration",),
    "aws_s3_bucket_logging": ("s3:GetBucketLogging",),
    "aws_s3_bucket_ownership_controls": ("s3:GetBucketOwnershipControls",),
    "aws_s3_bucket_policy": ("s3:GetBucketPolicy",),
    "aws_s3_bucket_public_access_block": ("s3:GetBucketPublicAccessBlock",),
    "aws_s3_bucket_server_side_encryption_configuration": ("s3:GetEncryptionConfiguration",),
    "aws_s3_bucket_versioning": ("s3:GetBucketVersioning",),
    "aws_s3_object": ("s3:GetObject", "s3:GetObjectTagging"),
    "aws_security_group": ("ec2:DescribeSecurityGroups",),
    "aws_ssm_parameter": ("ssm:GetParameter", "ssm:DescribeParameters", "ssm:ListTagsForResource"),
    "aws_subnet": ("ec2:DescribeSubnets",),
    "aws_vpc": (
        "ec2:DescribeVpcs",
        "ec2:DescribeVpcAttribute",
        "ec2:DescribeRouteTables",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribeSecurityGroups",
    ),
    "aws_vpc_endpoint": ("ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists"),
    "aws_vpc_security_group_egress_rule": ("ec2:DescribeSecurityGroupRules",),
    "aws_vpc_security_group_ingress_rule": ("ec2:DescribeSecurityGroupRules",),
    "aws_wafv2_web_acl": ("wafv2:GetWebACL", "wafv2:ListTagsForResource"),
    "aws_wafv2_web_acl_association": ("wafv2:GetWebACLForResource",),
    "aws_wafv2_web_acl_logging_configuration": ("wafv2:GetLoggingConfiguration",),
}

UNSCOPED_ACTIONS: Final[frozenset[str]] = frozenset(
    {
        "application-autoscaling:DescribeScalableTargets",
        "application-autoscaling:DescribeScalingPolicies",
        "ec2:DescribeAddresses",
        "ec2:DescribeAddressesAttribute",
        "ec2:DescribeAvailabilityZones",
        "ec2:DescribeFlowLogs",
        "ec2:DescribeInternetGateways",
        "ec2:DescribeNatGateways",
        "ec2:DescribeNetworkAcls",
        "ec2:DescribePrefixLists",
        "ec2:DescribeRouteTables",
        "ec2:DescribeSecurityGroupRules",
        "ec2:DescribeSecurityGroups",
        "ec2:DescribeSubnets",
        "ec2:DescribeVpcEndpoints",
        "ec2:DescribeVpcs",
        "ecr:GetAuthorizationToken",
        "ecs:DeregisterTaskDefinition",
        "ecs:DescribeTaskDefinition",
        "ecs:RegisterTaskDefinition",
        "elasticloadbalancing:DescribeListenerAttributes",
        "elasticloadbalancing:DescribeListeners",
        "elasticloadbalancing:DescribeLoadBalancerAttributes",
        "elasticloadbalancing:DescribeLoadBalancers",
        "elasticloadbalancing:DescribeRules",
        "elasticloadbalancing:DescribeTags",
        "elasticloadbalancing:DescribeTargetGroupAttributes",
        "elasticloadbalancing:DescribeTargetGroups",
        "kms:ListAliases",
        "ssm:DescribeParameters",
    }
)

# The Terraform state and its lock, for every job that runs Terraform.
_STATE_READ = (
    ("s3:ListBucket", "{state_bucket}"),
    ("s3:GetObject", "{state_bucket}/{state_key}"),
    ("dynamodb:GetItem", "{lock_table}"),
    ("dynamodb:PutItem", "{lock_table}"),
    ("dynamodb:DeleteItem", "{lock_table}"),
)
# `apply -target=module.serve` with a new image digest: record it, register the task
# definition (tagged, as every resource is), deregister the old one, roll the service (and wait
# for it: ecs:DescribeServices, in the refresh), handing ECS the task roles.
_ROLL_SERVE = (
    ("s3:PutObject", "{state_bucket}/{state_key}"),
    ("ssm:PutParameter", "{image_digest_parameter}"),
    ("ecs:RegisterTaskDefinition", "*"),
    ("ecs:DeregisterTaskDefinition", "*"),
    ("ecs:TagResource", "{task_definition}"),
    ("ecs:UpdateService", "{service}"),
    ("iam:PassRole", "{execution_role}"),
    ("iam:PassRole", "{task_role}"),
    # The digest of the image to restore, from its tag.
    ("ecr:DescribeImages", "{repository}"),
)

JOB_CALLS: Final[dict[str, tuple[tuple[str, str], ...]]] = {
    # main.yml terraform-plan: init, plan.
    "terraform-plan": _STATE_READ,
    # main.yml deploy: init and outputs, the model store and DVC data in and out, the model's
    # serving data up (serve.publish: under its version, read first), the image pushed, then
    # the targeted apply.
    "deploy": (
        *_STATE_READ,
        ("s3:GetObject", "{artifacts_bucket}/models/flight_delay/1/model.yaml"),
        ("s3:PutObject", "{artifacts_bucket}/models/flight_delay/1/model.yaml"),
        ("s3:PutObject", "{artifacts_bucket}/serving/abc123/online_store/online.sqlite"),
        ("s3:GetObject", "{artifacts_bucket}/serving/abc123/online_store/online.sqlite"),
        ("s3:GetObject", "{dvc_bucket}/files/md5/00/0123456789abcdef0123456789abcd"),
        ("s3:PutObject", "{dvc_bucket}/files/md5/00/0123456789abcdef0123456789abcd"),
        ("s3:ListBucket", "{dvc_bucket}"),
        ("s3:ListBucket", "{artifacts_bucket}"),
        ("kms:Decrypt", "{kms_key}"),
        ("kms:GenerateDataKey", "{kms_key}"),
        ("ecr:GetAuthorizationToken", "*"),
        ("ecr:BatchCheckLayerAvailability", "{repository}"),
        ("ecr:BatchGetImage", "{repository}"),
        ("ecr:CompleteLayerUpload", "{repository}"),
        ("ecr:GetDownloadUrlForLayer", "{repository}"),
        ("ecr:InitiateLayerUpload", "{repository}"),
        ("ecr:PutImage", "{repository}"),
        ("ecr:UploadLayerPart", "{repository}"),
        *_ROLL_SERVE,
    ),
    # andon-cord.yml rollback: the live digest and its tags (what is in service), then the
    # targeted apply with the previous digest.
    "andon-cord": (
        *_STATE_READ,
        ("ssm:GetParameter", "{image_digest_parameter}"),
        ("ecr:DescribeImages", "{repository}"),
        *_ROLL_SERVE,
    ),
}

# Which role each job assumes, and whether the job refreshes the whole environment
# (`terraform plan`; the deploy role can plan too, so it carries the same reads).
ROLE_JOBS: Final[dict[str, tuple[str, ...]]] = {
    "plan": ("terraform-plan",),
    "deploy": ("deploy", "andon-cord"),
}
