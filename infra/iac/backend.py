"""Writes the S3 state backend's settings (backend.hcl) from the environment's own variables.

The state bucket, its key and the lock table are variables of infra/envs/aws
(`terraform_state_bucket`, `terraform_state_key`, `terraform_state_lock_table`, with `region`),
because the CI roles' state permissions are scoped to them. This makes them the only home of the
backend's settings too: every `terraform init` of the environment, the admin's and the
workflows', reads the backend.hcl written from them, so an init can never point at a state the
roles may not read.

    ./pants run infra:backend -- [infra/envs/aws]

The values are taken as Terraform takes them when it plans: the defaults in the `*.tf` files,
then TF_VAR_<name>, then terraform.tfvars, terraform.tfvars.json and the *.auto.tfvars files.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iac.variables import (
    UnreadableConfiguration,
    declared_variables,
    read_tfvars,
    unquote,
    variable_files,
)
from storage.arguments import path_argument
from storage.atomic import atomic_write_text
from storage.inputs import directory_problem

BACKEND_FILE = "backend.hcl"
# The first line of every backend.hcl written here: one without it is someone's own, kept.
HEADER = "# Written by `./pants run infra:backend` from this environment's variables: edit those."
# backend.hcl's setting for each variable it is written from.
SETTINGS = {
    "bucket": "terraform_state_bucket",
    "key": "terraform_state_key",
    "region": "region",
    "dynamodb_table": "terraform_state_lock_table",
}
# What a value may not hold: HCL would read it as an escape or a template, not as itself.
UNQUOTABLE = ('"', "\\", "${", "%{")


class BackendError(ValueError):
    """The backend's settings cannot be written; the message says which and why."""


def from_hcl(value: Any) -> Any:
    """A value as python-hcl2 gives it, a string without the double quotes it keeps."""
    return unquote(value) if isinstance(value, str) else value


def defaults(directory: Path) -> dict[str, Any]:
    """The default of each variable the module in `directory` declares with one."""
    return {v.name: from_hcl(v.default) for v in declared_variables(directory) if not v.required}


def variable_values(directory: Path, environ: Mapping[str, str]) -> dict[str, Any]:
    """Each variable's value as Terraform would set it without -var or -var-file."""
    values = defaults(directory)
    values |= {k.removeprefix("TF_VAR_"): v for k, v in environ.items() if k.startswith("TF_VAR_")}
    for path in variable_files(directory):
        if path.is_file():
            given = read_tfvars(path)
            values |= (
                given if path.suffix == ".json" else {k: from_hcl(v) for k, v in given.items()}
            )
    return values


def setting(name: str, value: object) -> str:
    """The variable's value as a backend setting; refused, by name, where HCL would change it."""
    if not isinstance(value, str):
        raise BackendError(f"{name} must be a string, not {value!r}")
    if not value:
        raise BackendError(f"{name} is empty")
    if found := [part for part in UNQUOTABLE if part in value]:
        raise BackendError(
            f"{name} {value!r} holds {' and '.join(found)}, which no state bucket, key or table "
            "name has: check where the variable is set"
        )
    if not value.isprintable():
        raise BackendError(f"{name} {value!r} holds a line break or another control character")
    return value


def backend_settings(directory: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """backend.hcl's settings for the environment in `directory`."""
    if problem := directory_problem(directory):
        raise BackendError(f"{directory} {problem}: name the environment's root module")
    try:
        values = variable_values(directory, environ)
    except UnreadableConfiguration as error:
        raise BackendError(str(error)) from error
    missing = [variable for variable in SETTINGS.values() if variable not in values]
    if missing:
        raise BackendError(
            f"{directory}'s state backend needs {', '.join(missing)}: set them in "
            f"{directory / 'terraform.tfvars'} (on CI, the aws environment's TERRAFORM_TFVARS)"
        )
    return {key: setting(variable, values[variable]) for key, variable in SETTINGS.items()}


def render(settings: Mapping[str, str]) -> str:
    lines = [f'{key} = "{value}"' for key, value in settings.items()]
    return "\n".join([HEADER, *lines, "encrypt = true", ""])


def write_backend(directory: Path, environ: Mapping[str, str]) -> Path:
    """Write `directory`'s backend.hcl whole (never half: a file is replaced by a complete one)
    and return its path. A backend.hcl not written here is refused, not overwritten."""
    settings = backend_settings(directory, environ)
    path = directory / BACKEND_FILE
    if path.is_symlink() or path.exists():
        try:
            first = path.read_text(encoding="utf-8").partition("\n")[0]
        except (OSError, UnicodeDecodeError) as error:
            raise BackendError(f"{path} is in the way and cannot be read: {error}") from error
        if first != HEADER:
            raise BackendError(
                f"{path} was not written by infra:backend, so it is kept: move it away, and set "
                f"what it says in terraform.tfvars ({', '.join(SETTINGS.values())})"
            )
    atomic_write_text(path, render(settings))
    return path


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="backend", description=__doc__.splitlines()[0])
    parser.add_argument(
        "directory",
        nargs="?",
        default="infra/envs/aws",
        type=path_argument,
        help="the environment's root module (default: infra/envs/aws)",
    )
    args = parser.parse_args(argv)
    try:
        path = write_backend(args.directory, os.environ)
    except (BackendError, OSError) as error:
        print(f"backend: {error}", file=sys.stderr)
        return 2
    print(f"backend: wrote {path}; init with -backend-config={BACKEND_FILE}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
