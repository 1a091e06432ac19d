"""What the benchmarks' tests share."""

from __future__ import annotations

from pathlib import Path


def fake_pex(directory: Path, main: str) -> Path:
    """A packed PEX as `./pants package` lays it out, a directory whose `__main__.py` (the
    script `main`) the benchmarks run."""
    directory.mkdir(parents=True)
    entry = directory / "__main__.py"
    entry.write_text(main)
    entry.chmod(0o755)
    return directory
