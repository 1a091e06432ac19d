# The container image repository of the platform's services.

variable "name" {
  description = "Repository name."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key that encrypts the images."
  type        = string
}

variable "keep_images" {
  description = "How many of the newest tagged images not marked served to keep; older ones expire."
  type        = number
  default     = 30
}

variable "keep_served_images" {
  description = "How many of the newest images marked served (tag prefix `served-`) to keep; older ones expire."
  type        = number
  default     = 100
}

variable "force_delete" {
  description = "Let `terraform destroy` delete the repository while it holds images (otherwise AWS refuses)."
  type        = bool
  default     = false
  nullable    = false
}

resource "aws_ecr_repository" "this" {
  name                 = var.name
  image_tag_mutability = "IMMUTABLE"
  force_delete         = var.force_delete

  image_scanning_configuration {
    scan_on_push = true
  }

  encryption_configuration {
    encryption_type = "KMS"
    kms_key         = var.kms_key_arn
  }
}

resource "aws_ecr_lifecycle_policy" "this" {
  repository = aws_ecr_repository.this.name
  policy = jsonencode({
    rules = [
      {
        rulePriority = 1
        description  = "Expire untagged images after a day"
        selection    = { tagStatus = "untagged", countType = "sinceImagePushed", countUnit = "days", countNumber = 1 }
        action       = { type = "expire" }
      },
      # The deploy job marks an image `served-<tag>` once the service is steady on it
      # (.github/workflows/main.yml): the live image and those the andon cord restores. An image
      # a rule selects is never expired by a later rule, so pushes that never served (a failed
      # rollout) cannot push them out of the count below.
      {
        rulePriority = 2
        description  = "Keep the newest ${var.keep_served_images} images marked served"
        selection    = { tagStatus = "tagged", tagPrefixList = ["served-"], countType = "imageCountMoreThan", countNumber = var.keep_served_images }
        action       = { type = "expire" }
      },
      {
        rulePriority = 3
        description  = "Keep the newest ${var.keep_images} other images"
        selection    = { tagStatus = "any", countType = "imageCountMoreThan", countNumber = var.keep_images }
        action       = { type = "expire" }
      },
    ]
  })
}

output "name" {
  description = "Name of the repository."
  value       = aws_ecr_repository.this.name
}

output "arn" {
  description = "ARN of the repository."
  value       = aws_ecr_repository.this.arn
}

output "url" {
  description = "URL to tag and push images to."
  value       = aws_ecr_repository.this.repository_url
}
