# The serve service (BentoML) on ECS Fargate in private subnets, behind an HTTPS application load
# balancer with a web application firewall, scaled on CPU between min_tasks and max_tasks.

variable "name" {
  description = "Name prefix of the service's resources."
  type        = string
}

variable "vpc_id" {
  description = "The VPC to run in."
  type        = string
}

variable "public_subnet_ids" {
  description = "Subnets of the load balancer."
  type        = list(string)
}

variable "private_subnet_ids" {
  description = "Subnets of the tasks."
  type        = list(string)
}

variable "certificate_arn" {
  description = "ACM certificate of the HTTPS listener."
  type        = string
}

variable "repository_url" {
  description = "The ECR repository of the service's image."
  type        = string
}

variable "image_digest" {
  description = "Digest (sha256:...) of the image to run. Null keeps the live one, read from the SSM parameter <name>/image-digest; a first apply must give one."
  type        = string
  default     = null

  validation {
    condition     = var.image_digest == null || can(regex("^sha256:[0-9a-f]{64}$", var.image_digest))
    error_message = "image_digest must be an image digest, sha256: and 64 lower-case hex digits."
  }
}

variable "ecr_repository_arn" {
  description = "The repository the image is pulled from."
  type        = string
}

variable "artifacts_bucket_arn" {
  description = "Bucket the deploy job uploads the serving data to (the service reads its prefix)."
  type        = string
}

variable "serving_data_prefix" {
  description = "Key prefix, in the artifacts bucket, of the serving data (online store, statistics)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9/_-]*[a-z0-9]$", var.serving_data_prefix))
    error_message = "serving_data_prefix must be a key prefix without leading or trailing slash, e.g. serving."
  }
}

locals {
  # One prefix per model version: the deploy job publishes each promoted model's data under its
  # own (serve.publish), and a task reads its image's model's (serve.sources puts the version in
  # place of {model_version}), so a rollback brings the old model's statistics and store back.
  serving_data_url = "s3://${element(split(":::", var.artifacts_bucket_arn), 1)}/${var.serving_data_prefix}/{model_version}"
}

variable "kms_key_arn" {
  description = "KMS key of the platform's data (logs, model artifacts)."
  type        = string
}

variable "access_log_bucket" {
  description = "Bucket for the load balancer's access logs (SSE-S3)."
  type        = string
}

variable "container_port" {
  description = "Port the BentoML server listens on (set in the task as BENTOML_PORT)."
  type        = number
  default     = 3000
}

variable "start_seconds" {
  description = "How long a new task may take to become ready (/readyz answers 200) before the load balancer's failed health checks count against it (the environment's serve_start_seconds, which checks it). The task waits for its serving data for up to a minute less (FLIGHT_DELAY_SERVING_WAIT_SECONDS), leaving the minute to load the model and the store."
  type        = number
  default     = 300
  nullable    = false
}

variable "cpu" {
  description = "Fargate CPU units per task."
  type        = number
  default     = 512
}

variable "memory" {
  description = "Fargate memory (MiB) per task."
  type        = number
  default     = 1024
}

variable "min_tasks" {
  description = "Fewest running tasks."
  type        = number
  default     = 2
}

variable "max_tasks" {
  description = "Most running tasks."
  type        = number
  default     = 6
}

variable "cpu_target_percent" {
  description = "Average CPU utilisation the autoscaler keeps the service at."
  type        = number
  default     = 60
}

variable "deletion_protection" {
  description = "Refuse to delete the load balancer; set false (and apply) before a destroy."
  type        = bool
  default     = true
}

variable "rate_limit" {
  description = "Requests one source address may send in 5 minutes before the firewall blocks it."
  type        = number
  default     = 6000

  validation {
    condition     = var.rate_limit >= 10 && var.rate_limit <= 2000000000
    error_message = "rate_limit must be between 10 and 2,000,000,000 (AWS WAF's bounds)."
  }
}

variable "log_retention_days" {
  description = "Days the service's and the firewall's logs are kept."
  type        = number
  default     = 365
}

data "aws_region" "current" {}

# --- Load balancer -------------------------------------------------------------------------

