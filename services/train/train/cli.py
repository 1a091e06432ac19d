"""Command line of the train service.

  fit        train the baseline and the PyTorch model on a feature table
  evaluate   score them on its test split, write metrics and plots, register them in the
             BentoML store and run the promotion gate
  rollback   the andon cord: stop serving the promoted model; the one promoted before serves
  sagemaker  fit and evaluate as a SageMaker training job (paths and params from SageMaker's
             files under /opt/ml, or the training toolkit's SM_*)

Under `torchrun --nproc_per_node=N -m train.cli fit ...` (with PYTHONSAFEPATH=1: see
distributed.launch_local), or with `fit --nproc-per-node N`, the PyTorch model trains
data-parallel in N processes.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from model_registry.errors import PredictorError, RegistryError
from storage.arguments import path_argument
from storage.atomic import OutputWriteError, atomic_write_text
from storage.outputs import OutputError, check_output
from train.errors import TrainError, WorkersFailed
from train.params import MODELS, Params, ParamsError, load_params, params_from

# What fits, scores and registers models imports torch, scikit-learn and BentoML: each command
# imports its work when it runs, so `--help` and a refused argument load none of them, and
# `rollback` only the model store.
if TYPE_CHECKING:
    from model_registry.store import ModelStore
    from train.evaluate import Evaluation

REGISTRY_FILE = "registry.json"
log = logging.getLogger("train")


def _params(args: argparse.Namespace) -> Params:
    overrides: dict[str, Any] = {}
    for item in args.set:
        key, sep, value = item.partition("=")
        if not sep:
            raise ParamsError(f"--set expects KEY=VALUE, got {item!r}")
        overrides[key] = value  # params_from reads it as YAML, naming the key if it is not
    return load_params(args.params, overrides)


def _under_torchrun() -> bool:
    return "WORLD_SIZE" in os.environ


def _inputs(args: argparse.Namespace) -> dict[str, Path]:
    """The command's input paths by option, which its output must not overlap."""
    named = {"--features": args.features, "--params": args.params}
    if isinstance(args.models, Path):  # evaluate's; fit's --models names models to fit
        named["--models"] = args.models
    return named


def _fit(args: argparse.Namespace) -> int:
    # Before training: an output that cannot be written would otherwise fail at the end.
    check_output(args.output, "--output", inputs=_inputs(args))
    params = _params(args)
    from train.data import read_splits, split_files
    from train.distributed import join_world, launch_local, leave_world
    from train.fit import fit_models
    from train.progress import Progress

    files = split_files(args.features)
    if args.nproc_per_node > 1 and not _under_torchrun():
        # Bad input fails here, once, rather than in every worker.
        read_splits({split: files[split] for split in ("train", "validation")})
        worker = ["fit", "--features", str(args.features), "--output", str(args.output)]
        worker += ["--models", *args.models, "--threads", str(args.threads)]
        worker += ["--progress", args.progress]
        worker += ["--params", str(args.params)]
        worker += [f"--set={item}" for item in args.set]
        launch_local(args.nproc_per_node, "train.cli", worker)
        return 0
    world = join_world()
    try:
        progress = Progress(args.progress, enabled=world.is_main)
        report = fit_models(
            files, args.output, params.train, world, progress, args.models, args.threads
        )
    finally:
        leave_world(world)
    if report is not None:
        print(json.dumps({"output": str(args.output), **report}))
    return 0


def _evaluate_and_register(
    files: dict[str, Path],
    models_dir: Path,
    output: Path,
    params: Params,
    home: Path | None,
    features_dir: Path | None,
) -> tuple[Evaluation, dict[str, Any] | None]:
    """Score the models and, given a store `home`, register them and run the gate; then write
    the metrics, plots and registry.json. The input (the models' training.json, the store) is
    checked first and the output written last, so a failed run leaves it as it was."""
    from train.evaluate import evaluate_models, load_models, write_evaluation
    from train.provenance import features_split, features_weather_lead_hours, features_window_days

    predictors = load_models(models_dir)
    registration = None
    if home is not None:
        window, split = features_window_days(features_dir), features_split(features_dir)
        lead = features_weather_lead_hours(features_dir)
        registration = (_training_record(models_dir), _open_store(home), window, split, lead)
    evaluation = evaluate_models(files["test"], predictors, params.evaluate)
    registry = None
    if registration is not None:
        registry = _register(evaluation, models_dir, *registration, params, features_dir)
    write_evaluation(evaluation, output)
    if registry is not None:
        atomic_write_text(output / REGISTRY_FILE, json.dumps(registry, indent=2) + "\n")
        decision = registry["decision"]
        print(f"train: {decision['reason']}", file=sys.stderr)
        for note in decision["notes"]:
            print(f"train: note: {note}", file=sys.stderr)
        print(
            f"train: registered {registry['candidate']} (candidate) and {registry['baseline']} "
            f"(baseline) in {registry['store']}; serving: {registry['promoted'] or 'unchanged'}",
            file=sys.stderr,
        )
    return evaluation, registry


