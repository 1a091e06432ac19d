# Required: bucket_prefix, github_repository, certificate_arn (see example.tfvars).

variable "environment" {
  description = "Name of the environment: dev, staging or prod."
  type        = string
  default     = "dev"
  nullable    = false

  validation {
    condition     = contains(["dev", "staging", "prod"], var.environment)
    error_message = "Unknown environment name: the AWS environment is one of \"dev\", \"staging\" or \"prod\" (\"local\" is infra/envs/local)."
  }
}

variable "region" {
  description = "AWS region of the platform."
  type        = string
  default     = "us-east-1"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]{2}(-gov)?-[a-z]+-\\d$", var.region))
    error_message = "region must be an AWS region name such as us-east-1."
  }
}

variable "bucket_prefix" {
  description = "First part of every bucket name, <prefix>-<environment>-<purpose>. S3 names are global: use your organisation's name, e.g. acme-ml-platform."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]([a-z0-9-]{0,43}[a-z0-9])?$", var.bucket_prefix)) && !startswith(var.bucket_prefix, "xn--") && !strcontains(var.bucket_prefix, "--")
    error_message = "Invalid bucket name: bucket_prefix must be 1-45 lower-case letters, digits or single hyphens, start and end with a letter or digit, and not start with \"xn--\", so that every <prefix>-<environment>-<purpose> is a valid S3 bucket name."
  }
}

variable "github_repository" {
  description = "The GitHub repository (owner/name) whose Actions may deploy through OIDC."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9_.-]+$", var.github_repository))
    error_message = "github_repository must be owner/name, e.g. acme/ml-platform."
  }
}

variable "create_github_oidc_provider" {
  description = "Create the account's GitHub OIDC provider; false when the account already has one."
  type        = bool
  default     = true
  nullable    = false
}

variable "certificate_arn" {
  description = "ARN of the ACM certificate (in region) of the serve service's HTTPS listener."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:acm:[a-z0-9-]+:\\d{12}:certificate/[0-9a-f-]+$", var.certificate_arn))
    error_message = "certificate_arn must be an ACM certificate ARN, arn:aws:acm:<region>:<account>:certificate/<id>."
  }

  # A load balancer takes a certificate of its own region only; the apply would fail after
  # creating it.
  validation {
    condition     = try(split(":", var.certificate_arn)[3] == var.region, false)
    error_message = "certificate_arn must be a certificate in region (var.region): the load balancer's listener takes only its own region's."
  }
}

variable "vpc_cidr" {
  description = "Address range of the platform's VPC, /16 to /24: it is split into 16 subnets."
  type        = string
  default     = "10.40.0.0/16"
  nullable    = false

  # modules/network cuts 16 subnets of 4 more prefix bits; AWS takes /16 to /28 for each.
  validation {
    condition     = can(regex("/(1[6-9]|2[0-4])$", var.vpc_cidr))
    error_message = "vpc_cidr must be a /16 to /24 range: the network splits it into 16 subnets, and AWS takes none smaller than /28."
  }
}

variable "serve_image_digest" {
  description = "Digest (sha256:...) of the serve image to deploy, set by the deploy job and the andon cord. Null (the default) keeps the live image, whose digest Terraform reads from SSM (/ml-platform-<env>-serve/image-digest); the first apply must set it."
  type        = string
  default     = null

  validation {
    condition     = var.serve_image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.serve_image_digest))
    error_message = "serve_image_digest must be an image digest, sha256: and 64 lower-case hex digits (an image tag such as \"initial\" is not accepted)."
  }
}

variable "terraform_state_bucket" {
  description = "The S3 bucket holding Terraform's state (backend.hcl's bucket); CI's roles may read it, the deploy role write the state object."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.terraform_state_bucket))
    error_message = "Invalid bucket name: terraform_state_bucket must be the state bucket's name (3-63 lower-case letters, digits, dots or hyphens)."
  }
}

variable "terraform_state_key" {
  description = "Key of this environment's state object in the state bucket (backend.hcl's key)."
  type        = string
  default     = "ml-platform/aws/terraform.tfstate"
  nullable    = false

  # The CI roles' state permissions are scoped to this key: an empty one would scope them to
  # the bucket's root.
  validation {
    condition     = can(regex("^[^/\\s]([^\\s]*[^/\\s])?$", var.terraform_state_key))
    error_message = "terraform_state_key must be the state object's key, e.g. ml-platform/aws/terraform.tfstate: not empty, no spaces, no leading or trailing slash."
  }
}

