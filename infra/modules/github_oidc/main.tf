# CI/CD without stored AWS keys: the GitHub Actions jobs of one repository that run in its `aws`
# environment assume these roles through OIDC. Two roles, each with only what its jobs call
# (infra/iac/ci_permissions.py lists the calls; aws_emulator_test.py checks these policies
# against that list and the plan's resource types):
#
# - plan: read-only. Reads the Terraform state (and takes its lock) and every resource of the
#   environment, which is what `terraform plan` does.
# - deploy: the plan role's reads, plus what the deploy job and the andon cord write: the state,
#   the DVC remote, the model store and serving data in the artifacts bucket, the service image,
#   and a new task definition and digest for the serve service (`apply -target=module.serve`).
#
# Creating the environment itself (IAM, the network, ...) is an administrator's apply by hand,
# never CI's.

variable "name" {
  description = "Name prefix of the roles: <name>-plan and <name>-deploy."
  type        = string
}

variable "platform_name" {
  description = "Name prefix of the platform's resources (ml-platform-<environment>), which scopes the reads."
  type        = string
}

variable "github_repository" {
  description = "The repository whose workflows may assume the roles, as owner/name."
  type        = string
}

variable "github_environment" {
  description = "The GitHub Actions environment the AWS jobs run in; its OIDC token's sub is repo:<owner/name>:environment:<this>."
  type        = string
  default     = "aws"
}

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider; false when the account already has one."
  type        = bool
  default     = true
}

variable "state_bucket" {
  description = "Bucket of the Terraform state (backend.hcl)."
  type        = string
}

variable "state_key" {
  description = "Key of the environment's state object in the state bucket."
  type        = string
}

variable "state_lock_table" {
  description = "DynamoDB table of the state lock (backend.hcl)."
  type        = string
}

variable "bucket_arns" {
  description = "The platform's buckets, purpose to ARN (dvc, artifacts, landing, airflow, logs)."
  type        = map(string)
}

variable "artifact_prefixes" {
  description = "Key prefixes in the artifacts bucket the deploy job writes: the model store and the serving data."
  type        = object({ models = string, serving = string })
}

variable "kms_key_arn" {
  description = "KMS key of the buckets, the image and the logs."
  type        = string
}

variable "ecr_repository_arn" {
  description = "Repository CI pushes the service image to."
  type        = string
}

variable "repository_arns" {
  description = "Every image repository of the environment: the plan reads them all."
  type        = list(string)
}

variable "ecs_cluster_arn" {
  description = "Cluster of the serve service."
  type        = string
}

variable "ecs_service_arn" {
  description = "The serve service CI deploys."
  type        = string
}

variable "task_definition_family" {
  description = "Family of the serve service's task definitions."
  type        = string
}

variable "task_role_arns" {
  description = "Roles CI may pass to ECS in a new task definition."
  type        = list(string)
}

variable "image_digest_parameter_arn" {
  description = "SSM parameter recording the live image digest (the deploy role writes it)."
  type        = string
}

variable "web_acl_arn" {
  description = "The serve service's firewall."
  type        = string
}

variable "load_balancer_arn" {
  description = "The serve service's load balancer."
  type        = string
}

variable "vpc_id" {
  description = "The platform's VPC (ec2:DescribeVpcAttribute is scoped to it)."
  type        = string
}

variable "file_system_arn" {
  description = "The EFS file system of the pipeline's working directory."
  type        = string
}

variable "access_point_arn" {
  description = "The access point of the pipeline's working directory."
  type        = string
}

variable "airflow_environment_name" {
  description = "Name of the MWAA environment."
  type        = string
}

locals {
  issuer = "token.actions.githubusercontent.com"
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}
data "aws_region" "current" {}

locals {
  arn     = "arn:${data.aws_partition.current.partition}"
  account = data.aws_caller_identity.current.account_id
  region  = data.aws_region.current.name
  buckets = values(var.bucket_arns)
  state   = "${local.arn}:s3:::${var.state_bucket}"
}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_provider ? 1 : 0
  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  provider_arn = (
    var.create_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : "${local.arn}:iam::${local.account}:oidc-provider/${local.issuer}"
  )
}

# Only jobs of this repository that run in the `aws` environment: GitHub then sets the token's
# sub to repo:<owner>/<name>:environment:aws, whatever the branch (the environment's own
# protection rules decide which branches may use it).
data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [local.provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "${local.issuer}:sub"
      values   = ["repo:${var.github_repository}:environment:${var.github_environment}"]
    }
  }
}