def _register(
    evaluation: Evaluation,
    models_dir: Path,
    training: dict[str, Any],
    store: ModelStore,
    window_days: int | None,
    split: dict[str, str] | None,
    weather_lead_hours: int | None,
    params: Params,
    features_dir: Path | None,
) -> dict[str, Any]:
    from train.promotion import Provenance, register_run
    from train.provenance import UNKNOWN, dvc_directory_hash, git_state

    commit, dirty = git_state(Path.cwd())
    provenance = Provenance(
        git_commit=commit,
        git_dirty=dirty,
        features_dvc_hash=dvc_directory_hash(features_dir) if features_dir else UNKNOWN,
        features_window_days=window_days,
        features_split=split,
        features_weather_lead_hours=weather_lead_hours,
        # The train params the models were fitted with, as training recorded them.
        params={**params.to_dict(), "train": training["params"]},
    )
    registry = register_run(evaluation, models_dir, store, params.promote, provenance)
    registry["store"] = str(store.home)
    return registry


def _open_store(home: Path) -> ModelStore:
    from model_registry.store import open_store

    try:
        return open_store(home)
    except OSError as error:  # a file, or a directory this user cannot write
        raise RegistryError(
            f"cannot open the model store at {home}: {error.strerror or error} "
            f"({error.filename or home})"
        ) from None


