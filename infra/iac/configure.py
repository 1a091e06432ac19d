"""Hands an environment's outputs to the pipeline: `./pants run infra:configure -- [--apply]`.

Reads the outputs of infra/envs/<env> (after `terraform apply`) and writes
  - .dvc/config.local: the `platform` DVC remote at `dvc_remote_url`, made the default. DVC
    reads this git-ignored file on top of .dvc/config, whose `local` remote stays as it is.
  - build/infra/<env>/platform.env (local: build/infra/<environment>/platform.env, where the
    environment is the selected workspace's, `local` by default): PLATFORM_DVC_REMOTE_URL,
    PLATFORM_MODEL_STORE_URL, PLATFORM_LANDING_URL and, for a local model store, BENTOML_HOME,
    for `set -a; . <file>`.
With --apply it first runs `init` and `apply`, for the local environment only (offline, no
account); another is applied with terraform as infra/README.md says.
Every output is checked before either file is written (a local location must be a directory),
and each file is replaced whole: a bad output (ConfigureError names it) leaves the previous
files as they were.
"""

from __future__ import annotations

import argparse
import re
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iac.driver import TerraformError, Workspace
from iac.engine import EngineNotFound
from iac.variables import MissingVariables
from storage.arguments import path_argument
from storage.atomic import atomic_write_text
from storage.inputs import directory_problem

REMOTE = "platform"
# The outputs that are where data lives: an s3:// URL, or a local path.
LOCATION_OUTPUTS = ("dvc_remote_url", "model_store_url", "landing_url")
REQUIRED_OUTPUTS = ("environment", *LOCATION_OUTPUTS)


class ConfigureError(ValueError):
    """The environment or its outputs cannot configure the pipeline; the message says why."""


def environment_dir(repo: Path, env: str) -> Path:
    """infra/envs/<env>, which must be one of the environments there."""
    envs = repo / "infra" / "envs"
    problem = directory_problem(envs)
    if problem:
        raise ConfigureError(
            f"{repo} is not the platform repo: {envs} {problem} (run from the repo root, or "
            "give it as --repo)"
        )
    known = sorted(p.name for p in envs.iterdir() if p.is_dir())
    if env not in known:
        raise ConfigureError(
            f"no environment {env!r} in {envs}: expected one of {', '.join(known) or 'none'}"
        )
    return envs / env


def check_outputs(outputs: Mapping[str, Any], env: str) -> None:
    """Refuse outputs that are missing, or that are not one line of text: the files written
    from them are line-based (an INI file and a shell file)."""
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise ConfigureError(
            f"infra/envs/{env} has no {', '.join(missing)} output yet: apply it first "
            f"({how_to_apply(env)})."
        )
    for name in REQUIRED_OUTPUTS:
        value = outputs[name]
        if not isinstance(value, str) or not value.strip():
            raise ConfigureError(f"output {name} of infra/envs/{env} is {value!r}: expected text")
        if not value.isprintable():
            raise ConfigureError(
                f"output {name} of infra/envs/{env} is {value!r}: it holds a control character "
                "(a line break would split the line DVC or the shell reads)"
            )


def how_to_apply(env: str) -> str:
    if env == "local":
        return f"./pants run infra:configure -- --env {env} --apply"
    return "with terraform, as infra/README.md says"


def check_locations(outputs: Mapping[str, Any], env: str) -> None:
    """Refuse a location output that is a local path but no directory: the state can outlive
    the directory (removed by hand, or by an apply that failed), and DVC and the services
    would be pointed at nothing."""
    for name in LOCATION_OUTPUTS:
        value = str(outputs[name])
        if "://" in value:
            continue
        problem = directory_problem(Path(value))
        if problem:
            raise ConfigureError(
                f"output {name} of infra/envs/{env} is {value}, which {problem}: apply "
                f"infra/envs/{env} again, which makes it anew ({how_to_apply(env)})."
            )


