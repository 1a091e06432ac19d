# The pipeline's Airflow: an MWAA environment reading its DAGs from the `airflow-` bucket,
# reachable only from inside the VPC, with every log kind in CloudWatch. Given the MWAA bundle
# (`./pants run orchestration:mwaa` writes dist/mwaa/), it uploads the DAGs and requirements.txt
# and points the environment at them. Given the ecs runner's settings, its startup script exports
# them to the DAGs and its execution role may start, follow and stop the stage tasks and the
# training job (iac/airflow_permissions.py lists those calls; aws_emulator_test checks the grants).
# Given a run timeout, the startup script exports it too.

variable "name" {
  description = "Name of the environment (MWAA's own resources are named after it)."
  type        = string
}

variable "source_bucket_arn" {
  description = "ARN of the DAG bucket; MWAA requires its name to start with airflow-."
  type        = string
}

variable "vpc_id" {
  description = "The VPC to run in."
  type        = string
}

variable "private_subnet_ids" {
  description = "Two private subnets in different zones."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key of the environment's data."
  type        = string
}

variable "data_bucket_arns" {
  description = "Buckets the DAGs read and write (landing zone, DVC remote, artifacts)."
  type        = list(string)
}

variable "airflow_version" {
  description = "Airflow version MWAA runs: the one the DAGs are locked against (3rdparty/python/airflow-requirements.txt)."
  type        = string
}

variable "dags_bundle" {
  description = "Local path of the packaged DAGs (dist/mwaa/dags.zip); uploaded to dags/. Null uploads none."
  type        = string
  default     = null
}

variable "requirements_file" {
  description = "Local path of the DAGs' requirements.txt (dist/mwaa/requirements.txt). Null: MWAA's image only."
  type        = string
  default     = null
}

variable "ecs_runner" {
  description = <<-EOT
    Run the pipeline's tasks as ECS tasks (flight_delay_runner = ecs, orchestration/README.md):
    `settings` is the flight_delay_ecs object the DAGs read while they parse, and
    `task_role_arns` the roles the stage task definitions name, which RunTask hands to ECS.
    Null: the local runner.
  EOT
  type = object({
    settings       = any
    task_role_arns = list(string)
  })
  default = null
}

variable "run_timeout_hours" {
  description = "Hours a pipeline run, and each of its tasks, may take (flight_delay_run_timeout_hours, orchestration/README.md), exported by the startup script. Null: the DAGs' own default."
  type        = number
  default     = null
}

variable "environment_class" {
  description = "MWAA size class."
  type        = string
  default     = "mw1.small"
}

data "aws_caller_identity" "current" {}
data "aws_partition" "current" {}
data "aws_region" "current" {}

locals {
  arn_prefix    = "arn:${data.aws_partition.current.partition}"
  account       = data.aws_caller_identity.current.account_id
  region        = data.aws_region.current.name
  source_bucket = element(split(":::", var.source_bucket_arn), 1)

  # What the ecs runner's settings name, as IAM sees it: the cluster's ARN (the settings may give
  # its name), the task definitions' families (given as a family, family:revision or an ARN),
  # and the training job's role, if training runs on SageMaker.
  ecs         = var.ecs_runner == null ? null : var.ecs_runner.settings
  ecs_cluster = local.ecs == null ? "" : local.ecs.cluster
  cluster_arn = startswith(local.ecs_cluster, "arn:") ? local.ecs_cluster : "${local.arn_prefix}:ecs:${local.region}:${local.account}:cluster/${local.ecs_cluster}"
  cluster     = element(split("/", local.cluster_arn), 1)
  task_families = local.ecs == null ? [] : distinct([
    for definition in values(local.ecs.task_definitions) :
    split(":", startswith(definition, "arn:") ? element(split("/", definition), 1) : definition)[0]
  ])
  training_role_arn = local.ecs == null ? null : try(local.ecs.sagemaker.role_arn, null)
  task_log_group    = local.ecs == null ? null : try(local.ecs.logs.group, null)

  # A startup script only when there is a setting to export.
  startup = var.ecs_runner != null || var.run_timeout_hours != null
}

# The bundle's files. source_hash, not etag, re-uploads on a change: under SSE-KMS an object's
# ETag is not its MD5, so `etag = filemd5(...)` would show a diff on every plan.
resource "aws_s3_object" "dags" {
  count       = var.dags_bundle == null ? 0 : 1
  bucket      = local.source_bucket
  key         = "dags/flight_delay.zip"
  source      = var.dags_bundle
  source_hash = filemd5(var.dags_bundle)
  kms_key_id  = var.kms_key_arn
}

resource "aws_s3_object" "requirements" {
  count       = var.requirements_file == null ? 0 : 1
  bucket      = local.source_bucket
  key         = "requirements.txt"
  source      = var.requirements_file
  source_hash = filemd5(var.requirements_file)
  kms_key_id  = var.kms_key_arn
}

