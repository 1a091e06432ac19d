"""Hands an environment's outputs to the pipeline: `./pants run infra:configure -- [--apply]`.

Reads the outputs of infra/envs/<env> (after `terraform apply`) and writes
  - .dvc/config.local: the `platform` DVC remote at `dvc_remote_url`, made the default. DVC
    reads this git-ignored file on top of .dvc/config, whose `local` remote stays as it is.
  - build/infra/<env>/platform.env: PLATFORM_DVC_REMOTE_URL, PLATFORM_MODEL_STORE_URL,
    PLATFORM_LANDING_URL and, for a local model store, BENTOML_HOME, for `set -a; . <file>`.
With --apply it first runs `init` and `apply` (for the local environment: offline, no account).
"""

from __future__ import annotations

import argparse
import shlex
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from iac.driver import TerraformError, Workspace
from iac.variables import MissingVariables

REMOTE = "platform"
REQUIRED_OUTPUTS = ("dvc_remote_url", "model_store_url", "landing_url")


def dvc_config_local(outputs: Mapping[str, Any]) -> str:
    return (
        "# Written by `./pants run infra:configure` from the Terraform outputs of the\n"
        f"# `{outputs['environment']}` environment; rerun it rather than editing this file.\n"
        "[core]\n"
        f"    remote = {REMOTE}\n"
        f"['remote \"{REMOTE}\"']\n"
        f"    url = {outputs['dvc_remote_url']}\n"
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


def configure(repo: Path, env: str, apply: bool = False) -> dict[str, Any]:
    workspace = Workspace(repo / "infra" / "envs" / env)
    if apply:
        workspace.init()
        workspace.apply()
    outputs = workspace.output()
    missing = [name for name in REQUIRED_OUTPUTS if name not in outputs]
    if missing:
        raise SystemExit(
            f"infra/envs/{env} has no {', '.join(missing)} output yet: apply it first "
            f"(./pants run infra:configure -- --env {env} --apply)."
        )
    (repo / ".dvc" / "config.local").write_text(dvc_config_local(outputs))
    env_file = repo / "build" / "infra" / env / "platform.env"
    env_file.parent.mkdir(parents=True, exist_ok=True)
    env_file.write_text(platform_env(outputs))
    return outputs


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="configure", description=__doc__.splitlines()[0])
    parser.add_argument("--env", default="local", help="infra/envs/<env> (default: local)")
    parser.add_argument("--repo", type=Path, default=Path.cwd(), help="the repo root")
    parser.add_argument("--apply", action="store_true", help="init and apply first")
    args = parser.parse_args(argv)
    try:
        outputs = configure(args.repo, args.env, apply=args.apply)
    except (TerraformError, MissingVariables) as error:
        print(error, file=sys.stderr)
        return 1
    print(f"DVC remote `{REMOTE}` (.dvc/config.local): {outputs['dvc_remote_url']}")
    print(f"model store: {outputs['model_store_url']}")
    print(f"landing zone: {outputs['landing_url']}")
    print(f"environment file: build/infra/{args.env}/platform.env")
    return 0


if __name__ == "__main__":
    sys.exit(main())
