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
  mock_resource "aws_efs_file_system" {
    defaults = { arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:file-system/fs-0123456789abcdef0" }
  }
  mock_resource "aws_efs_access_point" {
    defaults = { arn = "arn:aws:elasticfilesystem:us-east-1:123456789012:access-point/fsap-0123456789abcdef0" }
  }
  mock_resource "aws_ecr_repository" {
    defaults = { arn = "arn:aws:ecr:us-east-1:123456789012:repository/mock" }
  }
  mock_resource "aws_lb" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:loadbalancer/app/mock/0123456789abcdef" }
  }
  mock_resource "aws_lb_listener" {
    defaults = { arn = "arn:aws:elasticloadbalancing:us-east-1:123456789012:listener/app/mock/0123456789abcdef/0123456789abcdef" }
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
  mock_data "aws_ssm_parameter" {
    defaults = { insecure_value = "sha256:2222222222222222222222222222222222222222222222222222222222222222" }
  }
  mock_resource "aws_ssm_parameter" {
    defaults = { arn = "arn:aws:ssm:us-east-1:123456789012:parameter/ml-platform-dev-serve/image-digest" }
  }
  mock_resource "aws_mwaa_environment" {
    defaults = { arn = "arn:aws:airflow:us-east-1:123456789012:environment/ml-platform-dev", webserver_url = "mock.airflow.us-east-1.on.aws" }
  }
  mock_data "aws_iam_policy_document" {
    defaults = { json = "{\"Version\":\"2012-10-17\",\"Statement\":[]}" }
  }
}