module "startup" {
  source            = "./startup"
  count             = local.startup ? 1 : 0
  ecs_settings      = var.ecs_runner == null ? null : var.ecs_runner.settings
  run_timeout_hours = var.run_timeout_hours
}

resource "aws_s3_object" "startup_script" {
  count        = local.startup ? 1 : 0
  bucket       = local.source_bucket
  key          = "startup.sh"
  content      = module.startup[0].content
  content_type = "text/x-shellscript"
  kms_key_id   = var.kms_key_arn
}

resource "aws_security_group" "this" {
  name        = "${var.name}-airflow"
  description = "Airflow workers and web server: each other, and HTTPS out"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "self" {
  security_group_id            = aws_security_group.this.id
  description                  = "Airflow components talk to each other (MWAA requirement)"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "-1"
}

resource "aws_vpc_security_group_egress_rule" "https" {
  security_group_id = aws_security_group.this.id
  description       = "HTTPS to AWS APIs and the package index"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "postgres" {
  security_group_id            = aws_security_group.this.id
  description                  = "Airflow's metadata database (MWAA-managed, inside the group)"
  referenced_security_group_id = aws_security_group.this.id
  ip_protocol                  = "tcp"
  from_port                    = 5432
  to_port                      = 5432
}

data "aws_iam_policy_document" "assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["airflow.amazonaws.com", "airflow-env.amazonaws.com"]
    }
  }
}

