# Copy to terraform.tfvars (git-ignored) and fill in; Terraform reads it by itself.
environment       = "dev"
region            = "us-east-1"
bucket_prefix     = "acme-ml-platform"
github_repository = "acme/ml-platform"
certificate_arn   = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
