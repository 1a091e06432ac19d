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

# Each environment has its own state, in its own workspace (infra/iac/driver_test.py applies two
# side by side): another environment over this state would have replaced its landing zone.
run "another_environment_over_this_workspace_is_refused" {
  command = plan

  variables {
    environment = "ci"
  }

  expect_failures = [var.environment]
}

run "the_workspace_chooses_the_environment_and_the_local_landing_is_kept" {
  command = plan

  assert {
    condition     = output.environment == "local" && fileexists("${output.landing_url}/.terraform-local-location")
    error_message = "The default workspace's environment is not local, or its landing zone is gone."
  }
}
