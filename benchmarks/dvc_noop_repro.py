"""Time of a `dvc repro` that has nothing to do, on the pipeline as params.yaml sets it.

Run from the repo root with Python 3.11+ (standard library only):

    python3 -m benchmarks.dvc_noop_repro --runs 5

It first reproduces the pipeline once (untimed) so that every stage is up to date, then times
two ways of asking for a no-op, which runs no stage but does check the artifacts (the repo's
DVC does that first, tools/dvc_cli.py): the packaged DVC CLI alone (`dist/dvc.pex repro`:
the check, hashing the deps and comparing with dvc.lock) and what a user types
(`./pants run //:dvc -- repro`, which adds a Pants run with the daemon warm). The limit, in the
same run: `dist/dvc.pex version`, DVC's start-up alone. For scale it also times DVC's own no-op
without the check (`PEX_MODULE=dvc dist/dvc.pex repro`: the PEX's DVC run as `python -m dvc`),
so that the check's share of the no-op is measured, not guessed.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess

from benchmarks import REPO, arguments
from benchmarks.report import REPORTS, save, stamped
from benchmarks.timing import timed

DVC_PEX = REPO / "dist" / "dvc.pex"


def timed_noop(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of a repro that runs no stage."""
    elapsed, out = timed(command, env=env)
    ran = [line for line in out.splitlines() if line.startswith("Running stage")]
    if ran:
        raise SystemExit(f"not a no-op: {' '.join(command)} ran {ran}:\n{out}")
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=5)
    args = parser.parse_args()

    pants = str(REPO / "pants")
    subprocess.run([pants, "package", "//:dvc"], cwd=REPO, check=True)
    subprocess.run([pants, "run", "//:dvc", "--", "repro"], cwd=REPO, check=True)
    dvc_alone = {**os.environ, "PEX_MODULE": "dvc"}
    pex, via_pants, startup, unchecked = [], [], [], []
    for run in range(args.runs):
        startup.append(timed([str(DVC_PEX), "version"])[0])
        unchecked.append(timed_noop([str(DVC_PEX), "repro"], env=dvc_alone))
        pex.append(timed_noop([str(DVC_PEX), "repro"]))
        via_pants.append(timed_noop([pants, "run", "//:dvc", "--", "repro"]))
        print(
            f"run {run + 1}: dvc.pex version {startup[-1]:.2f}s, DVC's repro alone "
            f"{unchecked[-1]:.2f}s, repro {pex[-1]:.2f}s, ./pants run {via_pants[-1]:.2f}s",
            flush=True,
        )

    report = stamped(
        dvc_pex_seconds=pex,
        pants_run_seconds=via_pants,
        dvc_startup_seconds=startup,
        dvc_alone_seconds=unchecked,
        dvc_alone_median=statistics.median(unchecked),
        dvc_startup_median=statistics.median(startup),
        dvc_pex_median=statistics.median(pex),
        dvc_pex_over_startup=statistics.median(pex) / statistics.median(startup),
        pants_run_median=statistics.median(via_pants),
    )
    print(save(report, REPORTS / "dvc_noop_repro.json"))


if __name__ == "__main__":
    main()
