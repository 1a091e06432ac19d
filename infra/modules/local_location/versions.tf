terraform {
  # terraform_data (1.4).
  required_version = ">= 1.9"
}
