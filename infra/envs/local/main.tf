# The platform on this machine: each S3 bucket of the AWS environment is a directory here
# (modules/local_location: apply creates it, destroy removes what apply created).

locals {
  # Each environment is applied in its own workspace (variables.tf, `environment`).
  environment = coalesce(var.environment, terraform.workspace == "default" ? "local" : terraform.workspace)

  repo_root = abspath("${path.module}/../../..")
  build_dir = abspath(pathexpand(coalesce(var.build_dir, "${local.repo_root}/build")))

  bucket_names = {
    for purpose in ["dvc", "artifacts", "landing"] :
    purpose => "${var.bucket_prefix}-${local.environment}-${purpose}"
  }

  # The locations the platform's outputs point to. `local` keeps the paths the tools default to
  # (.dvc/config's `local` remote, BENTOML_HOME's build/bentoml); every other environment has
  # its own, so that destroying it never removes a location another environment adopted.
  own = local.environment == "local" ? "" : "-${local.environment}"
  locations = {
    dvc_remote = abspath(pathexpand(coalesce(var.dvc_remote_dir, "~/.cache/ml-platform/dvc-remote${local.own}")))
    landing    = "${local.build_dir}/infra/${local.environment}/${local.bucket_names.landing}"
  }
  model_store = local.environment == "local" ? "${local.build_dir}/bentoml" : "${local.build_dir}/infra/${local.environment}/bentoml"
}

# The build directory first, so that locations under it never race to create it, and it is
# removed last.
module "build_dir" {
  source        = "../../modules/local_location"
  path          = local.build_dir
  force_destroy = var.force_destroy
}

module "location" {
  source   = "../../modules/local_location"
  for_each = local.locations

  path          = each.value
  force_destroy = var.force_destroy

  depends_on = [module.build_dir]
}

# After the landing zone: outside `local` both are in build/infra/<environment>/, which the
# landing zone's apply creates, so destroy removes the model store first and the landing zone's
# destroy then removes that directory too.
module "model_store" {
  source        = "../../modules/local_location"
  path          = local.model_store
  force_destroy = var.force_destroy

  depends_on = [module.location]
}

# Where the resources were before they moved into the module: a state applied then keeps them.
moved {
  from = terraform_data.build_dir
  to   = module.build_dir.terraform_data.this
}

moved {
  from = terraform_data.location["dvc_remote"]
  to   = module.location["dvc_remote"].terraform_data.this
}

moved {
  from = terraform_data.location["model_store"]
  to   = module.location["model_store"].terraform_data.this
}

moved {
  from = module.location["model_store"]
  to   = module.model_store
}

moved {
  from = terraform_data.location["landing"]
  to   = module.location["landing"].terraform_data.this
}
