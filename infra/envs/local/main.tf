# The platform on this machine: each S3 bucket of the AWS environment is a directory here.
#
# Every location is a `terraform_data` resource whose create-time `local-exec` makes the
# directory (and missing parents) and leaves a marker file naming the topmost directory it
# created. Its destroy-time `local-exec` removes exactly that: a location that existed before
# apply has no marker and is left alone, and a location that holds data is kept (destroy fails)
# unless force_destroy is set, like a non-empty S3 bucket.

locals {
  repo_root = abspath("${path.module}/../../..")
  build_dir = abspath(pathexpand(coalesce(var.build_dir, "${local.repo_root}/build")))

  bucket_names = {
    for purpose in ["dvc", "artifacts", "landing"] :
    purpose => "${var.bucket_prefix}-${var.environment}-${purpose}"
  }

  # The locations the platform's outputs point to.
  locations = {
    dvc_remote  = abspath(pathexpand(var.dvc_remote_dir))
    model_store = "${local.build_dir}/bentoml"
    landing     = "${local.build_dir}/infra/${var.environment}/${local.bucket_names.landing}"
  }

  marker = ".terraform-local-location"

  create_script = <<-EOT
    set -eu
    top=""
    d="$LOCATION"
    while [ ! -e "$d" ]; do top="$d"; d=$(dirname "$d"); done
    if [ -n "$top" ]; then
      mkdir -p "$LOCATION"
      printf '%s\n' "$top" > "$LOCATION/${local.marker}"
      echo "created $LOCATION"
    elif [ -d "$LOCATION" ]; then
      echo "adopted $LOCATION: it existed before, so destroy will leave it"
    else
      echo "error: $LOCATION exists and is not a directory" >&2
      exit 1
    fi
  EOT

  destroy_script = <<-EOT
    set -eu
    marker="$LOCATION/${local.marker}"
    if [ ! -f "$marker" ]; then
      echo "left $LOCATION: apply did not create it"
      exit 0
    fi
    top=$(cat "$marker")
    if [ "$FORCE_DESTROY" = "true" ]; then
      rm -rf -- "$LOCATION"
    elif [ -n "$(ls -A "$LOCATION" | grep -vxF '${local.marker}' || true)" ]; then
      echo "error: $LOCATION is not empty; empty it, or apply with force_destroy = true first" >&2
      exit 1
    else
      rm -- "$marker"
      rmdir -- "$LOCATION"
    fi
    d="$LOCATION"
    while [ "$d" != "$top" ] && [ "$d" != "/" ]; do
      d=$(dirname "$d")
      rmdir -- "$d" 2>/dev/null || break
    done
    echo "removed $LOCATION"
  EOT
}

# The build directory first, so that locations under it never race to create it, and it is
# removed last. Destroy-time provisioners may refer only to `self`, so each resource keeps its
# destroy script in its input.
resource "terraform_data" "build_dir" {
  triggers_replace = local.build_dir
  input = {
    path           = local.build_dir
    force_destroy  = var.force_destroy
    destroy_script = local.destroy_script
  }

  provisioner "local-exec" {
    command     = "eval \"$SCRIPT\""
    interpreter = ["/bin/sh", "-c"]
    quiet       = true
    environment = { SCRIPT = local.create_script, LOCATION = self.input.path }
  }

  provisioner "local-exec" {
    when        = destroy
    command     = "eval \"$SCRIPT\""
    interpreter = ["/bin/sh", "-c"]
    quiet       = true
    environment = {
      SCRIPT        = self.input.destroy_script
      LOCATION      = self.input.path
      FORCE_DESTROY = tostring(self.input.force_destroy)
    }
  }
}

resource "terraform_data" "location" {
  for_each = local.locations

  triggers_replace = each.value
  input = {
    path           = each.value
    force_destroy  = var.force_destroy
    destroy_script = local.destroy_script
  }

  provisioner "local-exec" {
    command     = "eval \"$SCRIPT\""
    interpreter = ["/bin/sh", "-c"]
    quiet       = true
    environment = { SCRIPT = local.create_script, LOCATION = self.input.path }
  }

  provisioner "local-exec" {
    when        = destroy
    command     = "eval \"$SCRIPT\""
    interpreter = ["/bin/sh", "-c"]
    quiet       = true
    environment = {
      SCRIPT        = self.input.destroy_script
      LOCATION      = self.input.path
      FORCE_DESTROY = tostring(self.input.force_destroy)
    }
  }

  depends_on = [terraform_data.build_dir]
}