# The execution role documented for MWAA, scoped to this environment, plus the data buckets.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "PublishMetrics"
    actions   = ["airflow:PublishMetrics"]
    resources = ["${local.arn_prefix}:airflow:${local.region}:${local.account}:environment/${var.name}"]
  }
  statement {
    sid = "ReadDags"
    actions = [
      "s3:GetObject", "s3:GetObjectVersion", "s3:GetBucketLocation",
      "s3:GetBucketPublicAccessBlock", "s3:ListBucket",
    ]
    resources = [var.source_bucket_arn, "${var.source_bucket_arn}/*"]
  }
  statement {
    sid       = "UseData"
    actions   = ["s3:GetObject", "s3:PutObject", "s3:ListBucket"]
    resources = concat(var.data_bucket_arns, [for arn in var.data_bucket_arns : "${arn}/*"])
  }
  statement {
    sid = "WriteAirflowLogs"
    actions = [
      "logs:CreateLogStream", "logs:CreateLogGroup", "logs:PutLogEvents", "logs:GetLogEvents",
      "logs:GetLogRecord", "logs:GetLogGroupFields", "logs:GetQueryResults",
    ]
    resources = ["${local.arn_prefix}:logs:${local.region}:${local.account}:log-group:airflow-${var.name}-*"]
  }
  statement {
    sid       = "DescribeLogGroups"
    actions   = ["logs:DescribeLogGroups"]
    resources = ["${local.arn_prefix}:logs:${local.region}:${local.account}:log-group:*"]
  }
  statement {
    sid       = "PublishAirflowMetrics"
    actions   = ["cloudwatch:PutMetricData"]
    resources = ["*"] # PutMetricData has no resource-level permissions
    condition {
      test     = "StringEquals"
      variable = "cloudwatch:namespace"
      values   = ["AmazonMWAA"]
    }
  }
  statement {
    sid       = "CeleryQueues"
    actions   = ["sqs:ChangeMessageVisibility", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:GetQueueUrl", "sqs:ReceiveMessage", "sqs:SendMessage"]
    resources = ["${local.arn_prefix}:sqs:${local.region}:*:airflow-celery-*"]
  }
  statement {
    sid       = "UseTheKey"
    actions   = ["kms:Decrypt", "kms:DescribeKey", "kms:GenerateDataKey*", "kms:Encrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-airflow"
  assume_role_policy = data.aws_iam_policy_document.assume.json
}

resource "aws_iam_role_policy" "execution" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# What the ecs runner calls (EcsRunTaskOperator, SageMakerTrainingOperator), in a policy of its
# own so that it comes and goes with the runner: the runs' parameters go to the artifacts bucket,
# which UseData above covers.
data "aws_iam_policy_document" "ecs_runner" {
  count = var.ecs_runner == null ? 0 : 1

  # The run's first task fixes the revision of each stage's task definition, which its stages
  # then run (a release registered mid-run does not reach them). AWS authorizes this on "*" only.
  statement {
    sid       = "PinStageTaskDefinitions"
    actions   = ["ecs:DescribeTaskDefinition"]
    resources = ["*"]
  }
  statement {
    sid       = "RunStageTasks"
    actions   = ["ecs:RunTask"]
    resources = [for family in local.task_families : "${local.arn_prefix}:ecs:${local.region}:${local.account}:task-definition/${family}:*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }
  statement {
    sid       = "FollowAndStopStageTasks"
    actions   = ["ecs:DescribeTasks", "ecs:StopTask"]
    resources = ["${local.arn_prefix}:ecs:${local.region}:${local.account}:task/${local.cluster}/*"]
  }
  # A retry looks for the task its first try started (reattach). ListTasks takes no task ARN:
  # AWS scopes it to a cluster by this condition.
  statement {
    sid       = "FindStartedStageTasks"
    actions   = ["ecs:ListTasks"]
    resources = ["*"]
    condition {
      test     = "ArnEquals"
      variable = "ecs:cluster"
      values   = [local.cluster_arn]
    }
  }
  dynamic "statement" {
    for_each = local.task_log_group == null ? [] : [local.task_log_group]
    content {
      sid       = "FollowStageTaskLogs"
      actions   = ["logs:GetLogEvents"]
      resources = ["${local.arn_prefix}:logs:${local.region}:${local.account}:log-group:${statement.value}:log-stream:*"]
    }
  }
  statement {
    sid       = "PassStageTaskRoles"
    actions   = ["iam:PassRole"]
    resources = var.ecs_runner.task_role_arns
    condition {
      test     = "StringEquals"
      variable = "iam:PassedToService"
      values   = ["ecs-tasks.amazonaws.com"]
    }
  }
  # With training on SageMaker: the operator describes a job's name before it creates it (a
  # retry's is taken), follows the job and its log, and on_kill stops it. The DAG names every job
  # train-<run>-<digest>.
  dynamic "statement" {
    for_each = local.training_role_arn == null ? {} : {
      RunTrainingJobs = {
        actions   = ["sagemaker:CreateTrainingJob", "sagemaker:DescribeTrainingJob", "sagemaker:StopTrainingJob"]
        resources = ["${local.arn_prefix}:sagemaker:${local.region}:${local.account}:training-job/train-*"]
        passed_to = null
      }
      PassTrainingRole = {
        actions   = ["iam:PassRole"]
        resources = [local.training_role_arn]
        passed_to = "sagemaker.amazonaws.com"
      }
      ReadTrainingLogs = {
        actions   = ["logs:DescribeLogStreams", "logs:GetLogEvents"]
        resources = ["${local.arn_prefix}:logs:${local.region}:${local.account}:log-group:/aws/sagemaker/TrainingJobs:*"]
        passed_to = null
      }
    }
    content {
      sid       = statement.key
      actions   = statement.value.actions
      resources = statement.value.resources
      dynamic "condition" {
        for_each = statement.value.passed_to == null ? [] : [statement.value.passed_to]
        content {
          test     = "StringEquals"
          variable = "iam:PassedToService"
          values   = [condition.value]
        }
      }
    }
  }
}

resource "aws_iam_role_policy" "ecs_runner" {
  count  = var.ecs_runner == null ? 0 : 1
  name   = "ecs-runner"
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.ecs_runner[0].json
}

resource "aws_mwaa_environment" "this" {
  name               = var.name
  airflow_version    = var.airflow_version
  environment_class  = var.environment_class
  execution_role_arn = aws_iam_role.execution.arn
  source_bucket_arn  = var.source_bucket_arn
  dag_s3_path        = "dags/"
  # MWAA installs a new requirements.txt only when its object version changes.
  requirements_s3_path           = var.requirements_file == null ? null : aws_s3_object.requirements[0].key
  requirements_s3_object_version = var.requirements_file == null ? null : aws_s3_object.requirements[0].version_id
  # Likewise the startup script, which every Airflow component runs before it starts.
  startup_script_s3_path           = local.startup ? aws_s3_object.startup_script[0].key : null
  startup_script_s3_object_version = local.startup ? aws_s3_object.startup_script[0].version_id : null
  kms_key                          = var.kms_key_arn
  webserver_access_mode            = "PRIVATE_ONLY"
  max_workers                      = 4

  network_configuration {
    security_group_ids = [aws_security_group.this.id]
    subnet_ids         = slice(var.private_subnet_ids, 0, 2)
  }

  logging_configuration {
    dag_processing_logs {
      enabled   = true
      log_level = "INFO"
    }
    scheduler_logs {
      enabled   = true
      log_level = "INFO"
    }
    task_logs {
      enabled   = true
      log_level = "INFO"
    }
    webserver_logs {
      enabled   = true
      log_level = "INFO"
    }
    worker_logs {
      enabled   = true
      log_level = "INFO"
    }
  }
}

output "webserver_url" {
  description = "The Airflow UI, reachable from inside the VPC."
  value       = "https://${aws_mwaa_environment.this.webserver_url}"
}

output "execution_role_arn" {
  description = "The role Airflow's tasks run as."
  value       = aws_iam_role.execution.arn
}

output "startup_script" {
  description = "The environment's startup script (the ecs runner's settings, the run timeout), null without either."
  value       = local.startup ? module.startup[0].content : null
}
