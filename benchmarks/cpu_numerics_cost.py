"""What CPU-independent numerics cost: training with the pins against training without them.

Run from the repo root with Python 3.11+ (standard library only), after the main job has built
the feature table (`./pants run //:main`):

    python3 -m benchmarks.cpu_numerics_cost --runs 3

It builds the train PEX, then times the whole `train.pex fit --params params.yaml` command per
model (interpreter start, imports, reading, fitting, writing) on the pipeline's feature table,
alternating pinned and unpinned runs (`TRAIN_UNPINNED_NUMERICS=1`, see
services/train/train/cpu_numerics.py) so that load on the machine hits both alike. The limit is
the unpinned run, measured in the same run; the report gives medians and their ratio.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
from pathlib import Path
from typing import Any

from benchmarks import REPO, arguments, machine
from benchmarks.report import REPORTS, commit, save, stamped
from benchmarks.timing import timed

TRAIN = REPO / "dist" / "services.train" / "train.pex" / "__main__.py"
WORK = REPORTS / "cpu_numerics_cost"
MODELS = ("baseline", "torch")
MODES = {"pinned": {}, "unpinned": {"TRAIN_UNPINNED_NUMERICS": "1"}}


def fit_seconds(features: Path, model: str, mode: str) -> float:
    output = WORK / f"{model}-{mode}"
    command = [str(TRAIN), "fit", "--features", str(features), "--output", str(output),
               "--params", "params.yaml", "--models", model, "--progress", "lines"]  # fmt: skip
    elapsed, _ = timed(command, env={**os.environ, **MODES[mode]})
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=3)
    parser.add_argument("--features", type=Path, default=REPO / "data" / "features")
    args = parser.parse_args()
    if not (args.features / "train.parquet").is_file():
        raise SystemExit(f"no feature table in {args.features}: run `./pants run //:main` first")

    subprocess.run([str(REPO / "pants"), "package", "services/train:train"], check=True, cwd=REPO)
    WORK.mkdir(parents=True, exist_ok=True)
    # Untimed: builds the PEX's virtualenv once.
    fit_seconds(args.features, "baseline", "pinned")
    results: dict[str, Any] = {}
    for model in MODELS:
        seconds: dict[str, list[float]] = {mode: [] for mode in MODES}
        for number in range(args.runs):
            for mode in MODES:
                seconds[mode].append(fit_seconds(args.features, model, mode))
                print(f"{model} {mode} run {number + 1}: {seconds[mode][-1]:.2f}s", flush=True)
        medians = {mode: statistics.median(values) for mode, values in seconds.items()}
        results[model] = {
            "seconds": seconds,
            "median_seconds": medians,
            "pinned_over_unpinned": medians["pinned"] / medians["unpinned"],
        }
    report = stamped(
        cpu_model=machine.cpu_model(),
        commit=commit(),
        command="dist/services.train/train.pex/__main__.py fit --features data/features "
        "--output <dir> --params params.yaml --models <model>, "
        "with and without TRAIN_UNPINNED_NUMERICS=1",
        runs=args.runs,
        load_average_1_5_15_min=os.getloadavg(),
        results=results,
    )
    print(save(report, REPORTS / "cpu_numerics_cost.json"))


if __name__ == "__main__":
    main()