variable "terraform_state_lock_table" {
  description = "The DynamoDB table of the state lock (backend.hcl's dynamodb_table)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9_.-]{3,255}$", var.terraform_state_lock_table))
    error_message = "terraform_state_lock_table must be a DynamoDB table name: 3-255 letters, digits, _, - or ."
  }
}

variable "serve_min_tasks" {
  description = "Fewest serve tasks."
  type        = number
  default     = 2
  nullable    = false

  validation {
    condition     = var.serve_min_tasks >= 1
    error_message = "serve_min_tasks must be at least 1."
  }
}

variable "serve_max_tasks" {
  description = "Most serve tasks."
  type        = number
  default     = 6
  nullable    = false

  validation {
    condition     = var.serve_max_tasks >= var.serve_min_tasks
    error_message = "serve_max_tasks must be at least serve_min_tasks."
  }
}

variable "serve_start_seconds" {
  description = "How long a new serve task may take to become ready before the load balancer's failed health checks count against it; it waits for its serving data a minute less (modules/serve)."
  type        = number
  default     = 300
  nullable    = false

  validation {
    condition     = var.serve_start_seconds >= 120 && var.serve_start_seconds <= 3600 && floor(var.serve_start_seconds) == var.serve_start_seconds
    error_message = "serve_start_seconds must be a whole number of seconds from 120 to 3600."
  }
}

variable "serve_cpu" {
  description = "Fargate CPU units per serve task (1024 = 1 vCPU)."
  type        = number
  default     = 512
  nullable    = false

  validation {
    condition     = contains([256, 512, 1024, 2048, 4096, 8192, 16384], var.serve_cpu)
    error_message = "serve_cpu must be a Fargate task size: 256, 512, 1024, 2048, 4096, 8192 or 16384 CPU units."
  }
}

variable "serve_memory" {
  description = "Fargate memory (MiB) per serve task: each worker holds the model and the online store. Fargate allows only some sizes with each serve_cpu."
  type        = number
  default     = 1024
  nullable    = false

  # Fargate's task sizes (Linux): the memory each CPU size may have.
  validation {
    condition = contains(lookup({
      256   = [512, 1024, 2048]
      512   = range(1024, 4097, 1024)
      1024  = range(2048, 8193, 1024)
      2048  = range(4096, 16385, 1024)
      4096  = range(8192, 30721, 1024)
      8192  = range(16384, 61441, 4096)
      16384 = range(32768, 122881, 8192)
    }, tostring(var.serve_cpu), []), var.serve_memory)
    error_message = "serve_memory is not a size Fargate allows with serve_cpu's CPU units: with 256, 512, 1024 or 2048 MiB; with 512, 1 to 4 GiB; with 1024, 2 to 8 GiB; with 2048, 4 to 16 GiB; with 4096, 8 to 30 GiB (in 1 GiB steps); with 8192, 16 to 60 GiB in 4 GiB steps; with 16384, 32 to 120 GiB in 8 GiB steps."
  }
}

variable "mwaa_environment_class" {
  description = "MWAA size class of the pipeline's Airflow."
  type        = string
  default     = "mw1.small"
  nullable    = false

  validation {
    condition     = contains(["mw1.micro", "mw1.small", "mw1.medium", "mw1.large", "mw1.xlarge", "mw1.2xlarge"], var.mwaa_environment_class)
    error_message = "mwaa_environment_class must be an MWAA environment class: mw1.micro, mw1.small, mw1.medium, mw1.large, mw1.xlarge or mw1.2xlarge."
  }
}

variable "mwaa_bundle_dir" {
  description = "Directory of the MWAA bundle (`./pants run orchestration:mwaa` writes dist/mwaa): its dags.zip and requirements.txt are uploaded. Null uploads nothing."
  type        = string
  default     = null
}

