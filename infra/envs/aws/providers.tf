provider "aws" {
  region = var.region

  default_tags {
    tags = {
      Project     = "ml-platform"
      Environment = var.environment
      ManagedBy   = "terraform"
      Repository  = var.github_repository
    }
  }
}
