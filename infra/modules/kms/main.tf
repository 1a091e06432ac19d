# One customer-managed key for the platform's data at rest: buckets, images, logs, Airflow.

variable "name" {
  description = "Alias name of the key, without the alias/ prefix."
  type        = string
}

variable "logs_region" {
  description = "Region whose CloudWatch Logs may encrypt the account's log groups with the key; null: none."
  type        = string
  default     = null
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

  # CloudWatch Logs encrypting this account's log groups, in the form its documentation gives: the
  # service names the log group in the encryption context of every call it makes with the key.
  dynamic "statement" {
    for_each = var.logs_region == null ? [] : [var.logs_region]
    content {
      sid       = "LogsEncryptThisAccountsLogGroups"
      actions   = ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"]
      resources = ["*"]
      principals {
        type        = "Service"
        identifiers = ["logs.${statement.value}.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "kms:EncryptionContext:aws:logs:arn"
        values   = ["arn:${data.aws_partition.current.partition}:logs:${statement.value}:${data.aws_caller_identity.current.account_id}:log-group:*"]
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
