"""Drives one Terraform root module (an `infra/envs/<name>` directory) from Python.

The platform's design names python-terraform as the driver. It works for init, apply, plan and
output against Terraform 1.x, but its `destroy` sends `-force`, which Terraform 0.15 removed, so
`Workspace.destroy` runs the command through python-terraform's `cmd` instead. `_Adapter` lets
python-terraform run either engine of `iac.engine`; `Workspace` is the small typed surface the
rest of the platform uses. See docs/adr/0006.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_terraform import IsFlagged, Terraform

from iac.engine import Engine, find_engine
from iac.variables import check_required_variables

Value = str | int | float | bool | list[Any] | dict[str, Any] | None
# The workspace names Terraform's own commands take without complaint.
WORKSPACE_NAME = re.compile(r"[A-Za-z0-9_-]+")


class TerraformError(RuntimeError):
    """A Terraform command failed; the message ends with Terraform's own error output."""

    def __init__(self, command: str, directory: Path, code: int, stderr: str) -> None:
        super().__init__(
            f"terraform {command} in {directory} failed (exit {code}):\n{stderr.strip()}"
        )
        self.command = command
        self.code = code
        self.stderr = stderr


class _Adapter(Terraform):  # type: ignore[misc]  # python-terraform has no type information
    """python-terraform with any engine of `iac.engine` as the command."""

    def __init__(
        self,
        working_dir: str,
        engine: Engine,
        variables: Mapping[str, Value],
        workspace: str | None = None,
    ) -> None:
        super().__init__(
            working_dir=working_dir,
            variables=dict(variables),
            terraform_bin_path=engine.argv[0],
        )
        # python-terraform passes every command this process's environment and takes no other,
        # so `env` selects the workspace for the one command (TF_WORKSPACE) without changing
        # the directory's selection (.terraform/environment) or this process's environment.
        self._engine_argv = (
            ("env", f"TF_WORKSPACE={workspace}", *engine.argv) if workspace else engine.argv
        )

    def generate_cmd_string(self, cmd: str, *args: Any, **kwargs: Any) -> list[str]:
        # python-terraform puts one binary path first; the embedded engine is a command line.
        command: list[str] = super().generate_cmd_string(cmd, *args, **kwargs)
        return [*self._engine_argv, *command[1:]]


@dataclass(frozen=True)
class Result:
    stdout: str
    stderr: str


class Workspace:
    """One root module with its variables: init, plan, apply, output, destroy, test.

    `workspace` names the Terraform workspace (the state) every command runs in; None leaves
    the choice to Terraform: TF_WORKSPACE, else the directory's selected workspace."""

    def __init__(
        self,
        directory: Path | str,
        variables: Mapping[str, Value] | None = None,
        engine: Engine | None = None,
        workspace: str | None = None,
    ) -> None:
        if workspace is not None and not WORKSPACE_NAME.fullmatch(workspace):
            raise ValueError(
                f"workspace {workspace!r} is no Terraform workspace name: letters, digits, "
                "'-' and '_'"
            )
        self.directory = Path(directory)
        self.variables = dict(variables or {})
        self.engine = engine or find_engine()
        self._tf = _Adapter(str(self.directory), self.engine, self.variables, workspace)

    def _check(self, command: str, result: tuple[int, str | None, str | None]) -> Result:
        code, stdout, stderr = result
        if code != 0:
            raise TerraformError(command, self.directory, code, stderr or stdout or "")
        return Result(stdout or "", stderr or "")

    def init(self, backend: bool = True) -> Result:
        # Variables are for plan and apply; `init` of older engines rejects -var-file.
        return self._check("init", self._tf.init(backend=backend, var=None))

    def apply(self) -> Result:
        check_required_variables(self.directory, self.variables)
        return self._check("apply", self._tf.apply(skip_plan=True))

    def plan_has_changes(self) -> bool:
        """Plans; True when applying would change something."""
        check_required_variables(self.directory, self.variables)
        result: tuple[int, str, str] = self._tf.plan()  # -detailed-exitcode: 0 none, 2 changes
        code, stdout, stderr = result
        if code not in (0, 2):
            raise TerraformError("plan", self.directory, code, stderr or stdout)
        return code == 2

    def output(self) -> dict[str, Any]:
        """The root module's outputs, name to value."""
        result = self._check("output", self._tf.cmd("output", json=IsFlagged))
        outputs: dict[str, dict[str, Any]] = json.loads(result.stdout or "{}")
        return {name: output["value"] for name, output in outputs.items()}

    def destroy(self) -> Result:
        # Not python-terraform's `destroy`: it sends `-force`, which Terraform 0.15 removed.
        result = self._tf.cmd(
            "destroy", auto_approve=IsFlagged, input=False, no_color=IsFlagged, var=self.variables
        )
        return self._check("destroy", result)

    def test(self, args: Sequence[str] = ()) -> Result:
        """`terraform test` with the workspace's variables."""
        return self._check(
            "test", self._tf.cmd("test", *args, var=self.variables, no_color=IsFlagged)
        )

    def validate(self) -> Result:
        return self._check("validate", self._tf.cmd("validate", no_color=IsFlagged))
