# A directory that stands for an S3 bucket on this machine, created by apply and removed by
# destroy like a bucket.
#
# Apply's `local-exec` makes the directory (and missing parents) and leaves a marker file naming
# the topmost directory it created and the resource that created it (its id). Destroy's removes
# exactly that, and only when the marker names this resource: a directory that existed before
# apply is left alone, even when another state created it (say, the DVC remote every clone on
# the machine shares, made and filled by another clone), and one that holds data is kept
# (destroy fails) unless force_destroy is set, like a non-empty S3 bucket.

variable "path" {
  description = "The directory's absolute path."
  type        = string
}

variable "force_destroy" {
  description = "Whether destroy removes the directory even when it holds data."
  type        = bool
}

locals {
  marker = ".terraform-local-location"

  create_script = <<-EOT
    set -eu
    top=""
    d="$LOCATION"
    while [ ! -e "$d" ]; do top="$d"; d=$(dirname "$d"); done
    if [ -n "$top" ]; then
      mkdir -p "$LOCATION"
      printf '%s\n%s\n' "$top" "$OWNER" > "$LOCATION/${local.marker}"
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
    top=$(sed -n 1p "$marker")
    owner=$(sed -n 2p "$marker")
    if [ "$owner" != "$OWNER" ]; then
      echo "left $LOCATION: its marker names another creator ($${owner:-none recorded}), not this state's resource"
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

# Destroy-time provisioners may refer only to `self`, so the resource keeps its destroy script
# in its input.
resource "terraform_data" "this" {
  triggers_replace = var.path
  input = {
    path           = var.path
    force_destroy  = var.force_destroy
    destroy_script = local.destroy_script
  }

  provisioner "local-exec" {
    command     = "eval \"$SCRIPT\""
    interpreter = ["/bin/sh", "-c"]
    quiet       = true
    environment = { SCRIPT = local.create_script, LOCATION = self.input.path, OWNER = self.id }
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
      OWNER         = self.id
    }
  }
}

output "path" {
  description = "The directory's path, known once apply has created it."
  value       = terraform_data.this.output.path
}