variables {
  bucket_prefix              = "acme-ml-platform"
  github_repository          = "acme/ml-platform"
  certificate_arn            = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  terraform_state_bucket     = "acme-ml-platform-tfstate"
  terraform_state_lock_table = "ml-platform-tfstate-lock"
  serve_image_digest         = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
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

# In the region asked for, so only the format check can refuse it: expect_failures on
# var.certificate_arn is met by either of its validations, and "my-certificate" failed the region
# check too, so this run passed with the format check removed.
run "a_malformed_certificate_arn_is_refused" {
  command = plan
  variables {
    certificate_arn = "arn:aws:acm:us-east-1:123456789012:my-certificate"
  }
  expect_failures = [var.certificate_arn]
}

run "a_certificate_of_another_region_is_refused" {
  command = plan
  variables {
    certificate_arn = "arn:aws:acm:eu-west-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
  }
  expect_failures = [var.certificate_arn]
}

run "a_vpc_too_small_for_its_subnets_is_refused" {
  command = plan
  variables {
    vpc_cidr = "10.40.0.0/26"
  }
  expect_failures = [var.vpc_cidr]
}

run "an_empty_state_key_is_refused" {
  command = plan
  variables {
    terraform_state_key = ""
  }
  expect_failures = [var.terraform_state_key]
}

run "an_unknown_mwaa_class_is_refused" {
  command = plan
  variables {
    mwaa_environment_class = "mw1.tiny"
  }
  expect_failures = [var.mwaa_environment_class]
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

run "a_serve_start_time_outside_two_minutes_to_an_hour_is_refused" {
  command = plan
  variables {
    serve_start_seconds = 60
  }
  expect_failures = [var.serve_start_seconds]
}

run "a_cpu_size_fargate_does_not_have_is_refused" {
  command = plan
  variables {
    serve_cpu = 768
  }
  expect_failures = [var.serve_cpu]
}

run "memory_fargate_does_not_allow_with_the_cpu_is_refused" {
  command = plan
  variables {
    serve_cpu    = 1024
    serve_memory = 1024
  }
  expect_failures = [var.serve_memory]
}

run "the_serve_tasks_get_the_cpu_and_memory_asked_for" {
  command = plan
  variables {
    serve_cpu    = 2048
    serve_memory = 6144
  }

  assert {
    condition     = module.serve.task_size == { cpu = "2048", memory = "6144" }
    error_message = "The serve task definition does not have serve_cpu and serve_memory."
  }
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

  # What the serve tasks read, one prefix per model version: built from the bucket's ARN, which
  # the mocked provider makes up (the emulator test checks the whole URL).
  assert {
    condition     = can(regex("^s3://[^/]+/serving/\\{model_version\\}$", output.serving_data_url))
    error_message = "serving_data_url is not the per-model serving prefix of a bucket."
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

  assert {
    condition     = output.airflow_ecs_settings == null && module.mwaa.startup_script == null && output.pipeline_log_configuration == null
    error_message = "Without pipeline_ecs or pipeline_run_timeout_hours, MWAA gets no startup script."
  }
}

# Everything else in an account is named per environment; so are the image repositories, or a
# second environment's apply fails on a name the first one holds.
run "each_environment_has_its_own_image_repositories" {
  command = plan
  variables {
    environment = "staging"
  }

  assert {
    condition     = module.ecr.name == "ml-platform-staging/serve" && module.ecr_train.name == "ml-platform-staging/train"
    error_message = "The image repositories are not named after the environment."
  }
}

# An environment applied before the repositories were named per environment keeps its own:
# ECR has no rename, so a new name would replace them and delete their images.
run "an_environment_from_before_keeps_its_image_repositories" {
  command = plan
  variables {
    environment           = "staging"
    ecr_repository_prefix = "ml-platform"
  }

  assert {
    condition     = module.ecr.name == "ml-platform/serve" && module.ecr_train.name == "ml-platform/train"
    error_message = "ecr_repository_prefix does not name the image repositories."
  }
}

run "a_malformed_ecr_repository_prefix_is_refused" {
  command = plan
  variables {
    ecr_repository_prefix = "ML-Platform/"
  }
  expect_failures = [var.ecr_repository_prefix]
}

run "the_ecs_runner_gets_its_settings_in_this_environment" {
  variables {
    pipeline_ecs = {
      cluster = "ml-platform-dev-pipeline"
      task_definitions = {
        ingest  = "flight-delay-ingest"
        feature = "flight-delay-feature:3"
        train   = "arn:aws:ecs:us-east-1:123456789012:task-definition/flight-delay-train:7"
      }
      task_role_arns = ["arn:aws:iam::123456789012:role/pipeline-task", "arn:aws:iam::123456789012:role/pipeline-execution"]
      training = {
        image               = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-dev/train:v1"
        instance_type       = "ml.m5.xlarge"
        max_runtime_seconds = 7200
      }
    }
    pipeline_run_timeout_hours = 12
  }

  assert {
    condition     = jsondecode(output.airflow_ecs_settings).params_prefix == "s3://acme-ml-platform-dev-artifacts/runs"
    error_message = "The runs' parameters go under runs/ of the artifacts bucket."
  }

  assert {
    condition = (
      jsondecode(output.airflow_ecs_settings).subnets == module.network.private_subnet_ids
      && jsondecode(output.airflow_ecs_settings).security_groups == [module.pipeline_storage.security_group_id]
    )
    error_message = "The stage tasks run in the private subnets and the pipeline's security group."
  }

  # volume_size_gb is left out, for the DAG's default; the rest comes from this environment.
  assert {
    condition = jsondecode(output.airflow_ecs_settings).sagemaker == {
      image               = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-dev/train:v1"
      role_arn            = output.sagemaker_training_role_arn
      instance_type       = "ml.m5.xlarge"
      instance_count      = 1
      output_path         = "s3://acme-ml-platform-dev-artifacts/models/sagemaker"
      file_system_id      = module.pipeline_storage.file_system_id
      directory_path      = "/pipeline"
      max_runtime_seconds = 7200
    }
    error_message = "The training job's settings are not the environment's role, bucket and file system."
  }

  # The tasks follow the log group the task definitions are told to write to.
  assert {
    condition = (
      jsondecode(output.airflow_ecs_settings).logs == {
        group         = output.pipeline_log_configuration.options["awslogs-group"]
        stream_prefix = output.pipeline_log_configuration.options["awslogs-stream-prefix"]
      }
      && output.pipeline_log_configuration.options["awslogs-region"] == "us-east-1"
    )
    error_message = "The ECS settings' logs block is not the task definitions' log configuration."
  }

  assert {
    condition     = strcontains(module.mwaa.startup_script, "export AIRFLOW_VAR_FLIGHT_DELAY_RUNNER=ecs\n")
    error_message = "MWAA's startup script does not choose the ecs runner."
  }

  assert {
    condition     = strcontains(module.mwaa.startup_script, "export AIRFLOW_VAR_FLIGHT_DELAY_RUN_TIMEOUT_HOURS=12\n")
    error_message = "MWAA's startup script does not give the DAGs pipeline_run_timeout_hours."
  }
}

# The timeout is a setting of the DAGs, whatever their runner: without pipeline_ecs the script
# exports it alone.
run "a_run_timeout_alone_gets_a_startup_script_of_its_own" {
  command = plan
  variables {
    pipeline_run_timeout_hours = 0.5
  }

  assert {
    condition = (
      strcontains(module.mwaa.startup_script, "export AIRFLOW_VAR_FLIGHT_DELAY_RUN_TIMEOUT_HOURS=0.5\n")
      && !strcontains(module.mwaa.startup_script, "AIRFLOW_VAR_FLIGHT_DELAY_RUNNER")
    )
    error_message = "Without pipeline_ecs, MWAA's startup script must export the run timeout and no runner."
  }
}

run "a_run_timeout_of_no_hours_is_refused" {
  command = plan
  variables {
    pipeline_run_timeout_hours = 0
  }
  expect_failures = [var.pipeline_run_timeout_hours]
}

run "a_run_timeout_over_sagemakers_longest_job_is_refused" {
  command = plan
  variables {
    pipeline_run_timeout_hours = 673
  }
  expect_failures = [var.pipeline_run_timeout_hours]
}

# One fault per run: expect_failures on var.pipeline_ecs is met by any of its validations, so a
# run with two faults would still pass with one of the two checks gone.
run "an_ecs_runner_without_a_cluster_is_refused" {
  command = plan
  variables {
    pipeline_ecs = {
      cluster          = ""
      task_definitions = { ingest = "flight-delay-ingest" }
      task_role_arns   = ["arn:aws:iam::123456789012:role/pipeline-task"]
    }
  }
  expect_failures = [var.pipeline_ecs]
}

run "an_ecs_runner_with_a_malformed_task_definition_is_refused" {
  command = plan
  variables {
    pipeline_ecs = {
      cluster          = "ml-platform-dev-pipeline"
      task_definitions = { ingest = "flight delay ingest" }
      task_role_arns   = ["arn:aws:iam::123456789012:role/pipeline-task"]
    }
  }
  expect_failures = [var.pipeline_ecs]
}

run "an_ecs_runner_with_a_role_name_for_a_role_arn_is_refused" {
  command = plan
  variables {
    pipeline_ecs = {
      cluster          = "ml-platform-dev-pipeline"
      task_definitions = { ingest = "flight-delay-ingest" }
      task_role_arns   = ["pipeline-task"]
    }
  }
  expect_failures = [var.pipeline_ecs]
}

run "a_training_job_with_an_untagged_image_is_refused" {
  command = plan
  variables {
    pipeline_ecs = {
      cluster          = "ml-platform-dev-pipeline"
      task_definitions = { train = "flight-delay-train" }
      task_role_arns   = ["arn:aws:iam::123456789012:role/pipeline-task"]
      training = {
        image         = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-dev/train"
        instance_type = "ml.m5.xlarge"
      }
    }
  }
  expect_failures = [var.pipeline_ecs]
}

run "a_training_job_with_a_fractional_instance_count_is_refused" {
  command = plan
  variables {
    pipeline_ecs = {
      cluster          = "ml-platform-dev-pipeline"
      task_definitions = { train = "flight-delay-train" }
      task_role_arns   = ["arn:aws:iam::123456789012:role/pipeline-task"]
      training = {
        image          = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-dev/train:v1"
        instance_type  = "ml.m5.xlarge"
        instance_count = 1.5
      }
    }
  }
  expect_failures = [var.pipeline_ecs]
}

# SageMaker refuses a longer job at CreateTrainingJob (botocore's model has no maximum), after
# the stages before training have run.
run "a_training_job_longer_than_sagemakers_longest_is_refused" {
  command = plan
  variables {
    pipeline_ecs = {
      cluster          = "ml-platform-dev-pipeline"
      task_definitions = { train = "flight-delay-train" }
      task_role_arns   = ["arn:aws:iam::123456789012:role/pipeline-task"]
      training = {
        image               = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-dev/train:v1"
        instance_type       = "ml.m5.xlarge"
        max_runtime_seconds = 2419201
      }
    }
  }
  expect_failures = [var.pipeline_ecs]
}

run "a_malformed_image_digest_is_refused" {
  command = plan
  variables {
    serve_image_digest = "latest"
  }
  expect_failures = [var.serve_image_digest]
}

# The emulator (moto) cannot serve MWAA's API (its endpoint has a host prefix), so the Airflow
# environment is checked here: infra/iac/aws_emulator_test.py applies everything else for real.
run "airflow_runs_the_locked_airflow_privately_from_its_bucket" {
  command = plan
  module {
    source = "../../modules/mwaa"
  }
  variables {
    name               = "ml-platform-dev"
    source_bucket_arn  = "arn:aws:s3:::airflow-acme-ml-platform-dev"
    vpc_id             = "vpc-0123456789abcdef0"
    private_subnet_ids = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    data_bucket_arns   = ["arn:aws:s3:::acme-ml-platform-dev-dvc"]
    airflow_version    = "2.10.3"
    ecs_runner = {
      settings       = { cluster = "c", task_definitions = { ingest = "i" } }
      task_role_arns = ["arn:aws:iam::123456789012:role/pipeline-task"]
    }
  }

  assert {
    condition     = aws_mwaa_environment.this.webserver_access_mode == "PRIVATE_ONLY"
    error_message = "The Airflow web server must be private."
  }

  assert {
    condition     = aws_mwaa_environment.this.dag_s3_path == "dags/"
    error_message = "MWAA reads the DAGs from dags/ of its bucket."
  }

  assert {
    condition     = aws_mwaa_environment.this.airflow_version == "2.10.3"
    error_message = "MWAA must run the Airflow version it is given."
  }

  assert {
    condition     = length(aws_mwaa_environment.this.network_configuration[0].subnet_ids) == 2
    error_message = "MWAA runs in two private subnets."
  }

  assert {
    condition     = aws_mwaa_environment.this.source_bucket_arn == "arn:aws:s3:::airflow-acme-ml-platform-dev"
    error_message = "MWAA reads its DAG bucket."
  }

  # With the ecs runner, the startup script that exports its settings (the root module's run
  # above has none without it).
  assert {
    condition     = aws_mwaa_environment.this.startup_script_s3_path == "startup.sh" && aws_s3_object.startup_script[0].key == "startup.sh"
    error_message = "MWAA must run the startup script the module uploads."
  }

  assert {
    condition     = aws_s3_object.startup_script[0].kms_key_id == "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    error_message = "The startup script is encrypted with the environment's key."
  }
}

run "a_plan_without_a_digest_keeps_the_live_image" {
  variables {
    serve_image_digest = null
  }

  assert {
    condition     = endswith(output.serve_image, "@sha256:2222222222222222222222222222222222222222222222222222222222222222")
    error_message = "Without serve_image_digest the live digest (from SSM) must be kept."
  }
}

# moto cannot tag Application Auto Scaling targets, so the emulator test does not create them;
# here the serve module's scaling is checked against the mocked provider.
run "the_serve_service_scales_on_cpu_between_its_bounds" {
  command = plan
  module {
    source = "../../modules/serve"
  }
  variables {
    name                 = "ml-platform-dev-serve"
    vpc_id               = "vpc-0123456789abcdef0"
    public_subnet_ids    = ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]
    private_subnet_ids   = ["subnet-0123456789abcdef2", "subnet-0123456789abcdef3"]
    certificate_arn      = "arn:aws:acm:us-east-1:123456789012:certificate/00000000-0000-0000-0000-000000000000"
    repository_url       = "123456789012.dkr.ecr.us-east-1.amazonaws.com/ml-platform-dev/serve"
    image_digest         = "sha256:1111111111111111111111111111111111111111111111111111111111111111"
    ecr_repository_arn   = "arn:aws:ecr:us-east-1:123456789012:repository/ml-platform-dev/serve"
    artifacts_bucket_arn = "arn:aws:s3:::acme-ml-platform-dev-artifacts"
    serving_data_prefix  = "serving"
    kms_key_arn          = "arn:aws:kms:us-east-1:123456789012:key/00000000-0000-0000-0000-000000000000"
    access_log_bucket    = "acme-ml-platform-dev-logs"
    min_tasks            = 2
    max_tasks            = 6
  }

  assert {
    condition     = aws_appautoscaling_target.this.min_capacity == 2 && aws_appautoscaling_target.this.max_capacity == 6
    error_message = "The service scales between min_tasks and max_tasks."
  }

  assert {
    condition     = aws_appautoscaling_policy.cpu.target_tracking_scaling_policy_configuration[0].predefined_metric_specification[0].predefined_metric_type == "ECSServiceAverageCPUUtilization"
    error_message = "The service scales on its average CPU."
  }

  assert {
    condition     = aws_ecs_service.this.wait_for_steady_state
    error_message = "apply must wait for the service to be steady."
  }

  # A starting task is not stopped by failed health checks while it may still wait for its
  # serving data, and it stops waiting a minute before the grace period ends.
  assert {
    condition     = aws_ecs_service.this.health_check_grace_period_seconds == 300
    error_message = "The service must give a starting task start_seconds before health checks count."
  }
  assert {
    condition = contains(
      jsondecode(aws_ecs_task_definition.this.container_definitions)[1].environment,
      { name = "FLIGHT_DELAY_SERVING_WAIT_SECONDS", value = "240" }
    )
    error_message = "The serve container must wait for its serving data a minute less than start_seconds."
  }
  assert {
    condition = (
      aws_lb_target_group.this.deregistration_delay == "30"
      && aws_lb_target_group.this.health_check[0].interval == 10
      && aws_lb_target_group.this.health_check[0].healthy_threshold == 2
      && aws_lb_target_group.this.health_check[0].unhealthy_threshold == 3
    )
    error_message = "A ready task must be in service after two checks 10 s apart, and a stopping one drained in 30 s."
  }
}