# What `terraform plan` reads: the state, and each resource type of the environment.
data "aws_iam_policy_document" "read" {
  statement {
    sid       = "ListTheStateBucket"
    actions   = ["s3:ListBucket"]
    resources = [local.state]
  }
  statement {
    sid       = "ReadTheState"
    actions   = ["s3:GetObject"]
    resources = ["${local.state}/${var.state_key}"]
  }
  statement {
    sid       = "LockTheState"
    actions   = ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:DeleteItem"]
    resources = ["${local.arn}:dynamodb:${local.region}:${local.account}:table/${var.state_lock_table}"]
  }
  statement {
    sid = "ReadBucketConfiguration"
    actions = [
      "s3:ListBucket", "s3:GetBucketAcl", "s3:GetBucketCORS", "s3:GetBucketWebsite",
      "s3:GetBucketVersioning", "s3:GetAccelerateConfiguration", "s3:GetBucketRequestPayment",
      "s3:GetBucketLogging", "s3:GetLifecycleConfiguration", "s3:GetReplicationConfiguration",
      "s3:GetEncryptionConfiguration", "s3:GetBucketObjectLockConfiguration", "s3:GetBucketTagging",
      "s3:GetBucketPolicy", "s3:GetBucketOwnershipControls", "s3:GetBucketPublicAccessBlock",
    ]
    resources = local.buckets
  }
  statement {
    sid       = "ReadTheAirflowBundle"
    actions   = ["s3:GetObject", "s3:GetObjectTagging"]
    resources = ["${var.bucket_arns["airflow"]}/dags/*", "${var.bucket_arns["airflow"]}/requirements.txt", "${var.bucket_arns["airflow"]}/startup.sh"]
  }
  statement {
    sid       = "ReadTheKey"
    actions   = ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListResourceTags"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "ListKeyAliases"
    actions   = ["kms:ListAliases"]
    resources = ["*"] # ListAliases has no resource-level permissions
  }
  statement {
    sid       = "ReadTheRepositories"
    actions   = ["ecr:DescribeRepositories", "ecr:ListTagsForResource", "ecr:GetLifecyclePolicy"]
    resources = var.repository_arns
  }
  statement {
    sid = "DescribeTheNetwork"
    actions = [
      "ec2:DescribeAvailabilityZones", "ec2:DescribeVpcs",
      "ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeInternetGateways",
      "ec2:DescribeAddresses", "ec2:DescribeAddressesAttribute", "ec2:DescribeNatGateways",
      "ec2:DescribeNetworkAcls", "ec2:DescribeSecurityGroups", "ec2:DescribeSecurityGroupRules",
      "ec2:DescribeVpcEndpoints", "ec2:DescribePrefixLists", "ec2:DescribeFlowLogs",
    ]
    resources = ["*"] # EC2 Describe calls have no resource-level permissions
  }
  statement {
    sid       = "DescribeTheVpcsAttributes"
    actions   = ["ec2:DescribeVpcAttribute"]
    resources = ["${local.arn}:ec2:${local.region}:${local.account}:vpc/${var.vpc_id}"]
  }
  statement {
    sid = "DescribeTheLoadBalancer"
    actions = [
      "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeLoadBalancerAttributes",
      "elasticloadbalancing:DescribeTargetGroups", "elasticloadbalancing:DescribeTargetGroupAttributes",
      "elasticloadbalancing:DescribeListeners", "elasticloadbalancing:DescribeListenerAttributes",
      "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTags",
    ]
    resources = ["*"] # ELB Describe calls have no resource-level permissions
  }
  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["${local.arn}:logs:${local.region}:${local.account}:log-group:*"]
  }
  statement {
    sid       = "ReadThePlatformsLogGroups"
    actions   = ["logs:ListTagsForResource"]
    resources = ["${local.arn}:logs:${local.region}:${local.account}:log-group:*${var.platform_name}*"]
  }
  statement {
    sid       = "ReadThePlatformsRoles"
    actions   = ["iam:GetRole", "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetRolePolicy"]
    resources = ["${local.arn}:iam::${local.account}:role/${var.platform_name}-*"]
  }
  statement {
    sid       = "ReadTheOidcProvider"
    actions   = ["iam:GetOpenIDConnectProvider"]
    resources = [local.provider_arn]
  }
  statement {
    sid       = "ReadTheFirewall"
    actions   = ["wafv2:GetWebACL", "wafv2:ListTagsForResource", "wafv2:GetLoggingConfiguration"]
    resources = [var.web_acl_arn]
  }
  statement {
    sid       = "ReadTheFirewallAssociation"
    actions   = ["wafv2:GetWebACLForResource"]
    resources = [var.load_balancer_arn]
  }
  statement {
    sid       = "ReadTheCluster"
    actions   = ["ecs:DescribeClusters"]
    resources = [var.ecs_cluster_arn]
  }
  statement {
    sid       = "ReadTheService"
    actions   = ["ecs:DescribeServices"]
    resources = [var.ecs_service_arn]
  }
  statement {
    sid       = "ReadTaskDefinitions"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"] # DescribeTaskDefinition has no resource-level permissions
  }
  statement {
    sid       = "DescribeScaling"
    actions   = ["application-autoscaling:DescribeScalableTargets", "application-autoscaling:DescribeScalingPolicies"]
    resources = ["*"] # Application Auto Scaling Describe calls have no resource-level permissions
  }
  statement {
    sid       = "ReadScalingTags"
    actions   = ["application-autoscaling:ListTagsForResource"]
    resources = ["${local.arn}:application-autoscaling:${local.region}:${local.account}:scalable-target/*"]
  }
  statement {
    sid       = "ReadAirflow"
    actions   = ["airflow:GetEnvironment"]
    resources = ["${local.arn}:airflow:${local.region}:${local.account}:environment/${var.airflow_environment_name}"]
  }
  # A mount target's reads are authorized against its file system.
  statement {
    sid = "ReadTheWorkingDirectory"
    actions = [
      "elasticfilesystem:DescribeFileSystems", "elasticfilesystem:DescribeLifecycleConfiguration",
      "elasticfilesystem:DescribeMountTargets", "elasticfilesystem:DescribeMountTargetSecurityGroups",
      "elasticfilesystem:ListTagsForResource",
    ]
    resources = [var.file_system_arn]
  }
  statement {
    sid       = "ReadTheWorkingDirectorysAccessPoint"
    actions   = ["elasticfilesystem:DescribeAccessPoints", "elasticfilesystem:ListTagsForResource"]
    resources = [var.access_point_arn]
  }
  statement {
    sid       = "ReadTheLiveImageDigest"
    actions   = ["ssm:GetParameter", "ssm:ListTagsForResource"]
    resources = [var.image_digest_parameter_arn]
  }
  statement {
    sid       = "DescribeParameters"
    actions   = ["ssm:DescribeParameters"]
    resources = ["*"] # DescribeParameters has no resource-level permissions
  }
}

