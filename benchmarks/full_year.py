"""The full year of 2013, landed and curated once by the packaged ingest PEX, for the benchmarks
that time what comes after it (feature build, training)."""

from __future__ import annotations

import subprocess
from pathlib import Path

from benchmarks import REPO

# The services' artifacts as `./pants package` writes them: packed PEX directories, run through
# their __main__.py (ADR 0011).
INGEST = REPO / "dist" / "services.ingest" / "ingest.pex" / "__main__.py"
FEATURE = REPO / "dist" / "services.feature" / "feature.pex" / "__main__.py"
# The example split: train January-September, validation October, test November-December.
# The build only copies the PSI threshold into stats.json, so any value times the same.
SPLITS = ["--train-end", "2013-09-30", "--validation-end", "2013-10-31", "--window-days", "7"]
SPLITS += ["--psi-threshold", "0.5"]


def run(command: list[str]) -> str:
    """`command`'s stdout, from the repo root; raises if it fails."""
    return subprocess.run(command, check=True, capture_output=True, text=True, cwd=REPO).stdout


def land(landing: Path, ingest: Path = INGEST) -> None:
    """Flights and weather for every day of 2013 and the planes and airports snapshot of
    31 December, landed under `landing` by the ingest PEX `ingest`."""
    for tables, start in (
        (["flights", "weather"], "2013-01-01"),
        (["planes", "airports"], "2013-12-31"),
    ):
        run([str(ingest), "land", "--start", start, "--end", "2013-12-31",
             "--landing", str(landing), "--tables", *tables])  # fmt: skip


def land_and_curate(landing: Path, curated: Path) -> None:
    """The full year (`land`) landed under `landing` and curated into `curated`."""
    land(landing)
    run([str(INGEST), "curate", "--landing", str(landing), "--curated", str(curated)])
