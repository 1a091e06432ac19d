"""argparse's type for a path a command reads or writes.

`Path("")` is the current directory, so an empty option (an unset shell variable, say) made a
command read its input from, or check its output against, wherever it was started: `train fit
--features ""` looked for train.parquet there. An empty path is refused by name instead.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def path_argument(text: str) -> Path:
    if not text:
        raise argparse.ArgumentTypeError("empty: give a path")
    return Path(text)
