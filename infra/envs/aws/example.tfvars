# Copy to terraform.tfvars (git-ignored) and fill in; Terraform reads it by itself.
environment                = "dev"
region                     = "us-east-1"
bucket_prefix              = "acme-ml-platform"
github_repository          = "acme/ml-platform"
certificate_arn            = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
terraform_state_bucket     = "acme-ml-platform-tfstate" # backend.hcl's bucket
terraform_state_lock_table = "ml-platform-tfstate-lock" # backend.hcl's dynamodb_table
# An environment applied before its image repositories were named per environment (ml-platform/serve,
# ml-platform/train) keeps them with this; see infra/README.md, "Upgrading".
# ecr_repository_prefix = "ml-platform"
# The first apply only: the digest of the first serve image pushed to the ECR repository (see
# infra/README.md); later applies read the live one.
# serve_image_digest = "sha256:..."
# The pipeline's tasks on ECS from MWAA (orchestration/README.md, "MWAA"): the cluster, each
# pipeline service's task definition, the roles they name; training optionally on SageMaker.
# pipeline_ecs = {
#   cluster          = "ml-platform-dev-pipeline"
#   task_definitions = { ingest = "flight-delay-ingest", feature = "flight-delay-feature", train = "flight-delay-train" }
#   task_role_arns   = ["arn:aws:iam::123456789012:role/flight-delay-pipeline-task", "arn:aws:iam::123456789012:role/flight-delay-pipeline-execution"]
#   training         = { image = "<train_repository_url>:<tag>", instance_type = "ml.m5.xlarge" }
# }
# Hours a pipeline run and each of its tasks may take on MWAA; unset, the DAGs' own default.
# pipeline_run_timeout_hours = 12
