terraform {
  # terraform_data (1.4), `terraform test` with expect_failures (1.6), and validation blocks
  # that may refer to other variables (1.9).
  required_version = ">= 1.9"

  # No providers: the local environment uses only Terraform's built-in `terraform_data` and
  # `local-exec`, so `terraform init` and `apply` work offline and without a cloud account.

  # State stays out of the source tree, under the git-ignored build/ of the repo. The paths are
  # relative to this directory (Terraform's working directory, e.g. `-chdir=infra/envs/local`).
  # Environment `local` is the default workspace; another environment's state is its
  # workspace's, build/infra/workspaces/<environment>/terraform.tfstate.
  backend "local" {
    path          = "../../../build/infra/local/terraform.tfstate"
    workspace_dir = "../../../build/infra/workspaces"
  }
}
