# The pipeline's working directory in the cloud: an EFS file system that the stage tasks (ECS) and
# a SageMaker training job mount, so stages hand data to each other as they do in one local
# directory (orchestration/README.md). Encrypted with the platform's key, reachable over NFS only
# from the pipeline's security group, in every private subnet.

variable "name" {
  description = "Name prefix of the file system and its security groups."
  type        = string
}

variable "vpc_id" {
  description = "The VPC of the mount targets and the pipeline's tasks."
  type        = string
}

variable "private_subnet_ids" {
  description = "Subnets to put a mount target in, one per zone: the pipeline's tasks run in them."
  type        = list(string)
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the file system."
  type        = string
}

variable "directory_path" {
  description = "The working directory in the file system: the ECS tasks' root through the access point, a SageMaker job's directory_path."
  type        = string
  default     = "/pipeline"

  validation {
    condition     = can(regex("^/[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*$", var.directory_path))
    error_message = "directory_path must be an absolute path such as /pipeline, without a trailing slash."
  }
}

resource "aws_security_group" "tasks" {
  # checkov:skip=CKV2_AWS_5: Attached at run time, not by Terraform: the DAG starts the stage tasks and the SageMaker job in it (flight_delay_ecs.security_groups).
  name        = "${var.name}-tasks"
  description = "The pipeline's stage tasks and training jobs: NFS to the working directory, HTTPS out"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_egress_rule" "tasks_nfs" {
  security_group_id            = aws_security_group.tasks.id
  description                  = "NFS to the working directory's mount targets"
  referenced_security_group_id = aws_security_group.mount_targets.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

resource "aws_vpc_security_group_egress_rule" "tasks_https" {
  security_group_id = aws_security_group.tasks.id
  description       = "HTTPS to AWS APIs (ECR, S3, CloudWatch) through the NAT gateway"
  cidr_ipv4         = "0.0.0.0/0"
  ip_protocol       = "tcp"
  from_port         = 443
  to_port           = 443
}

resource "aws_security_group" "mount_targets" {
  name        = "${var.name}-mount-targets"
  description = "The working directory's mount targets: NFS from the pipeline's tasks only"
  vpc_id      = var.vpc_id
}

resource "aws_vpc_security_group_ingress_rule" "mount_targets_nfs" {
  security_group_id            = aws_security_group.mount_targets.id
  description                  = "NFS from the pipeline's tasks"
  referenced_security_group_id = aws_security_group.tasks.id
  ip_protocol                  = "tcp"
  from_port                    = 2049
  to_port                      = 2049
}

resource "aws_efs_file_system" "this" {
  # checkov:skip=CKV2_AWS_18: Not in a backup plan: the working directory holds what DVC versions in the dvc bucket (versioned) and what the pipeline rebuilds from it.
  creation_token  = var.name
  encrypted       = true
  kms_key_id      = var.kms_key_arn
  throughput_mode = "elastic"
  lifecycle_policy {
    transition_to_ia = "AFTER_30_DAYS"
  }
  tags = { Name = var.name }
}

resource "aws_efs_mount_target" "this" {
  count           = length(var.private_subnet_ids)
  file_system_id  = aws_efs_file_system.this.id
  subnet_id       = var.private_subnet_ids[count.index]
  security_groups = [aws_security_group.mount_targets.id]
}

# The ECS task definitions mount the working directory through this access point, which creates
# it on first use.
resource "aws_efs_access_point" "workdir" {
  # checkov:skip=CKV_AWS_330: No enforced user: a SageMaker job mounts directory_path directly (its EFS channels take no access point) and writes as its image's user, so the tasks keep their own identity to share files with it.
  file_system_id = aws_efs_file_system.this.id
  root_directory {
    path = var.directory_path
    creation_info {
      owner_uid   = 0
      owner_gid   = 0
      permissions = "0755"
    }
  }
  tags = { Name = "${var.name}-workdir" }
}

output "file_system_id" {
  description = "The EFS file system of the working directory (flight_delay_ecs.sagemaker.file_system_id)."
  value       = aws_efs_file_system.this.id
}

output "file_system_arn" {
  description = "The file system's ARN."
  value       = aws_efs_file_system.this.arn
}

output "access_point_arn" {
  description = "The access point's ARN."
  value       = aws_efs_access_point.workdir.arn
}

output "access_point_id" {
  description = "The access point the ECS task definitions mount the working directory through."
  value       = aws_efs_access_point.workdir.id
}

output "directory_path" {
  description = "The working directory in the file system (flight_delay_ecs.sagemaker.directory_path)."
  value       = var.directory_path
}

output "security_group_id" {
  description = "The pipeline's tasks and training jobs run in it (flight_delay_ecs.security_groups)."
  value       = aws_security_group.tasks.id
}

output "mount_target_ids" {
  description = "One mount target per private subnet."
  value       = aws_efs_mount_target.this[*].id
}
