# A directory that stands for an S3 bucket on this machine, created by apply and removed by
# destroy like a bucket.
#
# Apply's `local-exec` makes the directory (and missing parents) and leaves a marker file naming
# the topmost directory it created and the location that created it: `terraform_data.owner`'s
# id, which belongs to this module instance in this state and outlives replacements of the
# directory's resource. Destroy's removes exactly that, and only when the marker names this
# location: a directory that existed before apply is left alone, even when another state
# created it (say, the DVC remote every clone on the machine shares, made and filled by another
# clone), and one that holds data is kept (destroy fails) unless force_destroy is set, like a
# non-empty S3 bucket.

variable "path" {
  description = "The directory's absolute path."
  type        = string

  # Caught here, at plan, rather than by apply's script. fileexists is true for a regular file
  # (or a link to one) and fails on a directory; other kinds of file are left to the script,
  # which runs before the old location is touched (create_before_destroy).
  validation {
    condition     = !try(fileexists(var.path), false)
    error_message = "Location ${var.path} is a file: a location must be a directory, or a path that does not exist yet."
  }
}

variable "force_destroy" {
  description = "Whether destroy removes the directory even when it holds data."
  type        = bool
}

locals {
  marker = ".terraform-local-location"

  # Read at plan: fileexists fails on a directory (and the validation above refuses a file).
  directory_exists = !can(fileexists(var.path))

  create_script = <<-EOT
    set -eu
    top=""
    d="$LOCATION"
    while [ ! -e "$d" ]; do top="$d"; d=$(dirname "$d"); done
    marker="$LOCATION/${local.marker}"
    if [ -n "$top" ]; then
      mkdir -p "$LOCATION"
      printf '%s\n%s\n' "$top" "$OWNER" > "$marker"
      echo "created $LOCATION"
    elif [ ! -d "$LOCATION" ]; then
      echo "error: $LOCATION exists and is not a directory" >&2
      exit 1
    elif [ -f "$marker" ] && [ "$(sed -n 2p "$marker")" = "$OWNER" ]; then
      echo "kept $LOCATION: this location created it before"
    else
      echo "adopted $LOCATION: it existed before, so destroy will leave it"
    fi
  EOT

  destroy_script = <<-EOT
    set -eu
    marker="$LOCATION/${local.marker}"
    if [ ! -f "$marker" ]; then
      echo "left $LOCATION: apply did not create it"
      exit 0
    fi
    top=$(sed -n 1p "$marker")
    owner=$(sed -n 2p "$marker")
    if [ "$owner" != "$OWNER" ]; then
      echo "left $LOCATION: its marker names another creator ($${owner:-none recorded}), not this location"
      exit 0
    fi
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

# The location's identity in this state, for the marker: created once, never replaced.
resource "terraform_data" "owner" {}

# Destroy-time provisioners may refer only to `self`, so the resource keeps its destroy script
# and its owner in its input.
#
# A new path creates the new directory before the old resource goes, so a path apply cannot
# make leaves the old location as it was. Terraform runs no destroy provisioner for a replaced
# (deposed) object, so the old directory is then left on disk, data and all; a resource
# replaced at the same path finds its location's marker and keeps the directory as its own.
#
# terraform_data sees no drift, so a directory removed since apply would stay missing with
# nothing planned. For a directory missing at plan the trigger is unknown until apply
# (timestamp() is), which plans a replacement that makes the directory again; at apply it comes
# out as the path, as for a directory that exists, so the next plan is empty and a fresh
# location is not replaced by the plan after its creation.
resource "terraform_data" "this" {
  triggers_replace = local.directory_exists ? var.path : "${var.path}${replace(timestamp(), "/.*/", "")}"
  input = {
    path           = var.path
    owner          = terraform_data.owner.id
    force_destroy  = var.force_destroy
    destroy_script = local.destroy_script
  }

  lifecycle {
    create_before_destroy = true
  }

  provisioner "local-exec" {
    command     = "eval \"$SCRIPT\""
    interpreter = ["/bin/sh", "-c"]
    quiet       = true
    environment = { SCRIPT = local.create_script, LOCATION = self.input.path, OWNER = self.input.owner }
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
      OWNER         = self.input.owner
    }
  }
}

output "path" {
  description = "The directory's path, known once apply has created it."
  value       = terraform_data.this.output.path
}