def _training_record(models_dir: Path) -> dict[str, Any]:
    """What `train fit` recorded of the run (training.json): the registry quotes its params."""
    from train.data import TrainingDataError
    from train.fit import TRAINING_FILE

    path = models_dir / TRAINING_FILE
    try:
        record = json.loads(path.read_text())
    except FileNotFoundError:
        raise TrainingDataError(
            f"{path} does not exist: {models_dir} is not `train fit`'s output"
        ) from None
    except (OSError, ValueError) as error:
        raise TrainingDataError(f"{path} is not readable JSON: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("params"), dict):
        raise TrainingDataError(f"{path} holds no params object: not `train fit`'s record")
    return record


def _summary(evaluation: Evaluation) -> dict[str, Any]:
    keys = ("roc_auc", "pr_auc", "log_loss", "brier", "threshold")
    return {name: {k: m[k] for k in keys} for name, m in evaluation.metrics.items()}


def _evaluate(args: argparse.Namespace) -> int:
    check_output(args.output, "--output", inputs=_inputs(args))
    params = _params(args)
    from model_registry.store import store_home
    from train.data import split_files

    files = split_files(args.features)
    # A previous run's decision would describe models this run did not register (or failed
    # to): the deploy job reads it.
    (args.output / REGISTRY_FILE).unlink(missing_ok=True)
    home = store_home(args.store) if args.register else None
    evaluation, registry = _evaluate_and_register(
        files, args.models, args.output, params, home, args.features
    )
    result: dict[str, Any] = {"output": str(args.output), "metrics": _summary(evaluation)}
    if registry is not None:
        result["registry"] = {k: registry[k] for k in ("candidate", "baseline", "promoted")}
    print(json.dumps(result))
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from model_registry.store import open_store, roll_back, store_home

    pulled, serving = roll_back(open_store(store_home(args.store), create=False), args.reason)
    print(json.dumps({"rolled_back": str(pulled), "serving": serving and str(serving.tag)}))
    return 0


def _sagemaker(args: argparse.Namespace) -> int:
    from model_registry.store import use_home
    from train.data import read_splits
    from train.distributed import join_world, launch_local, leave_world
    from train.fit import fit_models
    from train.progress import Progress
    from train.sagemaker import SageMakerJob

    job = SageMakerJob.from_environ()
    # The store travels inside model.tar.gz: BENTOML_HOME=<unpacked>/bentoml serves from it.
    store = job.model_dir / "bentoml"
    use_home(store)
    params = params_from({}, job.hyperparameters)
    files = job.feature_files()
    if not _under_torchrun() and (job.processes_per_host > 1 or len(job.hosts) > 1):
        read_splits({split: files[split] for split in ("train", "validation")})
        launch_local(
            job.processes_per_host,
            "train.cli",
            ["sagemaker", "--progress", args.progress],
            nnodes=len(job.hosts),
            node_rank=job.node_rank,
            master_addr=job.hosts[0],
        )
        return 0
    models_dir = job.models_dir
    world = join_world()
    try:
        progress = Progress(args.progress, enabled=world.is_main)
        fit_models(files, models_dir, params.train, world, progress)
    finally:
        leave_world(world)
    if not world.is_main:
        return 0
    output = job.output_data_dir / "evaluation"
    evaluation, registry = _evaluate_and_register(
        files, models_dir, output, params, store, job.features_dir
    )
    promoted = registry and registry["promoted"]
    print(json.dumps({"metrics": _summary(evaluation), "promoted": promoted}))
    return 0


def _at_least(minimum: int) -> Callable[[str], int]:
    def count(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= {minimum}")
        return value

    return count


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    commands = parser.add_subparsers(dest="command", required=True)

    def common(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--params",
            required=True,
            help="params.yaml, the only home of the train/evaluate/promote parameters: a path "
            "or a URL (s3://...)",
        )
        command.add_argument(
            "--set",
            action="append",
            default=[],
            metavar="KEY=VALUE",
            help="override one parameter, e.g. train.torch.epochs=2 (repeatable)",
        )
        command.add_argument(
            "--features",
            type=path_argument,
            required=True,
            help="the feature service's output directory ({train,validation,test}.parquet)",
        )

    def progress(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "--progress",
            choices=["auto", "bars", "lines"],
            default="auto",
            help="bars on a terminal, log lines otherwise (default: auto)",
        )

    fit = commands.add_parser("fit", help="train the models")
    common(fit)
    fit.add_argument(
        "--output", type=path_argument, required=True, help="directory to write, replaced whole"
    )
    fit.add_argument("--models", nargs="+", choices=MODELS, default=list(MODELS))
    fit.add_argument(
        "--nproc-per-node",
        type=_at_least(1),
        default=1,
        help="train the PyTorch model data-parallel in this many processes (runs torchrun)",
    )
    fit.add_argument(
        "--threads",
        type=_at_least(0),
        default=0,
        help="torch threads per process (0: the pinned count, train.cpu_numerics.THREADS, "
        "split among the node's processes)",
    )
    progress(fit)
    fit.set_defaults(run=_fit)

    evaluate = commands.add_parser("evaluate", help="score, register and gate the models")
    common(evaluate)
    evaluate.add_argument(
        "--models", type=path_argument, required=True, help="`fit`'s output directory"
    )
    evaluate.add_argument(
        "--output", type=path_argument, required=True, help="directory for metrics and plots"
    )
    evaluate.add_argument(
        "--store",
        type=path_argument,
        help="BentoML home (default: $BENTOML_HOME, else <repo>/build/bentoml)",
    )
    evaluate.add_argument(
        "--no-register",
        dest="register",
        action="store_false",
        help="write metrics and plots only; leave the store alone",
    )
    evaluate.set_defaults(run=_evaluate)

    rollback = commands.add_parser(
        "rollback",
        help="the andon cord: stop serving the promoted model; the one promoted before serves",
    )
    rollback.add_argument("--reason", required=True, help="why, recorded with the model")
    rollback.add_argument(
        "--store",
        type=path_argument,
        help="BentoML home (default: $BENTOML_HOME, else <repo>/build/bentoml)",
    )
    rollback.set_defaults(run=_rollback)

    # SageMaker starts a bring-your-own container as `<entrypoint> train`.
    sagemaker = commands.add_parser(
        "sagemaker",
        aliases=["train"],
        help="run as a SageMaker training job (reads /opt/ml, or SM_*)",
    )
    progress(sagemaker)
    sagemaker.set_defaults(run=_sagemaker)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(
        # torchrun's RANK: only the first process logs progress.
        level=logging.INFO if os.environ.get("RANK", "0") == "0" else logging.WARNING,
        format="%(asctime)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    try:
        code: int = args.run(args)
    except (TrainError, PredictorError, RegistryError, OutputError, OutputWriteError) as error:
        print(f"train: error: {error}", file=sys.stderr)
        return 2
    except WorkersFailed as error:
        print(f"train: error: a training process failed:\n{error}", file=sys.stderr)
        return 1
    return code


if __name__ == "__main__":
    sys.exit(main())
