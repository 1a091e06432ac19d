"""CI cost: the Pants monorepo against the one-repository-per-service layout it replaces.

Run from the repo root with Python 3.11+ (standard library only):

    python3 -m benchmarks.ci.run --runs 3
    python3 -m benchmarks.ci.run --runs 3 --monorepo-only --rev <commit> --output <file>

The second form measures the monorepo alone at an earlier commit (a "before"), with this
checkout's benchmark code. The AWS environment's tests skip unless `--with-aws-tests` is given.

Each run measures the monorepo cases (monorepo.py) and the polyrepo emulation (polyrepo.py)
from cold caches, then the incremental cases on the caches the full run warmed, as CI caches
would be. Every timing goes to build/benchmarks/ci.json (or --output), saved again after each
run so that a failed run keeps the earlier ones, and a Markdown table of the medians is
printed; `./pants run benchmarks/ci:plot` draws build/benchmarks/ci.png from the JSON.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from benchmarks import arguments
from benchmarks.ci import monorepo, polyrepo
from benchmarks.report import REPORTS, commit, save, save_or_refuse, stamped

OUT = REPORTS / "ci.json"


def polyrepo_run(scratch: Path, units: list[polyrepo.Unit]) -> dict[str, float]:
    # A fresh pip cache: cold, like the monorepo's empty Pants caches.
    env = {**os.environ, "PIP_CACHE_DIR": str(scratch / "pip-cache")}
    layout = polyrepo.Polyrepo(scratch / "polyrepo", units, env)
    full = layout.full()
    service_file = Path(monorepo.SERVICE_FILE).relative_to("services/train")
    incremental = layout.one_line_change("train", str(service_file))
    lib_file = Path(monorepo.LIB_FILE).relative_to("libs/feature_definitions")
    lib_change = layout.lib_change("feature_definitions", str(lib_file))
    print(f"  polyrepo full {full}\n  incremental {incremental}\n  lib change {lib_change}")
    return {
        "polyrepo_full": sum(full.values()),
        "polyrepo_one_service_change": sum(incremental.values()),
        "polyrepo_lib_change": sum(lib_change.values()),
        **{f"polyrepo_full_{name}": seconds for name, seconds in full.items()},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--runs", type=arguments.count, default=3, help="runs to take the median of"
    )
    parser.add_argument("--rev", default="HEAD", help="the commit the monorepo cases clone")
    parser.add_argument("--monorepo-only", action="store_true", help="skip the polyrepo emulation")
    parser.add_argument("--output", type=arguments.report_file, default=OUT)
    parser.add_argument(
        "--with-aws-tests",
        action="store_true",
        help="keep TF_PLUGIN_DIR, so the AWS environment's tests run as in .ci/run (by default"
        " they skip, so that runs on machines with and without the provider's mirror compare)",
    )
    args = parser.parse_args()
    if args.rev != "HEAD" and not args.monorepo_only:
        # The polyrepo is generated from this checkout's Pants graph, not from --rev's.
        parser.error("--rev needs --monorepo-only")
    measured = commit(args.rev)
    # Refused before any run: the clones' checkout finds it only after copying the repo, and its
    # error is lost. HEAD is not checked: outside a git checkout (the tests' sandbox) it names
    # nothing, and the report says "unknown".
    if args.rev != "HEAD" and measured == "unknown":
        parser.error(f"argument --rev: {args.rev!r} names no commit of this checkout")

    if not args.with_aws_tests:
        os.environ.pop("TF_PLUGIN_DIR", None)
    units = [] if args.monorepo_only else polyrepo.discover_units()
    runs: list[dict[str, float]] = []

    def report() -> dict[str, Any]:
        keys = runs[0] if runs else {}
        return stamped(
            commit=measured,
            aws_tests=args.with_aws_tests,
            units=[unit.name for unit in units],
            runs_asked=args.runs,
            runs=runs,
            medians={key: statistics.median(run[key] for run in runs) for key in keys},
        )

    # Saved now, so a path that cannot take the report fails before an hour of runs, and again
    # after each run, so a later run's failure loses none of the earlier ones.
    save_or_refuse(report(), args.output, parser)
    for number in range(1, args.runs + 1):
        with tempfile.TemporaryDirectory(prefix="ci-cost-") as scratch:
            timings = monorepo.one_run(Path(scratch), args.rev)
            if not args.monorepo_only:
                timings.update(polyrepo_run(Path(scratch), units))
        runs.append(timings)
        save(report(), args.output)
        print(f"run {number}: " + ", ".join(f"{k}={v:.1f}s" for k, v in timings.items()))

    final = report()
    print(
        f"\n{final['date']}, commit {final['commit']}, {final['machine']}, "
        f"median of {args.runs}, AWS tests {'run' if args.with_aws_tests else 'skipped'}\n"
    )
    print("| case | run values (s) | median (s) |")
    print("| --- | --- | ---: |")
    for key, value in final["medians"].items():
        values = ", ".join(f"{run[key]:.1f}" for run in runs)
        print(f"| {key} | {values} | {value:.1f} |")


if __name__ == "__main__":
    main()
