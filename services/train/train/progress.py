"""Progress of a training run: bars on a terminal, plain log lines elsewhere (CI, DVC, files).

Only the main process of a distributed run reports. `mode` "auto" draws bars when stderr is a
terminal.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterable, Iterator
from typing import Literal, TypeVar

from tqdm import tqdm

ProgressMode = Literal["auto", "bars", "lines"]
T = TypeVar("T")

log = logging.getLogger("train")


class Progress:
    def __init__(self, mode: ProgressMode = "auto", enabled: bool = True) -> None:
        self.enabled = enabled
        self.bars = enabled and (mode == "bars" or (mode == "auto" and sys.stderr.isatty()))

    def iterate(self, items: Iterable[T], total: int, description: str, leave: bool) -> Iterator[T]:
        """`items`, with a bar on a terminal; nothing is drawn otherwise."""
        if not self.bars:
            yield from items
            return
        with tqdm(items, total=total, desc=description, leave=leave, file=sys.stderr) as bar:
            yield from bar

    def line(self, message: str) -> None:
        """A log line; with bars, written above them."""
        if not self.enabled:
            return
        if self.bars:
            tqdm.write(f"train: {message}", file=sys.stderr)
        else:
            log.info(message)
