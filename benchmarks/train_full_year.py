"""Training on the full year: wall time of each model's fit, and its test ROC-AUC.

Run from the repo root with Python 3.11+ (standard library only; it builds the ingest, feature
and train PEXes):

    python3 -m benchmarks.train_full_year --runs 3

It lands, curates and builds the features of the whole of 2013 once under
build/benchmarks/train_full_year/ (train January-September, validation October, test
November-December, as in docs/benchmarks.md's feature build), then times the whole
`train.pex fit --models <model>` command per model (interpreter start, imports, reading, fitting,
writing), pinned to two CPU cores, with params.yaml's parameters. After each run `evaluate
--no-register` scores the model on the test split. One untimed run first builds the PEX's
virtualenv. Models: the default baseline (hist_gradient_boosting), the logistic-regression
baseline, the PyTorch model, and the PyTorch model data-parallel in 2 processes, sharing the
pinned torch threads (the default) and, as the limit, each taking all of them.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
from pathlib import Path
from typing import Any

from benchmarks import REPO, arguments
from benchmarks.full_year import FEATURE, SPLITS, land_and_curate, run
from benchmarks.report import REPORTS, commit, save, stamped
from benchmarks.timing import timed

TRAIN = REPO / "dist" / "services.train" / "train.pex" / "__main__.py"
WORK = REPORTS / "train_full_year"
CORES = 2
# name -> (model fitted, extra fit arguments)
CASES: dict[str, tuple[str, list[str]]] = {
    "baseline: hist_gradient_boosting": ("baseline", []),
    "baseline: logistic_regression": (
        "baseline",
        ["--set=train.baseline.model=logistic_regression"],
    ),
    "torch: 1 process": ("torch", []),
    "torch: 2 processes (gloo)": ("torch", ["--nproc-per-node", "2"]),
    # The limit for the case above: each process takes the whole pinned count (2,
    # train.cpu_numerics.THREADS) instead of its share, as before the processes shared it.
    "torch: 2 processes, both threads each": ("torch", ["--nproc-per-node", "2", "--threads", "2"]),
}


def prepare(features: Path) -> dict[str, Any]:
    shutil.rmtree(WORK, ignore_errors=True)
    landing, curated = WORK / "landing", WORK / "curated"
    land_and_curate(landing, curated)
    summary: dict[str, Any] = json.loads(
        run([str(FEATURE), "build", "--curated", str(curated), "--output", str(features), *SPLITS])
    )
    return summary


def fit_command(features: Path, output: Path, model: str, extra: list[str]) -> list[str]:
    command = [str(TRAIN), "fit", "--features", str(features), "--output", str(output)]
    return [*command, "--params", "params.yaml", "--models", model, "--progress", "lines", *extra]


def test_metrics(features: Path, models: Path, model: str) -> dict[str, Any]:
    output = models.parent / f"{models.name}-evaluation"
    run([str(TRAIN), "evaluate", "--features", str(features), "--models", str(models),
         "--output", str(output), "--params", "params.yaml", "--no-register"])  # fmt: skip
    metrics: dict[str, Any] = json.loads((output / "metrics.json").read_text())[model]
    return metrics


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=arguments.count, default=3)
    args = parser.parse_args()

    targets = ["services/ingest:ingest", "services/feature:feature", "services/train:train"]
    subprocess.run([str(REPO / "pants"), "package", *targets], check=True, cwd=REPO)
    # Children inherit the affinity; the train service sizes its threads to it.
    cores = sorted(os.sched_getaffinity(0))[:CORES]
    os.sched_setaffinity(0, cores)
    features = WORK / "features"
    summary = prepare(features)
    print(f"landed, curated and built the year: {summary['rows_per_split']}", flush=True)

    load_before = os.getloadavg()
    warmup, _ = timed(
        fit_command(features, WORK / "warmup", "baseline", ["--set=train.baseline.max_iter=1"])
    )
    print(f"untimed first run (builds the PEX venv): {warmup:.2f}s", flush=True)
    results = {}
    for name, (model, extra) in CASES.items():
        seconds, fit_seconds, aucs, metrics = [], [], [], {}
        for number in range(args.runs):
            output = WORK / "models" / name.replace(": ", "-").replace(" ", "_")
            wall, printed = timed(fit_command(features, output, model, extra))
            seconds.append(wall)
            fit_seconds.append(json.loads(printed)["fit_seconds"][model])
            metrics = test_metrics(features, output, model)
            aucs.append(metrics["roc_auc"])
            print(f"{name} run {number + 1}: {seconds[-1]:.2f}s, test ROC-AUC "
                  f"{metrics['roc_auc']:.4f}", flush=True)  # fmt: skip
        results[name] = {
            "seconds": seconds,
            "median_seconds": statistics.median(seconds),
            "min_seconds": min(seconds),
            "fit_seconds": fit_seconds,
            "median_fit_seconds": statistics.median(fit_seconds),
            "min_fit_seconds": min(fit_seconds),
            "test_roc_auc_per_run": aucs,
            "test": {k: metrics[k] for k in ("roc_auc", "pr_auc", "log_loss", "brier")},
            "threshold": metrics["threshold"],
            "confusion": metrics["confusion"],
        }

    baselines = [r["test"]["roc_auc"] for n, r in results.items() if n.startswith("baseline")]
    torch_auc = results["torch: 1 process"]["test"]["roc_auc"]
    report = stamped(
        cores_used=len(cores),
        commit=commit(),
        command="dist/services.train/train.pex/__main__.py fit --features <full year> "
        "--output <dir> --params params.yaml --models <model> [extra]",
        rows_per_split=summary["rows_per_split"],
        warmup_seconds=warmup,
        # Other work on the machine inflates wall times; this says how much there was.
        load_average_1_5_15_min={"before": load_before, "after": os.getloadavg()},
        results=results,
        best_baseline_roc_auc=max(baselines),
        torch_gap_to_best_baseline=max(baselines) - torch_auc,
        goal_met=max(baselines) - torch_auc <= 0.01,
        two_processes_fit_shared_over_both_threads_each=(
            results["torch: 2 processes (gloo)"]["median_fit_seconds"]
            / results["torch: 2 processes, both threads each"]["median_fit_seconds"]
        ),
    )
    print(save(report, REPORTS / "train_full_year.json"))


if __name__ == "__main__":
    main()
