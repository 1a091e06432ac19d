# The platform on AWS: the buckets (DVC remote, model artifacts, landing zone, Airflow DAGs,
# access logs), the image repository, the serve service behind a load balancer, the pipeline's
# Airflow and its working directory (EFS), the SageMaker training role and the CI/CD role, all
# under one KMS key.

locals {
  name = "ml-platform-${var.environment}"
  # ECR cannot rename a repository, so an environment created under the old, shared prefix
  # keeps it through ecr_repository_prefix rather than having its repositories replaced.
  ecr_repository_prefix = coalesce(var.ecr_repository_prefix, local.name)
  # Key prefixes in the artifacts bucket: the BentoML model store CI keeps between runs, the
  # serving data (online store, statistics) the deploy job uploads and the serve tasks read, and
  # the parameters of each pipeline run on ECS (flight_delay_ecs.params_prefix).
  artifact_prefixes = { models = "models", serving = "serving", runs = "runs" }
  # MWAA runs the Airflow the DAGs are locked and tested against; that pin is its only home.
  airflow_version = regex(
    "(?m)^apache-airflow==([0-9.]+)\\s*$",
    file("${path.root}/../../../3rdparty/python/airflow-requirements.txt")
  )[0]
  buckets = {
    dvc       = "${var.bucket_prefix}-${var.environment}-dvc"
    artifacts = "${var.bucket_prefix}-${var.environment}-artifacts"
    landing   = "${var.bucket_prefix}-${var.environment}-landing"
    # MWAA requires its DAG bucket's name to start with airflow-.
    airflow = "airflow-${var.bucket_prefix}-${var.environment}"
    logs    = "${var.bucket_prefix}-${var.environment}-logs"
  }
}

data "aws_region" "current" {}
data "aws_elb_service_account" "current" {}

module "kms" {
  source      = "../../modules/kms"
  name        = local.name
  logs_region = data.aws_region.current.name
}

# Access logs of the buckets and the load balancer. SSE-S3, because load balancers can only
# deliver logs to SSE-S3 buckets.
data "aws_iam_policy_document" "log_delivery" {
  statement {
    sid       = "LoadBalancerAccessLogs"
    actions   = ["s3:PutObject"]
    resources = ["arn:aws:s3:::${local.buckets.logs}/alb/*"]
    principals {
      type        = "AWS"
      identifiers = [data.aws_elb_service_account.current.arn]
    }
  }
  # One statement per logged bucket, each limited to that bucket's prefix and to this account.
  dynamic "statement" {
    for_each = { for purpose, name in local.buckets : purpose => name if purpose != "logs" }
    content {
      sid       = "S3ServerAccessLogs${title(statement.key)}"
      actions   = ["s3:PutObject"]
      resources = ["arn:aws:s3:::${local.buckets.logs}/s3/${statement.value}/*"]
      principals {
        type        = "Service"
        identifiers = ["logging.s3.amazonaws.com"]
      }
      condition {
        test     = "ArnLike"
        variable = "aws:SourceArn"
        values   = ["arn:aws:s3:::${statement.value}"]
      }
    }
  }
}

module "log_bucket" {
  # checkov:skip=CKV_AWS_18: This is the access-log bucket; logging it into itself would loop.
  # checkov:skip=CKV_AWS_145: Load balancers deliver access logs only to SSE-S3 buckets, so this one uses SSE-S3 (AES256), not KMS.
  source                  = "../../modules/s3_bucket"
  name                    = local.buckets.logs
  kms_key_arn             = null
  noncurrent_version_days = 30
  extra_policy_statements = [data.aws_iam_policy_document.log_delivery.json]
  force_destroy           = !var.deletion_protection
}

module "bucket" {
  source            = "../../modules/s3_bucket"
  for_each          = { for purpose, name in local.buckets : purpose => name if purpose != "logs" }
  name              = each.value
  kms_key_arn       = module.kms.arn
  access_log_bucket = module.log_bucket.name
  force_destroy     = !var.deletion_protection
}

module "network" {
  source      = "../../modules/network"
  name        = local.name
  cidr_block  = var.vpc_cidr
  kms_key_arn = module.kms.arn
}

module "ecr" {
  source       = "../../modules/ecr"
  name         = "${local.ecr_repository_prefix}/serve"
  kms_key_arn  = module.kms.arn
  force_delete = !var.deletion_protection
}

# The train image, which a SageMaker training job runs (orchestration/README.md); its build and
# push come with the pipeline services' images.
module "ecr_train" {
  source       = "../../modules/ecr"
  name         = "${local.ecr_repository_prefix}/train"
  kms_key_arn  = module.kms.arn
  force_delete = !var.deletion_protection
}

module "serve" {
  source               = "../../modules/serve"
  name                 = "${local.name}-serve"
  vpc_id               = module.network.vpc_id
  public_subnet_ids    = module.network.public_subnet_ids
  private_subnet_ids   = module.network.private_subnet_ids
  certificate_arn      = var.certificate_arn
  repository_url       = module.ecr.url
  image_digest         = var.serve_image_digest
  ecr_repository_arn   = module.ecr.arn
  artifacts_bucket_arn = module.bucket["artifacts"].arn
  serving_data_prefix  = local.artifact_prefixes.serving
  kms_key_arn          = module.kms.arn
  access_log_bucket    = module.log_bucket.name
  min_tasks            = var.serve_min_tasks
  max_tasks            = var.serve_max_tasks
  cpu                  = var.serve_cpu
  start_seconds        = var.serve_start_seconds
  memory               = var.serve_memory
  deletion_protection  = var.deletion_protection
}

