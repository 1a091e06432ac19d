# A private S3 bucket: encrypted, versioned, public access blocked, TLS only, old versions
# expired, and (except for the log bucket itself) access-logged.

variable "name" {
  description = "The bucket's name; S3 names are global, so it starts with an organisation prefix."
  type        = string

  validation {
    condition = alltrue([
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.name)),
      !strcontains(var.name, ".."),
      !can(regex("^[0-9]+[.][0-9]+[.][0-9]+[.][0-9]+$", var.name)),
      !startswith(var.name, "xn--"),
      !endswith(var.name, "-s3alias"),
    ])
    error_message = "Invalid bucket name: 3-63 lower-case letters, digits, dots or hyphens, starting and ending with a letter or digit, not an IP address, no \"..\", no \"xn--\" prefix, no \"-s3alias\" suffix."
  }
}

variable "kms_key_arn" {
  description = "KMS key for server-side encryption; null for SSE-S3, which load balancer access logs require."
  type        = string
  default     = null
}

variable "access_log_bucket" {
  description = "Bucket that receives this bucket's access logs; null only for the log bucket itself."
  type        = string
  default     = null
}

variable "noncurrent_version_days" {
  description = "Days a replaced or deleted object's old version is kept."
  type        = number
  default     = 90
}

variable "extra_policy_statements" {
  description = "More bucket policy statements, as JSON policy documents (e.g. log delivery)."
  type        = list(string)
  default     = []
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete a bucket that still holds objects."
  type        = bool
  default     = false
}

resource "aws_s3_bucket" "this" {
  # checkov:skip=CKV_AWS_144: One region by design; the data is re-creatable from upstream and DVC, and versioning covers mistakes. Add replication per bucket when a second region is needed.
  # checkov:skip=CKV2_AWS_62: Nothing reacts to object events yet; the pipeline is scheduled by Airflow, not triggered by uploads.
  bucket        = var.name
  force_destroy = var.force_destroy
}

resource "aws_s3_bucket_ownership_controls" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "this" {
  bucket                  = aws_s3_bucket.this.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "this" {
  bucket = aws_s3_bucket.this.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "this" {
  bucket = aws_s3_bucket.this.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = var.kms_key_arn == null ? "AES256" : "aws:kms"
      kms_master_key_id = var.kms_key_arn
    }
    bucket_key_enabled = var.kms_key_arn != null
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "this" {
  bucket = aws_s3_bucket.this.id

  rule {
    id     = "expire-old-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_days
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = 7
    }
  }

  depends_on = [aws_s3_bucket_versioning.this]
}

resource "aws_s3_bucket_logging" "this" {
  count         = var.access_log_bucket == null ? 0 : 1
  bucket        = aws_s3_bucket.this.id
  target_bucket = var.access_log_bucket
  target_prefix = "s3/${var.name}/"
}

data "aws_iam_policy_document" "tls_only" {
  source_policy_documents = var.extra_policy_statements

  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.this.arn,
      "${aws_s3_bucket.this.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }
}

resource "aws_s3_bucket_policy" "this" {
  bucket     = aws_s3_bucket.this.id
  policy     = data.aws_iam_policy_document.tls_only.json
  depends_on = [aws_s3_bucket_public_access_block.this]
}

output "name" {
  description = "The bucket's name, once its policy is in place (a bucket logging into it needs the policy first)."
  value       = aws_s3_bucket.this.bucket
  depends_on  = [aws_s3_bucket_policy.this]
}

output "arn" {
  description = "The bucket's ARN."
  value       = aws_s3_bucket.this.arn
}