variable "pipeline_ecs" {
  description = <<-EOT
    Run the pipeline's tasks from MWAA as ECS tasks of the services' images (orchestration/README.md,
    "On ECS"): the ECS cluster (name or ARN), each pipeline service's task definition (family,
    family:revision or ARN), the roles those task definitions name (RunTask passes them), and
    optionally `training`, to run the train stage as a SageMaker training job of the train image
    (its image by tag or digest, instance type and count, and the job's volume and time limits).
    The environment fills in the rest: its private subnets, the pipeline's security group, the
    runs' parameters under the artifacts bucket, the stage tasks' log group, and the training
    job's role, output path and working directory. Null (the default): the DAGs load on MWAA and their tasks run nowhere.
  EOT
  type = object({
    cluster          = string
    task_definitions = map(string)
    task_role_arns   = list(string)
    training = optional(object({
      image               = string
      instance_type       = string
      instance_count      = optional(number, 1)
      volume_size_gb      = optional(number)
      max_runtime_seconds = optional(number)
    }))
  })
  default = null

  validation {
    condition     = var.pipeline_ecs == null || try(length(trimspace(var.pipeline_ecs.cluster)) > 0, false)
    error_message = "pipeline_ecs.cluster must name the ECS cluster the stage tasks run in."
  }
  validation {
    condition = var.pipeline_ecs == null || try(
      length(var.pipeline_ecs.task_definitions) > 0 && alltrue([
        for definition in values(var.pipeline_ecs.task_definitions) :
        can(regex("^(arn:[^:]+:ecs:[^:]+:[0-9]{12}:task-definition/)?[A-Za-z0-9_-]{1,255}(:[1-9][0-9]*)?$", definition))
      ]), false
    )
    error_message = "pipeline_ecs.task_definitions must map each pipeline service to a task definition: a family, family:revision or task definition ARN."
  }
  validation {
    condition = var.pipeline_ecs == null || try(
      length(var.pipeline_ecs.task_role_arns) > 0 && alltrue([
        for arn in var.pipeline_ecs.task_role_arns : can(regex("^arn:[^:]+:iam::[0-9]{12}:role/.+$", arn))
      ]), false
    )
    error_message = "pipeline_ecs.task_role_arns must list the IAM role ARNs the stage task definitions name (their task and execution roles)."
  }
  validation {
    condition = try(var.pipeline_ecs.training, null) == null || try(
      can(regex("^[^\\s]+(:[\\w][\\w.-]{0,127}|@sha256:[0-9a-f]{64})$", var.pipeline_ecs.training.image))
      && can(regex("^ml\\.\\S+$", var.pipeline_ecs.training.instance_type))
      && alltrue([
        for value in [
          var.pipeline_ecs.training.instance_count,
          coalesce(var.pipeline_ecs.training.volume_size_gb, 1),
          coalesce(var.pipeline_ecs.training.max_runtime_seconds, 1),
        ] : value >= 1 && floor(value) == value
      ]), false
    )
    error_message = "pipeline_ecs.training needs the train image by tag or digest (<repository>:<tag> or <repository>@sha256:<digest>), a SageMaker instance type (ml.*), and whole numbers above 0 for instance_count, volume_size_gb and max_runtime_seconds."
  }
  validation {
    condition     = try(var.pipeline_ecs.training.max_runtime_seconds, null) == null || try(var.pipeline_ecs.training.max_runtime_seconds <= 2419200, false)
    error_message = "pipeline_ecs.training.max_runtime_seconds must be at most 2419200 (28 days, SageMaker's longest training job)."
  }
}

variable "pipeline_run_timeout_hours" {
  description = "Hours a pipeline run, and each of its tasks, may take before Airflow fails it (the DAGs' flight_delay_run_timeout_hours, orchestration/README.md), exported by MWAA's startup script. Null (the default): the DAGs' own default."
  type        = number
  default     = null

  # What the DAGs accept (settings.run_timeout): any other value fails the pipeline DAG's parse,
  # which on MWAA would show only after the apply, as a DAG that does not load.
  validation {
    condition     = var.pipeline_run_timeout_hours == null ? true : (var.pipeline_run_timeout_hours > 0 && var.pipeline_run_timeout_hours <= 672)
    error_message = "pipeline_run_timeout_hours must be a number of hours above 0 and at most 672, SageMaker's longest training job (a fraction is fine, e.g. 0.5)."
  }
}

variable "deletion_protection" {
  description = "Guard the platform against `terraform destroy`: the load balancer refuses deletion, and buckets holding objects and the image repository holding images are kept. Apply with false, then destroy, to remove everything."
  type        = bool
  default     = true
  nullable    = false
}

variable "ecr_repository_prefix" {
  description = "Name prefix of the image repositories (<prefix>/serve, <prefix>/train); null, the default, is ml-platform-<environment>. An environment applied before the repositories were named per environment sets \"ml-platform\" to keep the ones it has: ECR cannot rename a repository, so another name replaces both and deletes their images."
  type        = string
  default     = null

  validation {
    condition     = var.ecr_repository_prefix == null || can(regex("^[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*$", var.ecr_repository_prefix))
    error_message = "ecr_repository_prefix must be an ECR repository name: lower-case letters and digits, separated by single '.', '_', '-' or '/', with no leading or trailing separator."
  }
}
