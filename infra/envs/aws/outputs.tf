# The same outputs as infra/envs/local, plus what only the cloud has.

output "environment" {
  description = "The environment's name."
  value       = var.environment
}

output "dvc_remote_url" {
  description = "The DVC remote (local: a directory)."
  value       = "s3://${module.bucket["dvc"].name}"
}

output "model_store_url" {
  description = "Where trained models are stored (local: the BentoML home)."
  value       = "s3://${module.bucket["artifacts"].name}/${local.artifact_prefixes.models}"
}

output "serving_data_url" {
  description = "Where the deploy job publishes each model's serving data and its serve tasks read it, {model_version} standing for the version (local: the repo's data/)."
  value       = module.serve.serving_data_url
}

output "landing_url" {
  description = "The landing zone that `ingest land` writes to (local: a directory)."
  value       = "s3://${module.bucket["landing"].name}"
}

output "bucket_names" {
  description = "The bucket name of each purpose."
  value       = { for purpose in ["dvc", "artifacts", "landing"] : purpose => module.bucket[purpose].name }
}

output "serve_url" {
  description = "The serve service's HTTPS URL."
  value       = module.serve.url
}

output "ecr_repository_url" {
  description = "Where CI pushes the service image."
  value       = module.ecr.url
}

output "train_repository_url" {
  description = "The train image's repository: a SageMaker training job's image (the role may pull from it only)."
  value       = module.ecr_train.url
}

output "airflow_url" {
  description = "The pipeline's Airflow UI (inside the VPC)."
  value       = module.mwaa.webserver_url
}

output "airflow_dag_bucket" {
  description = "Bucket to upload the pipeline's DAGs to (under dags/)."
  value       = module.bucket["airflow"].name
}

output "sagemaker_training_role_arn" {
  description = "RoleArn for SageMaker training jobs."
  value       = module.sagemaker_role.arn
}

output "pipeline_storage" {
  description = "The pipeline's working directory on EFS and where its tasks run: flight_delay_ecs' subnets and security_groups, and its sagemaker block's file_system_id and directory_path (orchestration/README.md)."
  value = {
    file_system_id    = module.pipeline_storage.file_system_id
    access_point_id   = module.pipeline_storage.access_point_id
    directory_path    = module.pipeline_storage.directory_path
    security_group_id = module.pipeline_storage.security_group_id
    subnet_ids        = module.network.private_subnet_ids
  }
}

output "airflow_ecs_settings" {
  description = "The flight_delay_ecs settings MWAA's startup script gives the DAGs (JSON), null without pipeline_ecs."
  value       = local.pipeline_ecs_settings == null ? null : jsonencode(local.pipeline_ecs_settings)
}

output "pipeline_log_configuration" {
  description = "The logConfiguration of the stage task definitions (pipeline_ecs), whose output the DAG's tasks follow; their execution role may write the group. Null without pipeline_ecs."
  value = var.pipeline_ecs == null ? null : {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.pipeline[0].name
      awslogs-region        = data.aws_region.current.name
      awslogs-stream-prefix = local.pipeline_log_stream_prefix
    }
  }
}

output "github_plan_role_arn" {
  description = "role-to-assume of the terraform-plan job (read-only): the aws environment's AWS_PLAN_ROLE_ARN."
  value       = module.github_oidc.plan_role_arn
}

output "github_deploy_role_arn" {
  description = "role-to-assume of the deploy job and the andon cord: the aws environment's AWS_DEPLOY_ROLE_ARN."
  value       = module.github_oidc.deploy_role_arn
}

output "serve_image" {
  description = "The image the serve service runs, <repository url>@<digest>."
  value       = module.serve.image
}

output "serve_image_digest_parameter" {
  description = "The SSM parameter that records the serve image's live digest."
  value       = module.serve.image_digest_parameter
}
