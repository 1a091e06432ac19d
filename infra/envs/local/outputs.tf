# The same outputs as infra/envs/aws, with local paths where AWS has s3:// URLs. A path is a
# valid DVC remote URL and fsspec URL, so the pipeline uses either environment unchanged.

output "environment" {
  description = "The environment's name."
  value       = local.environment
}

output "dvc_remote_url" {
  description = "The DVC remote (AWS: s3://<dvc bucket>). The default equals the `local` remote in .dvc/config."
  value       = module.location["dvc_remote"].path
}

output "model_store_url" {
  description = "Where trained models are stored: the BentoML home, BENTOML_HOME (AWS: s3://<artifacts bucket>/models)."
  value       = module.model_store.path
}

output "landing_url" {
  description = "The landing zone that `ingest land` writes to (AWS: s3://<landing bucket>)."
  value       = module.location["landing"].path
}

output "bucket_names" {
  description = "The bucket name of each purpose, the same as the AWS environment's for the same prefix and environment."
  value       = local.bucket_names
}

output "serve_url" {
  description = "Where the serve service answers (AWS: the load balancer's HTTPS URL)."
  value       = "http://127.0.0.1:3000"
}