resource "aws_security_group" "alb" {
  name        = "${var.name}-alb"
  description = "HTTPS from the internet to the serve load balancer"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "alb_https" {
  security_group_id = aws_security_group.alb.id
  description       = "HTTPS from anywhere: the public prediction API"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_vpc_security_group_egress_rule" "alb_to_tasks" {
  security_group_id            = aws_security_group.alb.id
  description                  = "To the serve tasks only"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_lb" "this" {
  # checkov:skip=CKV2_AWS_20: There is no HTTP listener to redirect: the load balancer listens on HTTPS only.
  # checkov:skip=CKV_AWS_150: Deletion protection is on unless the root variable deletion_protection is set false for a deliberate destroy; checkov cannot follow that variable into the module (static_test asserts its default is true).
  name                       = var.name
  load_balancer_type         = "application"
  internal                   = false
  security_groups            = [aws_security_group.alb.id]
  subnets                    = var.public_subnet_ids
  drop_invalid_header_fields = true
  enable_deletion_protection = var.deletion_protection
  # Longer than the service's own request timeout (REQUEST_TIMEOUT_SECONDS, 30 s, in
  # services/serve/serve/limits.py), so a slow request gets the service's 504, not a dropped
  # connection.
  idle_timeout = 60

  access_logs {
    bucket  = var.access_log_bucket
    prefix  = "alb/${var.name}"
    enabled = true
  }
}

locals {
  # What the load balancer forwards: the API's endpoints and BentoML's health probes. Any other
  # path (/metrics, BentoML's OpenAPI pages, a scanner's guesses) gets the load balancer's 404:
  # Prometheus scrapes the tasks inside the VPC (infra/monitoring/README.md), and a path that
  # reached the service would be one more value of its request metrics' endpoint label.
  api_paths     = ["/predict", "/features"]
  health_path   = "/readyz"
  forward_paths = concat(local.api_paths, [local.health_path, "/livez", "/healthz"])
}

resource "aws_lb_target_group" "this" {
  # checkov:skip=CKV_AWS_378: TLS ends at the HTTPS listener, whose rule forwards here (the tasks in private subnets serve HTTP); the check follows a listener's default action only, not its rules.
  name        = var.name
  port        = var.container_port
  protocol    = "HTTP"
  target_type = "ip"
  vpc_id      = var.vpc_id

  # A task answering /readyz with 200 is in service after two checks (20 s) and out of it after
  # three failures (30 s); the provider's defaults (30 s apart, three of each) kept a ready task
  # out for 90 s. Requests take seconds, so a stopping task is drained in 30, not the default 300
  # that every rollout waited through.
  deregistration_delay = 30
  health_check {
    path                = local.health_path
    matcher             = "200"
    interval            = 10
    timeout             = 5
    healthy_threshold   = 2
    unhealthy_threshold = 3
  }
}

resource "aws_lb_listener" "https" {
  load_balancer_arn = aws_lb.this.arn
  port              = 443
  protocol          = "HTTPS"
  ssl_policy        = "ELBSecurityPolicy-TLS13-1-2-2021-06"
  certificate_arn   = var.certificate_arn

  default_action {
    type = "fixed-response"
    fixed_response {
      content_type = "application/json"
      message_body = jsonencode({ error = "not found" })
      status_code  = "404"
    }
  }
}

resource "aws_lb_listener_rule" "forward_paths" {
  listener_arn = aws_lb_listener.https.arn
  priority     = 1

  action {
    type             = "forward"
    target_group_arn = aws_lb_target_group.this.arn
  }

  condition {
    path_pattern {
      values = local.forward_paths
    }
  }
}

# --- Web application firewall ----------------------------------------------------------------

resource "aws_wafv2_web_acl" "this" {
  name  = var.name
  scope = "REGIONAL"

  default_action {
    allow {}
  }

  rule {
    name     = "aws-common"
    priority = 1
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesCommonRuleSet"
        # The group blocks bodies over 8 KB, a few dozen flights, while /predict (and
        # /features) take up to MAX_FLIGHTS (1,000). Here the rule only labels such a request;
        # the rule "body-size-outside-the-api" below blocks it on every other path. The service
        # itself refuses a body over MAX_BODY_BYTES (512,000 bytes) with 413
        # (services/serve/serve/limits.py); a WAF on a load balancer cannot inspect beyond 8 KB.
        rule_action_override {
          name = "SizeRestrictions_BODY"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-common"
      sampled_requests_enabled   = true
    }
  }

  # The body-size exception is for the API's two POST endpoints only.
  rule {
    name     = "body-size-outside-the-api"
    priority = 4
    action {
      block {}
    }
    statement {
      and_statement {
        statement {
          label_match_statement {
            scope = "LABEL"
            key   = "awswaf:managed:aws:core-rule-set:SizeRestrictions_Body"
          }
        }
        statement {
          not_statement {
            statement {
              regex_match_statement {
                regex_string = "^(${join("|", local.api_paths)})$"
                field_to_match {
                  uri_path {}
                }
                text_transformation {
                  priority = 0
                  type     = "NONE"
                }
              }
            }
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-body-size-outside-the-api"
      sampled_requests_enabled   = true
    }
  }

  # One client (by source address) may send at most rate_limit requests in any 5 minutes;
  # above that its requests are blocked until its rate falls again.
  rule {
    name     = "rate-limit-per-ip"
    priority = 0
    action {
      block {}
    }
    statement {
      rate_based_statement {
        limit                 = var.rate_limit
        aggregate_key_type    = "IP"
        evaluation_window_sec = 300
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-rate-limit-per-ip"
      sampled_requests_enabled   = true
    }
  }

  # Requests through anonymising services (VPNs, Tor); requests from hosting providers are only
  # counted, since API clients legitimately run in clouds.
  rule {
    name     = "aws-anonymous-ip"
    priority = 3
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesAnonymousIpList"
        rule_action_override {
          name = "HostingProviderIPList"
          action_to_use {
            count {}
          }
        }
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-anonymous-ip"
      sampled_requests_enabled   = true
    }
  }

  # Includes the Log4j (Log4Shell) rules.
  rule {
    name     = "aws-known-bad-inputs"
    priority = 2
    override_action {
      none {}
    }
    statement {
      managed_rule_group_statement {
        vendor_name = "AWS"
        name        = "AWSManagedRulesKnownBadInputsRuleSet"
      }
    }
    visibility_config {
      cloudwatch_metrics_enabled = true
      metric_name                = "${var.name}-aws-known-bad-inputs"
      sampled_requests_enabled   = true
    }
  }

  visibility_config {
    cloudwatch_metrics_enabled = true
    metric_name                = var.name
    sampled_requests_enabled   = true
  }
}

resource "aws_wafv2_web_acl_association" "this" {
  resource_arn = aws_lb.this.arn
  web_acl_arn  = aws_wafv2_web_acl.this.arn
}

# WAF requires its log group's name to start with aws-waf-logs-.
resource "aws_cloudwatch_log_group" "waf" {
  name              = "aws-waf-logs-${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

resource "aws_wafv2_web_acl_logging_configuration" "this" {
  resource_arn            = aws_wafv2_web_acl.this.arn
  log_destination_configs = [aws_cloudwatch_log_group.waf.arn]
}

# --- Service ---------------------------------------------------------------------------------

resource "aws_ecs_cluster" "this" {
  name = var.name
  setting {
    name  = "containerInsights"
    value = "enabled"
  }
}

resource "aws_cloudwatch_log_group" "service" {
  name              = "/ml-platform/${var.name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
}

data "aws_iam_policy_document" "ecs_tasks_assume" {
  statement {
    actions = ["sts:AssumeRole"]
    principals {
      type        = "Service"
      identifiers = ["ecs-tasks.amazonaws.com"]
    }
  }
}

# What ECS needs to start a task: pull the image, write its logs.
data "aws_iam_policy_document" "execution" {
  statement {
    sid       = "EcrLogin"
    actions   = ["ecr:GetAuthorizationToken"]
    resources = ["*"] # GetAuthorizationToken has no resource-level permissions
  }
  statement {
    sid       = "PullTheServiceImage"
    actions   = ["ecr:BatchCheckLayerAvailability", "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage"]
    resources = [var.ecr_repository_arn]
  }
  statement {
    sid       = "WriteTheServiceLogs"
    actions   = ["logs:CreateLogStream", "logs:PutLogEvents"]
    resources = ["${aws_cloudwatch_log_group.service.arn}:*"]
  }
  statement {
    sid       = "DecryptTheImage"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "execution" {
  name               = "${var.name}-execution"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "execution" {
  role   = aws_iam_role.execution.id
  policy = data.aws_iam_policy_document.execution.json
}

# What the service itself may do: read its serving data (services/serve/serve/sources.py),
# nothing else. The model travels in the image.
data "aws_iam_policy_document" "task" {
  statement {
    sid       = "ListServingData"
    actions   = ["s3:ListBucket"]
    resources = [var.artifacts_bucket_arn]
    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = [var.serving_data_prefix, "${var.serving_data_prefix}/*"]
    }
  }
  statement {
    sid       = "ReadServingData"
    actions   = ["s3:GetObject"]
    resources = ["${var.artifacts_bucket_arn}/${var.serving_data_prefix}/*"]
  }
  statement {
    sid       = "DecryptServingData"
    actions   = ["kms:Decrypt"]
    resources = [var.kms_key_arn]
  }
}

resource "aws_iam_role" "task" {
  name               = "${var.name}-task"
  assume_role_policy = data.aws_iam_policy_document.ecs_tasks_assume.json
}

resource "aws_iam_role_policy" "task" {
  role   = aws_iam_role.task.id
  policy = data.aws_iam_policy_document.task.json
}

# The image the service runs, by digest: the one record of what is live. The deploy job and the
# andon cord apply with image_digest set; any other plan or apply (var.image_digest null) reads
# the live digest back from here, so it never reverts the service to some default image.
data "aws_ssm_parameter" "live_image_digest" {
  count = var.image_digest == null ? 1 : 0
  name  = "/${var.name}/image-digest"
}

locals {
  image_digest = coalesce(var.image_digest, one(data.aws_ssm_parameter.live_image_digest[*].insecure_value))
}

resource "aws_ssm_parameter" "image_digest" {
  # checkov:skip=CKV2_AWS_34: An image digest is public information, not a secret; a String parameter is readable by the deploy roles without a KMS grant.
  name = "/${var.name}/image-digest"
  type = "String"
  # insecure_value: a digest is not a secret, and plans should show it.
  insecure_value = local.image_digest
  # Recorded once the service is steady on it: a rollout the circuit breaker rolls back fails
  # the apply at the service, before this, so the record keeps the image that is live.
  depends_on = [aws_ecs_service.this]
}

resource "aws_ecs_task_definition" "this" {
  family                   = var.name
  requires_compatibilities = ["FARGATE"]
  network_mode             = "awsvpc"
  cpu                      = var.cpu
  memory                   = var.memory
  execution_role_arn       = aws_iam_role.execution.arn
  task_role_arn            = aws_iam_role.task.arn

  # The root filesystem is read-only; the service writes only here: BentoML's home and every
  # temporary file (the serving data it fetches, BentoML's sockets).
  volume {
    name = "scratch"
  }

  container_definitions = jsonencode([
    {
      # Fargate mounts the volume owned by root, mode 0755, and the service runs as the BentoML
      # image's user: this container, of the same image, gives the volume to that user and exits.
      name                   = "scratch-owner"
      image                  = local.image
      essential              = false
      user                   = "0"
      entryPoint             = ["chown", "${local.image_user}:${local.image_user}", local.scratch]
      readonlyRootFilesystem = true
      privileged             = false
      mountPoints            = [local.scratch_mount]
      logConfiguration       = local.log_configuration
    },
    {
      name                   = "serve"
      image                  = local.image
      essential              = true
      dependsOn              = [{ containerName = "scratch-owner", condition = "SUCCESS" }]
      readonlyRootFilesystem = true
      privileged             = false
      portMappings           = [{ containerPort = var.container_port, protocol = "tcp" }]
      environment = [
        { name = "BENTOML_HOME", value = "${local.scratch}/bentoml" },
        { name = "TMPDIR", value = local.scratch },
        # The port the load balancer and the health check use, not the image's default: the
        # BentoML image's entrypoint and `bentoml serve` listen on $BENTOML_PORT.
        { name = "BENTOML_PORT", value = tostring(var.container_port) },
        # Where the service reads its model's online store and statistics (serve.sources), and
        # how long it waits for them to appear: within the health checks' grace period.
        { name = "FLIGHT_DELAY_SERVING_DATA", value = local.serving_data_url },
        { name = "FLIGHT_DELAY_SERVING_WAIT_SECONDS", value = tostring(var.start_seconds - 60) },
      ]
      mountPoints      = [local.scratch_mount]
      logConfiguration = local.log_configuration
    }
  ])
}

locals {
  image = "${var.repository_url}@${local.image_digest}"
  # The user `bentoml containerize` makes the image run as (its Dockerfile's USER).
  image_user    = "bentoml"
  scratch       = "/scratch"
  scratch_mount = { sourceVolume = "scratch", containerPath = local.scratch, readOnly = false }
  log_configuration = {
    logDriver = "awslogs"
    options = {
      awslogs-group         = aws_cloudwatch_log_group.service.name
      awslogs-region        = data.aws_region.current.name
      awslogs-stream-prefix = "serve"
    }
  }
}

resource "aws_security_group" "tasks" {
  name        = "${var.name}-tasks"
  description = "The serve tasks: requests from the load balancer, HTTPS out"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "tasks_from_alb" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "Requests from the load balancer"
  referenced_security_group_id = aws_security_group.alb.id
  ip_protocol                  = "tcp"
  from_port                    = var.container_port
  to_port                      = var.container_port
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (ECR, S3, CloudWatch) through the NAT gateway"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_ecs_service" "this" {
  name            = var.name
  cluster         = aws_ecs_cluster.this.id
  task_definition = aws_ecs_task_definition.this.arn
  desired_count   = var.min_tasks
  launch_type     = "FARGATE"

  network_configuration {
    subnets          = var.private_subnet_ids
    security_groups  = [aws_security_group.tasks.id]
    assign_public_ip = false
  }

  load_balancer {
    target_group_arn = aws_lb_target_group.this.arn
    container_name   = "serve"
    container_port   = var.container_port
  }
  # A starting task answers /readyz with 503 while it fetches its serving data and loads the
  # model: without a grace period ECS stopped it after the load balancer's first failed checks,
  # and a task whose data took a minute to appear never started.
  health_check_grace_period_seconds = var.start_seconds

  deployment_circuit_breaker {
    enable   = true
    rollback = true
  }

  # apply returns only once the new tasks run and pass the health check (or fails when the
  # circuit breaker rolls back), so the deploy job records a promotion only for a live image.
  wait_for_steady_state = true

  # The autoscaler owns the task count after the first apply.
  lifecycle {
    ignore_changes = [desired_count]
  }

  depends_on = [aws_lb_listener_rule.forward_paths]
}

resource "aws_appautoscaling_target" "this" {
  service_namespace  = "ecs"
  resource_id        = "service/${aws_ecs_cluster.this.name}/${aws_ecs_service.this.name}"
  scalable_dimension = "ecs:service:DesiredCount"
  min_capacity       = var.min_tasks
  max_capacity       = var.max_tasks
}

resource "aws_appautoscaling_policy" "cpu" {
  name               = "${var.name}-cpu"
  policy_type        = "TargetTrackingScaling"
  service_namespace  = aws_appautoscaling_target.this.service_namespace
  resource_id        = aws_appautoscaling_target.this.resource_id
  scalable_dimension = aws_appautoscaling_target.this.scalable_dimension

  target_tracking_scaling_policy_configuration {
    target_value = var.cpu_target_percent
    predefined_metric_specification {
      predefined_metric_type = "ECSServiceAverageCPUUtilization"
    }
  }
}

output "serving_data_url" {
  description = "The S3 prefix of each model's serving data, {model_version} standing for its version (FLIGHT_DELAY_SERVING_DATA)."
  value       = local.serving_data_url
}

output "url" {
  description = "The service's public HTTPS URL (point a DNS name of the certificate at it)."
  value       = "https://${aws_lb.this.dns_name}"
}

output "cluster_arn" {
  description = "ARN of the ECS cluster."
  value       = aws_ecs_cluster.this.arn
}

output "service_arn" {
  description = "ARN of the ECS service (CI deploys by updating it)."
  value       = aws_ecs_service.this.id
}

output "image" {
  description = "The image the service runs, <repository url>@<digest>."
  value       = "${var.repository_url}@${aws_ssm_parameter.image_digest.insecure_value}"
}

output "image_digest_parameter" {
  description = "Name of the SSM parameter that records the live image digest."
  value       = aws_ssm_parameter.image_digest.name
}

output "image_digest_parameter_arn" {
  description = "ARN of that parameter (the deploy role reads and writes it)."
  value       = aws_ssm_parameter.image_digest.arn
}

output "web_acl_arn" {
  description = "ARN of the firewall in front of the load balancer."
  value       = aws_wafv2_web_acl.this.arn
}

output "load_balancer_arn" {
  description = "ARN of the load balancer."
  value       = aws_lb.this.arn
}

output "task_definition_family" {
  description = "Family of the service's task definitions."
  value       = aws_ecs_task_definition.this.family
}

output "task_role_arns" {
  description = "The roles CI may pass to ECS when it registers a new task definition."
  value       = [aws_iam_role.execution.arn, aws_iam_role.task.arn]
}

output "task_size" {
  description = "Fargate CPU units and memory (MiB) of each serve task, as its task definition has them."
  value       = { cpu = aws_ecs_task_definition.this.cpu, memory = aws_ecs_task_definition.this.memory }
}
