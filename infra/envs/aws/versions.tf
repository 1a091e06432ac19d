terraform {
  required_version = ">= 1.9"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = ">= 5.80, < 6.0"
    }
  }

  # State in S3 with a DynamoDB lock table, configured at init time so that no account detail
  # is committed: terraform init -backend-config=backend.hcl, the file `./pants run
  # infra:backend` writes from the terraform_state_* variables (infra/README.md, which also
  # shows how to create the bucket and the table).
  backend "s3" {}
}
