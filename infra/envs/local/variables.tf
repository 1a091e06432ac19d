variable "environment" {
  description = "Name of the environment: local, dev or ci; names its buckets and its landing directory. Each environment keeps its own state, in the Terraform workspace of its name (`local`: the default workspace), so that they coexist; by default the environment is the selected workspace's, and another is refused."
  type        = string
  default     = null

  validation {
    condition     = contains(["local", "dev", "ci"], coalesce(var.environment, terraform.workspace == "default" ? "local" : terraform.workspace))
    error_message = "Unknown environment name ${jsonencode(coalesce(var.environment, terraform.workspace))}: the local environment is one of \"local\" (the default workspace), \"dev\" or \"ci\" (the AWS ones are in infra/envs/aws)."
  }

  # Applying another environment over this workspace's state would replace its landing zone.
  validation {
    condition     = var.environment == null || var.environment == (terraform.workspace == "default" ? "local" : terraform.workspace)
    error_message = "Environment ${coalesce(var.environment, "(unset)")} has a state of its own, not workspace ${terraform.workspace}'s: select its workspace first (terraform workspace select -or-create ${coalesce(var.environment, "local") == "local" ? "default" : coalesce(var.environment, "default")}, or TF_WORKSPACE), or leave environment unset for the workspace's."
  }
}

variable "bucket_prefix" {
  description = "First part of every bucket name, <prefix>-<environment>-<purpose>, the same names the AWS environment gives its S3 buckets."
  type        = string
  default     = "ml-platform"
  nullable    = false

  validation {
    # S3 rules: lower-case letters, digits and hyphens, starting and ending with a letter or a
    # digit; the longest full name (<prefix>-staging-artifacts) must stay within 63 characters.
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?$", var.bucket_prefix)) && !startswith(var.bucket_prefix, "xn--") && !strcontains(var.bucket_prefix, "--")
    error_message = "Invalid bucket name: bucket_prefix must be 1-45 lower-case letters, digits or single hyphens, start and end with a letter or digit, and not start with \"xn--\", so that every <prefix>-<environment>-<purpose> is a valid S3 bucket name."
  }
}

variable "build_dir" {
  description = "The git-ignored directory that holds the model store (bentoml/ for `local`, infra/<environment>/bentoml/ for another environment) and the landing zone (infra/<environment>/<landing bucket>/). Default: the repo's build/. A relative path is taken from Terraform's working directory."
  type        = string
  default     = null

  validation {
    condition     = var.build_dir == null || try(length(trimspace(var.build_dir)) > 0, false)
    error_message = "build_dir must be a non-empty path, or left unset for the repo's build/."
  }
}

variable "dvc_remote_dir" {
  description = "The DVC remote's directory, shared by every clone on the machine. Default: for `local`, ~/.cache/ml-platform/dvc-remote, the `local` remote of .dvc/config; for another environment, ~/.cache/ml-platform/dvc-remote-<environment>."
  type        = string
  default     = null

  validation {
    condition     = var.dvc_remote_dir == null || try(length(trimspace(var.dvc_remote_dir)) > 0, false)
    error_message = "dvc_remote_dir must be a non-empty path, or left unset for the environment's default."
  }
}

variable "force_destroy" {
  description = "Let `terraform destroy` delete locations that still hold data, as S3's force_destroy does. When false, destroying a non-empty location fails and keeps it."
  type        = bool
  default     = false
  nullable    = false
}