module "mwaa" {
  source             = "../../modules/mwaa"
  name               = local.name
  source_bucket_arn  = module.bucket["airflow"].arn
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  kms_key_arn        = module.kms.arn
  environment_class  = var.mwaa_environment_class
  airflow_version    = local.airflow_version
  data_bucket_arns   = [for purpose in ["dvc", "artifacts", "landing"] : module.bucket[purpose].arn]
  dags_bundle        = var.mwaa_bundle_dir == null ? null : "${var.mwaa_bundle_dir}/dags.zip"
  requirements_file  = var.mwaa_bundle_dir == null ? null : "${var.mwaa_bundle_dir}/requirements.txt"
  ecs_runner = var.pipeline_ecs == null ? null : {
    settings       = local.pipeline_ecs_settings
    task_role_arns = var.pipeline_ecs.task_role_arns
  }
  run_timeout_hours = var.pipeline_run_timeout_hours
}

# The stage tasks' output, which their task definitions' awslogs driver writes here (output
# pipeline_log_configuration) and the DAG's tasks follow.
resource "aws_cloudwatch_log_group" "pipeline" {
  count             = var.pipeline_ecs == null ? 0 : 1
  name              = "/ml-platform/${local.name}-pipeline"
  retention_in_days = 365
  kms_key_id        = module.kms.arn
}

locals {
  pipeline_log_stream_prefix = "pipeline"
  # The DAGs' flight_delay_ecs (orchestration/README.md): what pipeline_ecs gives, in this
  # environment's network, bucket, log group and file system. A training setting left unset is
  # left out, for the DAG's default.
  pipeline_ecs_settings = var.pipeline_ecs == null ? null : merge(
    {
      cluster          = var.pipeline_ecs.cluster
      task_definitions = var.pipeline_ecs.task_definitions
      subnets          = module.network.private_subnet_ids
      security_groups  = [module.pipeline_storage.security_group_id]
      params_prefix    = "s3://${module.bucket["artifacts"].name}/${local.artifact_prefixes.runs}"
      logs             = { group = aws_cloudwatch_log_group.pipeline[0].name, stream_prefix = local.pipeline_log_stream_prefix }
    },
    var.pipeline_ecs.training == null ? {} : {
      sagemaker = { for key, value in {
        image               = var.pipeline_ecs.training.image
        role_arn            = module.sagemaker_role.arn
        instance_type       = var.pipeline_ecs.training.instance_type
        instance_count      = var.pipeline_ecs.training.instance_count
        output_path         = "s3://${module.bucket["artifacts"].name}/${local.artifact_prefixes.models}/sagemaker"
        file_system_id      = module.pipeline_storage.file_system_id
        directory_path      = module.pipeline_storage.directory_path
        volume_size_gb      = var.pipeline_ecs.training.volume_size_gb
        max_runtime_seconds = var.pipeline_ecs.training.max_runtime_seconds
      } : key => value if value != null }
    },
  )
}

# The pipeline's working directory, shared by its stage tasks and a SageMaker training job.
module "pipeline_storage" {
  source             = "../../modules/pipeline_storage"
  name               = "${local.name}-pipeline"
  vpc_id             = module.network.vpc_id
  private_subnet_ids = module.network.private_subnet_ids
  kms_key_arn        = module.kms.arn
}

module "sagemaker_role" {
  source              = "../../modules/sagemaker_role"
  name                = "${local.name}-sagemaker-training"
  data_bucket_arn     = module.bucket["dvc"].arn
  artifact_bucket_arn = module.bucket["artifacts"].arn
  ecr_repository_arn  = module.ecr_train.arn
  kms_key_arn         = module.kms.arn
}

module "github_oidc" {
  source                     = "../../modules/github_oidc"
  name                       = "${local.name}-github-actions"
  platform_name              = local.name
  github_repository          = var.github_repository
  create_provider            = var.create_github_oidc_provider
  state_bucket               = var.terraform_state_bucket
  state_key                  = var.terraform_state_key
  state_lock_table           = var.terraform_state_lock_table
  bucket_arns                = merge({ for purpose, bucket in module.bucket : purpose => bucket.arn }, { logs = module.log_bucket.arn })
  artifact_prefixes          = { models = local.artifact_prefixes.models, serving = local.artifact_prefixes.serving }
  kms_key_arn                = module.kms.arn
  ecr_repository_arn         = module.ecr.arn
  repository_arns            = [module.ecr.arn, module.ecr_train.arn]
  ecs_cluster_arn            = module.serve.cluster_arn
  ecs_service_arn            = module.serve.service_arn
  task_definition_family     = module.serve.task_definition_family
  task_role_arns             = module.serve.task_role_arns
  image_digest_parameter_arn = module.serve.image_digest_parameter_arn
  web_acl_arn                = module.serve.web_acl_arn
  load_balancer_arn          = module.serve.load_balancer_arn
  vpc_id                     = module.network.vpc_id
  airflow_environment_name   = local.name
  file_system_arn            = module.pipeline_storage.file_system_arn
  access_point_arn           = module.pipeline_storage.access_point_arn
}