# What the deploy job and the andon cord change (on top of the reads).
data "aws_iam_policy_document" "deploy" {
  statement {
    sid       = "WriteTheState"
    actions   = ["s3:PutObject"]
    resources = ["${local.state}/${var.state_key}"]
  }
  statement {
    sid       = "DvcData"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = ["${var.bucket_arns["dvc"]}/*"]
  }
  statement {
    sid       = "ModelStoreAndServingData"
    actions   = ["s3:GetObject", "s3:PutObject"]
    resources = [for prefix in values(var.artifact_prefixes) : "${var.bucket_arns["artifacts"]}/${prefix}/*"]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid = "PushTheServiceImage"
    actions = [
      "ecr:BatchCheckLayerAvailability", "ecr:BatchGetImage", "ecr:CompleteLayerUpload",
      "ecr:GetDownloadUrlForLayer", "ecr:InitiateLayerUpload", "ecr:PutImage", "ecr:UploadLayerPart",
      "ecr:DescribeImages",
    ]
    resources = [var.ecr_repository_arn]
  }
  statement {
    sid       = "RecordTheLiveImageDigest"
    actions   = ["ssm:PutParameter"]
    resources = [var.image_digest_parameter_arn]
  }
  statement {
    sid       = "RegisterTaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition"]
    resources = ["*"] # these two actions have no resource-level permissions
  }
  statement {
    sid       = "TagTaskDefinitions"
    actions   = ["ecs:TagResource"]
    resources = ["${local.arn}:ecs:${local.region}:${local.account}:task-definition/${var.task_definition_family}:*"]
  }
  statement {
    sid       = "DeployTheServeService"
    actions   = ["ecs:UpdateService"]
    resources = [var.ecs_service_arn]
  }
  statement {
    sid       = "PassTheTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.task_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "plan" {
  name                 = "${var.name}-plan"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "plan_read" {
  name   = "read"
  role   = aws_iam_role.plan.id
  policy = data.aws_iam_policy_document.read.json
}

resource "aws_iam_role" "deploy" {
  name                 = "${var.name}-deploy"
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "deploy_read" {
  name   = "read"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.read.json
}

resource "aws_iam_role_policy" "deploy" {
  name   = "deploy"
  role   = aws_iam_role.deploy.id
  policy = data.aws_iam_policy_document.deploy.json
}

output "plan_role_arn" {
  description = "role-to-assume of the terraform-plan job (read-only)."
  value       = aws_iam_role.plan.arn
}

output "deploy_role_arn" {
  description = "role-to-assume of the deploy job and the andon cord."
  value       = aws_iam_role.deploy.arn
}
