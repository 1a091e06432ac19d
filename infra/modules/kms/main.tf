# One customer-managed key for the platform's data at rest: buckets, images, logs, Airflow.

variable "name" {
  description = "Alias name of the key, without the alias/ prefix."
  type        = string
}

variable "service_principals" {
  description = "AWS services (e.g. logs.<region>.amazonaws.com) that may use the key for their encryption at rest."
  type        = list(string)
  default     = []
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}

data "aws_iam_policy_document" "key" {
  # checkov:skip=CKV_AWS_109: A key policy's "*" resource is the key itself; the account-root statement is AWS's default key policy, which delegates access control to IAM policies.
  # checkov:skip=CKV_AWS_111: As above: "*" in a key policy means this key only, and who may write is decided by IAM policies.
  # checkov:skip=CKV_AWS_356: As above: a key policy cannot name its own key's ARN, so "*" is the documented form.
  # The account administers the key through IAM policies, the AWS default key policy.
  statement {
    sid       = "AccountAdministersTheKeyThroughIam"
    actions   = ["kms:*"]
    resources = ["*"] # in a key policy, "*" is this key
    principals {
      type        = "AWS"
      identifiers = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:root"]
    }
  }

  dynamic "statement" {
    for_each = length(var.service_principals) > 0 ? [1] : []
    content {
      sid       = "ServicesEncryptForThisAccount"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = var.service_principals
      }
      condition {
        test     = "StringEquals"
        variable = "aws:SourceAccount"
        values   = [data.aws_caller_identity.current.account_id]
      }
    }
  }
}

resource "aws_kms_key" "this" {
  description             = "ml-platform ${var.name}: data at rest"
  enable_key_rotation     = true
  deletion_window_in_days = 30
  policy                  = data.aws_iam_policy_document.key.json
}

resource "aws_kms_alias" "this" {
  name          = "alias/${var.name}"
  target_key_id = aws_kms_key.this.key_id
}

output "arn" {
  description = "ARN of the key."
  value       = aws_kms_key.this.arn
}