def config_value(name: str, value: str) -> str:
    """`value` quoted for DVC's config reader (configobj), which reads an unquoted '#' as a
    comment and a ',' as a list separator, and drops the spaces around a value. It has no
    escapes: a value holding both kinds of triple quote cannot be written."""
    for quote in ('"', "'", "'''", '"""'):
        if quote not in value:
            return f"{quote}{value}{quote}"
    raise ConfigureError(
        f"output {name} is {value!r}: DVC's config cannot hold a value with both ''' and \"\"\""
    )


def dvc_config_local(outputs: Mapping[str, Any]) -> str:
    url = config_value("dvc_remote_url", str(outputs["dvc_remote_url"]))
    return (
        "# Written by `./pants run infra:configure` from the Terraform outputs of the\n"
        f"# `{outputs['environment']}` environment; rerun it rather than editing this file.\n"
        "[core]\n"
        f"    remote = {REMOTE}\n"
        f"['remote \"{REMOTE}\"']\n"
        f"    url = {url}\n"
    )


def platform_env(outputs: Mapping[str, Any]) -> str:
    values = {
        "PLATFORM_ENVIRONMENT": outputs["environment"],
        "PLATFORM_DVC_REMOTE_URL": outputs["dvc_remote_url"],
        "PLATFORM_MODEL_STORE_URL": outputs["model_store_url"],
        "PLATFORM_LANDING_URL": outputs["landing_url"],
    }
    if "://" not in str(outputs["model_store_url"]):
        values["BENTOML_HOME"] = outputs["model_store_url"]
    return "".join(f"{key}={shlex.quote(str(value))}\n" for key, value in values.items())


def environment_file(repo: Path, env: str, outputs: Mapping[str, Any]) -> Path:
    """build/infra/<env>/platform.env; for infra/envs/local, whose environments (local, dev,
    ci) each have a state of their own, the environment's, beside its landing zone."""
    name = str(outputs["environment"]) if env == "local" else env
    if not re.fullmatch(r"[A-Za-z0-9_-]+", name):
        raise ConfigureError(
            f"output environment of infra/envs/{env} is {name!r}: expected a name of letters, "
            "digits, '-' and '_'"
        )
    return repo / "build" / "infra" / name / "platform.env"


def write_configuration(repo: Path, env: str, outputs: Mapping[str, Any]) -> Path:
    """Write .dvc/config.local and the environment file from checked `outputs`; returns the
    environment file's path."""
    check_outputs(outputs, env)
    env_file = environment_file(repo, env, outputs)
    atomic_write_text(repo / ".dvc" / "config.local", dvc_config_local(outputs))
    atomic_write_text(env_file, platform_env(outputs))
    return env_file


def configure(repo: Path, env: str, apply: bool = False) -> tuple[dict[str, Any], Path]:
    """Apply (with `apply`) and read infra/envs/<env> in the workspace Terraform selects, and
    write the pipeline's configuration; returns the outputs and the environment file."""
    workspace = Workspace(environment_dir(repo, env))
    if apply and env != "local":
        # Its init needs the backend.hcl of its tfvars, and its first apply an image digest.
        raise ConfigureError(
            f"--apply applies the local environment only: apply infra/envs/{env} with "
            "terraform as infra/README.md says (./pants run infra:backend, then init "
            "-backend-config=backend.hcl), then run "
            f"configure --env {env} without --apply"
        )
    if apply:
        workspace.init()
        workspace.apply()
    outputs = workspace.output()
    check_outputs(outputs, env)
    check_locations(outputs, env)
    return outputs, write_configuration(repo, env, outputs)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="configure", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="local", help="infra/envs/<env> (default: local)")
    parser.add_argument("--repo", type=path_argument, default=Path.cwd(), help="the repo root")
    parser.add_argument("--apply", action="store_true", help="init and apply first")
    args = parser.parse_args(argv)
    try:
        outputs, env_file = configure(args.repo, args.env, apply=args.apply)
    except (ConfigureError, EngineNotFound, TerraformError, MissingVariables) as error:
        print(f"configure: error: {error}", file=sys.stderr)
        return 1
    print(f"DVC remote `{REMOTE}` (.dvc/config.local): {outputs['dvc_remote_url']}")
    print(f"model store: {outputs['model_store_url']}")
    print(f"landing zone: {outputs['landing_url']}")
    print(f"environment file: {env_file.relative_to(args.repo)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
