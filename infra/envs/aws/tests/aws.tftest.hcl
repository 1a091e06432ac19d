# `terraform test` for the AWS environment, with the AWS provider mocked: no account, no
# credentials, no network. Terraform still needs the provider's schema, so this runs only where
# the provider is installed (infra/iac/aws_env_test.py points Terraform at $TF_PLUGIN_DIR and
# skips without it). Run by hand:
#
#   terraform -chdir=infra/envs/aws init -backend=false && terraform -chdir=infra/envs/aws test

mock_provider "aws" {
  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
  mock_data "aws_region" {
    defaults = { name = "us-east-1" }
  }
  mock_data "aws_availability_zones" {
    defaults = { names = ["us-east-1a", "us-east-1b"] }
  }
  mock_data "aws_elb_service_account" {
    defaults = { arn = "arn:aws:iam::127311923021:root" }
  }
  # Resources get well-formed ARNs: the provider still validates the values passed around.
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { arn = "arn:aws:s3:::mock-bucket" }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/mock" }
  }
  mock_resource "aws_iam_openid_connect_provider" {
    defaults = { arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:mock" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = { arn = "arn:aws:ecr:us-east-1:123456789012:repository/mock" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/mock/0123456789abcdef" }
  }
  mock_resource "aws_lb_target_group" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:targetgroup/mock/0123456789abcdef" }
  }
  mock_resource "aws_wafv2_web_acl" {
    defaults = { arn = "arn:aws:wafv2:us-east-1:123456789012:regional/webacl/mock/00000000-0000-0000-0000-000000000000" }
  }
  mock_resource "aws_ecs_cluster" {
    defaults = { arn = "arn:aws:ecs:us-east-1:123456789012:cluster/mock" }
  }
  mock_resource "aws_ecs_task_definition" {
    defaults = { arn = "arn:aws:ecs:us-east-1:123456789012:task-definition/mock:1" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_prefix     = "acme-ml-platform"
  github_repository = "acme/ml-platform"
  certificate_arn   = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
}

run "an_unknown_environment_name_is_refused" {
  command = plan
  variables {
    environment = "local"
  }
  expect_failures = [var.environment]
}

run "an_invalid_bucket_name_is_refused" {
  command = plan
  variables {
    bucket_prefix = "Acme_ML"
  }
  expect_failures = [var.bucket_prefix]
}

run "a_malformed_certificate_arn_is_refused" {
  command = plan
  variables {
    certificate_arn = "my-certificate"
  }
  expect_failures = [var.certificate_arn]
}

run "a_malformed_github_repository_is_refused" {
  command = plan
  variables {
    github_repository = "https://github.com/acme/ml-platform"
  }
  expect_failures = [var.github_repository]
}

run "fewer_max_than_min_tasks_is_refused" {
  command = plan
  variables {
    serve_min_tasks = 4
    serve_max_tasks = 2
  }
  expect_failures = [var.serve_max_tasks]
}

run "apply_gives_the_platform_outputs" {
  assert {
    condition     = output.dvc_remote_url == "s3://acme-ml-platform-dev-dvc"
    error_message = "dvc_remote_url is not the DVC bucket."
  }

  assert {
    condition     = output.model_store_url == "s3://acme-ml-platform-dev-artifacts/models"
    error_message = "model_store_url is not under the artifacts bucket."
  }

  assert {
    condition     = output.landing_url == "s3://acme-ml-platform-dev-landing"
    error_message = "landing_url is not the landing bucket."
  }

  assert {
    condition = output.bucket_names == {
      dvc       = "acme-ml-platform-dev-dvc"
      artifacts = "acme-ml-platform-dev-artifacts"
      landing   = "acme-ml-platform-dev-landing"
    }
    error_message = "The bucket names differ from the local environment's naming."
  }

  assert {
    condition     = output.airflow_dag_bucket == "airflow-acme-ml-platform-dev"
    error_message = "MWAA needs its DAG bucket's name to start with airflow-."
  }
}
