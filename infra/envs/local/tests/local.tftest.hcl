# `terraform test` for the local environment. It applies for real, so give it a scratch
# directory for everything it creates; infra/iac/local_env_test.py runs it as
#
#   terraform -chdir=infra/envs/local test -var build_dir=$tmp -var dvc_remote_dir=$tmp/dvc-remote
#
# with a new temporary directory $tmp, and checks that $tmp is empty again afterwards:
# Terraform destroys what the file applied. (Both values come from the command line because a
# test file cannot declare variables of its own in both Terraform 1.11 and 1.15.)

# Bad input fails at plan time, before anything is created.

run "an_unknown_environment_name_is_refused" {
  command = plan

  variables {
    environment = "qa"
  }

  expect_failures = [var.environment]
}

run "an_invalid_bucket_name_is_refused" {
  command = plan

  variables {
    bucket_prefix = "ML_Platform"
  }

  expect_failures = [var.bucket_prefix]
}

run "a_bucket_name_over_63_characters_is_refused" {
  command = plan

  variables {
    bucket_prefix = "a-very-long-prefix-that-makes-the-bucket-name-too-long"
  }

  expect_failures = [var.bucket_prefix]
}

run "an_empty_build_dir_is_refused" {
  command = plan

  variables {
    build_dir = " "
  }

  expect_failures = [var.build_dir]
}

# The real thing.

run "apply_provisions_the_platform_locations" {
  assert {
    condition     = output.environment == "local"
    error_message = "The default environment is not \"local\"."
  }

  assert {
    condition     = output.dvc_remote_url == abspath(pathexpand(var.dvc_remote_dir))
    error_message = "dvc_remote_url is not the dvc_remote_dir given."
  }

  assert {
    condition     = output.model_store_url == "${abspath(var.build_dir)}/bentoml"
    error_message = "model_store_url is not <build_dir>/bentoml."
  }

  assert {
    condition     = output.landing_url == "${abspath(var.build_dir)}/infra/local/ml-platform-local-landing"
    error_message = "landing_url is not <build_dir>/infra/local/<landing bucket>."
  }

  assert {
    condition = output.bucket_names == {
      dvc       = "ml-platform-local-dvc"
      artifacts = "ml-platform-local-artifacts"
      landing   = "ml-platform-local-landing"
    }
    error_message = "The bucket names do not follow <prefix>-<environment>-<purpose>."
  }

  # Each location exists and carries the marker that lets destroy remove it.
  assert {
    condition = alltrue([
      for url in [output.dvc_remote_url, output.model_store_url, output.landing_url] :
      fileexists("${url}/.terraform-local-location")
    ])
    error_message = "A location was not created."
  }
}

run "a_second_environment_gets_its_own_landing_zone" {
  variables {
    environment = "ci"
  }

  assert {
    condition     = output.landing_url == "${abspath(var.build_dir)}/infra/ci/ml-platform-ci-landing"
    error_message = "landing_url does not follow the environment name."
  }

  assert {
    condition     = fileexists("${output.landing_url}/.terraform-local-location")
    error_message = "The new landing zone was not created."
  }
}
