# CI/CD without stored AWS keys: GitHub Actions of one repository's main branch (and of its
# `production` environment) assume this role through OIDC. It may push the service image,
# roll the serve service to a new task definition, and push and pull DVC data.

variable "name" {
  description = "Name of the role."
  type        = string
}

variable "github_repository" {
  description = "The repository whose workflows may assume the role, as owner/name."
  type        = string
}

variable "create_provider" {
  description = "Create the account's GitHub OIDC provider; false when the account already has one."
  type        = bool
  default     = true
}

variable "ecr_repository_arn" {
  description = "Repository CI pushes the service image to."
  type        = string
}

variable "ecs_cluster_arn" {
  description = "Cluster of the serve service."
  type        = string
}

variable "ecs_service_arn" {
  description = "The serve service CI deploys."
  type        = string
}

variable "task_role_arns" {
  description = "Roles CI may pass to ECS in a new task definition."
  type        = list(string)
}

variable "dvc_bucket_arn" {
  description = "The DVC remote's bucket (CI pushes and pulls data)."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key of the bucket and the image."
  type        = string
}

locals {
  issuer = "token.actions.githubusercontent.com"
}

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

resource "aws_iam_openid_connect_provider" "github" {
  count          = var.create_provider ? 1 : 0
  url            = "https://${local.issuer}"
  client_id_list = ["sts.amazonaws.com"]
}

locals {
  provider_arn = (
    var.create_provider
    ? aws_iam_openid_connect_provider.github[0].arn
    : "arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:oidc-provider/${local.issuer}"
  )
}

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
      values = [
        "repo:${var.github_repository}:ref:refs/heads/main",
        "repo:${var.github_repository}:environment:production",
      ]
    }
  }
}

data "aws_iam_policy_document" "deploy" {
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
    ]
    resources = [var.ecr_repository_arn]
  }
  statement {
    sid       = "RegisterTaskDefinitions"
    actions   = ["ecs:RegisterTaskDefinition", "ecs:DescribeTaskDefinition"]
    resources = ["*"] # these two actions have no resource-level permissions
  }
  statement {
    sid       = "DeployTheServeService"
    actions   = ["ecs:UpdateService", "ecs:DescribeServices"]
    resources = [var.ecs_service_arn]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [var.ecs_cluster_arn]
    }
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
  statement {
    sid       = "DvcData"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = [var.dvc_bucket_arn, "${var.dvc_bucket_arn}/*"]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:GenerateDataKey"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  assume_role_policy   = data.aws_iam_policy_document.assume.json
  max_session_duration = 3600
}

resource "aws_iam_role_policy" "this" {
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.deploy.json
}

output "role_arn" {
  description = "Set as role-to-assume of aws-actions/configure-aws-credentials."
  value       = aws_iam_role.this.arn
}
