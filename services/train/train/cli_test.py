"""The train service end to end on a synthetic feature table: fit, evaluate, register."""

import json
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from loopback.processes import inherited_pythonpath, modules_loaded_by_commands
from model_registry.predictor import load_predictor
from model_registry.store import (
    HOME_ENV,
    METADATA_FEATURES_DVC_HASH,
    METADATA_FEATURES_WEATHER_LEAD_HOURS,
    METADATA_FEATURES_WINDOW_DAYS,
    METADATA_GIT_COMMIT,
    METADATA_METRICS,
    METADATA_PARAMS,
    PROMOTED,
    STAGE,
    ModelStore,
    models,
    promoted_model,
    register,
)
from storage.testing import file_size_limit, name_too_long
from train.cli import main
from train.conftest import (
    TRAIN_END,
    VALIDATION_END,
    WINDOW_DAYS,
    file_bytes,
    fresh_python,
    params_args,
    write_features,
)
from train.promotion import METADATA_FEATURES_SPLIT
from train.provenance import dvc_directory_hash

METRICS = ("roc_auc", "pr_auc", "log_loss", "brier", "threshold", "confusion")


def evaluate(features: Path, models_dir: Path, output: Path, *extra: str) -> int:
    return main(
        ["evaluate", "--features", str(features), "--models", str(models_dir),
         "--output", str(output), *params_args(output.parent / "params"), *extra]
    )  # fmt: skip


def test_fit_then_evaluate_writes_models_metrics_plots_and_registers_both(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    features, models_dir = trained
    assert sorted(p.name for p in models_dir.iterdir()) == [
        "baseline", "torch", "torch_history.json", "training.json",
    ]  # fmt: skip
    training = json.loads((models_dir / "training.json").read_text())
    assert training["params"]["torch"]["epochs"] == 8
    assert training["world_size"] == 1

    output = tmp_path / "evaluation"
    assert evaluate(features, models_dir, output, "--store", str(model_store.home)) == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert set(metrics) == {"baseline", "torch"}
    for name in metrics:
        assert set(METRICS) <= set(metrics[name])
        assert metrics[name]["roc_auc"] > 0.75
        plots = output / "plots" / name
        assert sorted(p.name for p in plots.iterdir()) == [
            "calibration.json", "confusion.csv", "pr.json", "roc.json",
        ]  # fmt: skip
        confusion = pd.read_csv(plots / "confusion.csv")
        assert len(confusion) == metrics[name]["rows"] == 1000
        assert int(confusion["predicted"].sum()) == (
            metrics[name]["confusion"]["tp"] + metrics[name]["confusion"]["fp"]
        )

    registry = json.loads((output / "registry.json").read_text())
    err = capsys.readouterr().err
    assert registry["decision"]["reason"] in err
    assert ("not promoted" in err) is (not registry["promoted"])
    registered = models(model_store)
    assert [str(m.tag) for m in registered] == [registry["baseline"], registry["candidate"]]
    for model, name in zip(registered, ("baseline", "torch"), strict=True):
        metadata: dict[str, Any] = dict(model.info.metadata)
        assert metadata[METADATA_FEATURES_DVC_HASH] == dvc_directory_hash(features)
        # From the features' stats.json: serving checks the online store's window against it.
        assert metadata[METADATA_FEATURES_WINDOW_DAYS] == WINDOW_DAYS
        # And the weather lead: serving refuses a model of another one.
        assert metadata[METADATA_FEATURES_WEATHER_LEAD_HOURS] == 24
        # From the features' summary.json: the gate compares this model only on later flights.
        assert metadata[METADATA_FEATURES_SPLIT] == {
            "train_end": TRAIN_END,
            "validation_end": VALIDATION_END,
        }
        assert metadata[METADATA_GIT_COMMIT]
        assert metadata[METADATA_PARAMS]["train"] == training["params"]
        assert metadata[METADATA_PARAMS]["promote"]["metric"] == "roc_auc"
        assert metadata[METADATA_METRICS] == metrics[name]
        # What serving will do: load the registered files and score a feature frame.
        test = pd.read_parquet(features / "test.parquet")
        assert load_predictor(Path(model.path)).predict_proba(test).shape == (1000,)


def test_features_whose_window_cannot_be_read_register_nothing(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    features, models_dir = trained
    broken = tmp_path / "features"
    shutil.copytree(features, broken)
    (broken / "stats.json").write_text(json.dumps({"window_days": "7"}))
    output = tmp_path / "evaluation"
    assert evaluate(broken, models_dir, output, "--store", str(model_store.home)) == 2
    error = capsys.readouterr().err
    assert f"{broken / 'stats.json'}: 'window_days' must be a whole number of days" in error
    assert models(model_store) == []
    assert not output.exists()


def test_the_same_inputs_give_identical_metrics_run_after_run(
    features: Path, tmp_path: Path
) -> None:
    runs = []
    for run in ("first", "second"):
        models_dir, output = tmp_path / run / "models", tmp_path / run / "evaluation"
        fit = ["fit", "--features", str(features), "--output", str(models_dir)]
        assert main([*fit, *params_args(tmp_path)]) == 0
        assert evaluate(features, models_dir, output, "--no-register") == 0
        runs.append((output / "metrics.json").read_text())
        assert not (output / "registry.json").exists()
    assert runs[0] == runs[1]


@pytest.mark.parametrize(
    ("record", "message"),
    [
        (None, "training.json does not exist: .* is not `train fit`'s output"),
        ("{not json", "training.json is not readable JSON"),
        ('{"rows": 3}', "training.json holds no params object"),
    ],
)
def test_a_models_directory_without_fit_s_record_registers_nothing(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
    record: str | None,
    message: str,
) -> None:
    features, fitted = trained
    models_dir, output = tmp_path / "models", tmp_path / "evaluation"
    shutil.copytree(fitted, models_dir)
    if record is None:
        (models_dir / "training.json").unlink()
    else:
        (models_dir / "training.json").write_text(record)
    # A previous run's decision, which the deploy job would otherwise read as this run's.
    output.mkdir()
    (output / "registry.json").write_text('{"promoted": "flight-delay:old"}')
    assert evaluate(features, models_dir, output, "--store", str(model_store.home)) == 2
    assert re.search(message, capsys.readouterr().err)
    assert not (output / "registry.json").exists()
    assert models(model_store) == []


@pytest.mark.parametrize("output", ["features", "features/models"])
def test_fit_refuses_an_output_over_its_features_before_training(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    # Replaced whole, such an output took the feature tables with it (exit 0).
    before = file_bytes(features)
    fit = ["fit", "--features", str(features), "--output", str(tmp_path / output)]
    assert main([*fit, *params_args(tmp_path / "params")]) == 2
    captured = capsys.readouterr()
    assert "overlaps --features" in captured.err
    assert "fitting" not in captured.err + captured.out
    assert file_bytes(features) == before


@pytest.mark.parametrize("command", ["fit", "evaluate"])
def test_an_empty_input_is_refused_not_read_as_the_current_directory(
    trained: tuple[Path, Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    # Path("") is ".": started in a feature (or models) directory, `fit --features ""` trained
    # on the split files it found there (exit 0).
    features, models_dir = trained
    option, place = ("--features", features) if command == "fit" else ("--models", models_dir)
    monkeypatch.chdir(place)
    paths = {"--features": str(features), "--output": str(tmp_path / "out"), option: ""}
    with pytest.raises(SystemExit) as exited:
        main([command, *[part for item in paths.items() for part in item], *params_args(tmp_path)])
    assert exited.value.code == 2
    assert f"argument {option}: empty: give a path" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_fit_refuses_an_output_it_could_not_write_before_training(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # It trained both models first, then failed to write them (a traceback).
    (tmp_path / "notes").write_text("keep me")
    fit = ["fit", "--features", str(features), "--output", str(tmp_path / "notes" / "models")]
    assert main([*fit, *params_args(tmp_path / "params")]) == 2
    captured = capsys.readouterr()
    assert "notes is not a directory" in captured.err
    assert "fitting" not in captured.err + captured.out
    assert (tmp_path / "notes").read_text() == "keep me"


def test_evaluate_refuses_an_output_inside_its_models(
    trained: tuple[Path, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features, models_dir = trained
    before = file_bytes(models_dir)
    output = models_dir / "evaluation"
    run = ["evaluate", "--features", str(features), "--models", str(models_dir)]
    run += ["--output", str(output), "--no-register", *params_args(tmp_path)]
    assert main(run) == 2
    assert "overlaps --models" in capsys.readouterr().err
    assert file_bytes(models_dir) == before


def test_the_store_defaults_to_the_repo_build_area(
    trained: tuple[Path, Path], tmp_path: Path
) -> None:
    # In a process of its own: this one's BentoML store is the test home.
    repo = tmp_path / "repo"
    (repo / "sub").mkdir(parents=True)
    (repo / "pants.toml").write_text("")
    output = tmp_path / "evaluation"
    features, models_dir = trained
    command = [
        sys.executable, "-m", "train.cli", "evaluate", "--features", str(features),
        "--models", str(models_dir), "--output", str(output), *params_args(tmp_path),
    ]  # fmt: skip
    environ = {k: v for k, v in os.environ.items() if k != HOME_ENV}
    # The test's import path: the process runs in another directory.
    environ["PYTHONPATH"] = inherited_pythonpath()
    run = subprocess.run(command, cwd=repo / "sub", env=environ, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    registry = json.loads((output / "registry.json").read_text())
    home = repo / "build" / "bentoml"
    assert registry["store"] == str(home)
    assert f"in {home}; serving" in run.stderr
    # Both models are in BentoML's layout of that home: models/<name>/<version>.
    for tag in (registry["baseline"], registry["candidate"]):
        name, version = tag.split(":")
        assert (home / "models" / name / version / "predictor.json").is_file()


# Each breaks one input of `evaluate`, and returns the arguments that pass it and what the error
# says.
Breakage = Callable[[Path, Path, pytest.MonkeyPatch], tuple[list[str], str]]


def not_fit_s_record(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], str]:
    (models_dir / "training.json").write_text("[1, 2]")
    return [], "training.json holds no params object"


def another_store(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], str]:
    elsewhere = tmp_path / "elsewhere"  # not the process's store, the test's BentoML home
    return ["--store", str(elsewhere)], f"cannot open the model store at {elsewhere}: this"


def a_file_store(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], str]:
    (tmp_path / "store").write_text("")
    monkeypatch.setenv(HOME_ENV, str(tmp_path / "store"))
    return [], f"cannot open the model store at {tmp_path / 'store'}: Not a directory"


def a_store_that_refuses_writes(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], str]:
    def refuse(store: ModelStore, *args: object) -> None:
        raise PermissionError(1, "Operation not permitted", str(store.home / "models"))

    monkeypatch.setattr("train.promotion.register", refuse)
    return [], "cannot register the models in the store at "


def more_calibration_bins_than_test_flights(
    models_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[list[str], str]:
    # So many that computing them would take 8 GiB: refused before scoring.
    return ["--set", "evaluate.calibration_bins=1000000000"], (
        "evaluate.calibration_bins 1000000000 is more than the test split's "
    )


@pytest.mark.parametrize(
    "break_input",
    [
        not_fit_s_record,
        another_store,
        a_file_store,
        a_store_that_refuses_writes,
        more_calibration_bins_than_test_flights,
    ],
)
def test_a_failed_evaluate_leaves_the_previous_evaluation_as_it_was(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    break_input: Breakage,
) -> None:
    features, fitted = trained
    models_dir, output = tmp_path / "models", tmp_path / "evaluation"
    shutil.copytree(fitted, models_dir)
    (output / "plots" / "torch").mkdir(parents=True)
    (output / "plots" / "torch" / "roc.json").write_text("the previous run's\n")
    (output / "metrics.json").write_text("the previous run's\n")
    (output / ".gitignore").write_text("/metrics.json\n")
    previous = file_bytes(output)
    arguments, message = break_input(models_dir, tmp_path, monkeypatch)
    assert evaluate(features, models_dir, output, *arguments) == 2
    err = capsys.readouterr().err
    assert err.startswith("train: error: ") and message in err, err
    assert file_bytes(output) == previous
    monkeypatch.setenv(HOME_ENV, str(model_store.home))
    assert models(model_store) == []


def damaged(
    features: Path, split: str, damage: Callable[[pd.DataFrame], pd.DataFrame], to: Path
) -> Path:
    """A copy of the feature table at `to` with `split` damaged."""
    to.mkdir()
    for name in ("train", "validation", "test"):
        table = pd.read_parquet(features / f"{name}.parquet")
        (damage(table) if name == split else table).to_parquet(to / f"{name}.parquet")
    return to


DAMAGE = [
    (lambda t: t.drop(columns=["wind_speed"]), "lacks column\\(s\\) wind_speed"),
    (lambda t: t.assign(humid=t["humid"].where(t.index != 5, np.inf)), "humid \\(1 rows\\)"),
    (lambda t: t.assign(delayed=1), "label delayed has a single class \\(1\\)"),
    (lambda t: t.iloc[:0], "has no rows"),
]


@pytest.mark.parametrize(("damage", "message"), DAMAGE)
def test_a_bad_train_split_exits_2_naming_the_problem_and_writes_no_model(
    damage: Callable[[pd.DataFrame], pd.DataFrame],
    message: str,
    features: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = damaged(features, "train", damage, tmp_path / "bad")
    models_dir = tmp_path / "models"
    assert (
        main(["fit", "--features", str(bad), "--output", str(models_dir), *params_args(tmp_path)])
        == 2
    )
    err = capsys.readouterr().err
    assert err.startswith(f"train: error: train split {bad / 'train.parquet'}")
    assert re.search(message, err), err
    assert not models_dir.exists()


@pytest.mark.parametrize(("damage", "message"), DAMAGE)
def test_a_bad_test_split_exits_2_and_registers_nothing(
    damage: Callable[[pd.DataFrame], pd.DataFrame],
    message: str,
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    bad = damaged(trained[0], "test", damage, tmp_path / "bad")
    output = tmp_path / "evaluation"
    assert evaluate(bad, trained[1], output, "--store", str(model_store.home)) == 2
    err = capsys.readouterr().err
    assert err.startswith("train: error: test split")
    assert re.search(message, err), err
    assert not output.exists()
    assert models(model_store) == []


def test_missing_features_or_models_are_named(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nowhere"
    assert (
        main(
            [
                "fit",
                "--features",
                str(missing),
                "--output",
                str(tmp_path / "m"),
                *params_args(tmp_path),
            ]
        )
        == 2
    )
    assert f"feature table {missing} does not exist" in capsys.readouterr().err
    features = write_features(tmp_path / "features")
    assert evaluate(features, tmp_path / "no-models", tmp_path / "evaluation") == 2
    assert f"models directory {tmp_path / 'no-models'} does not exist" in capsys.readouterr().err
    (tmp_path / "empty-models").mkdir()
    assert evaluate(features, tmp_path / "empty-models", tmp_path / "evaluation") == 2
    assert "no trained model in" in capsys.readouterr().err


@pytest.mark.parametrize("path", ["--features", "--output"])
def test_fit_names_a_path_the_filesystem_cannot_look_up(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], path: str
) -> None:
    # A name longer than the filesystem allows ended in pathlib's OSError traceback (exit 1).
    paths = {"--features": features, "--output": tmp_path / "models", path: name_too_long(tmp_path)}
    args = ["fit", *(f"{k}={v}" for k, v in paths.items()), *params_args(tmp_path / "params")]
    assert main(args) == 2
    assert "File name too long" in capsys.readouterr().err


def test_evaluate_names_a_models_directory_the_filesystem_cannot_look_up(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert evaluate(features, name_too_long(tmp_path), tmp_path / "evaluation") == 2
    assert "cannot be looked up (File name too long)" in capsys.readouterr().err


def test_a_bad_parameter_exits_2_naming_it(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    fit = ["fit", "--features", str(features), "--output", str(tmp_path / "models")]
    assert main([*fit, *params_args(tmp_path), "--set", "train.torch.epoch=2"]) == 2
    assert "unknown parameter train.torch.epoch" in capsys.readouterr().err
    assert main([*fit, *params_args(tmp_path), "--set", "train.torch.hidden=[8"]) == 2
    assert "train.torch.hidden: '[8' is not a YAML value" in capsys.readouterr().err
    # Refused against the train split's rows, before the network's minutes of training.
    assert (
        main([*fit, *params_args(tmp_path), "--set", "train.baseline.min_samples_leaf=1000000"])
        == 2
    )
    err = capsys.readouterr().err
    assert "train.baseline.min_samples_leaf 1000000 is more than half the train split's" in err
    assert "fitting" not in err
    assert not (tmp_path / "models").exists()
    # 2**48 weights in the second layer: 1 PiB, more than any machine's address space.
    assert (
        main([*fit, *params_args(tmp_path), "--set", "train.torch.hidden=[1, 281474976710656]"])
        == 2
    )
    err = capsys.readouterr().err
    assert "the network does not fit in the memory of cpu (hidden [1, 281474976710656]" in err
    assert "3,000 train rows, 1,000 validation rows)" in err and "or train on fewer rows" in err
    assert "can't allocate memory" in err and "Traceback" not in err
    assert not (tmp_path / "models").exists()


def test_models_with_no_room_exit_2_naming_the_output_and_keep_the_previous_ones(
    features: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models = tmp_path / "models"
    fit = ["fit", "--features", str(features), "--output", str(models)]
    fit += [*params_args(tmp_path / "params"), "--set", "train.torch.epochs=1"]
    assert main(fit) == 0
    before = file_bytes(models)
    capsys.readouterr()
    # A real write failure (EFBIG past the file size limit), as a full disk fails it: before,
    # a traceback after both models were fitted.
    with file_size_limit(1024):
        assert main(fit) == 2
    err = capsys.readouterr().err
    assert f"train: error: cannot write {models}: File too large; {models} is left as it was" in err
    assert "Traceback" not in err
    assert file_bytes(models) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features", "models", "params"]


@pytest.mark.parametrize(
    ("flag", "value", "message"),
    [
        ("--nproc-per-node", "0", "'0' is not a whole number >= 1"),
        ("--nproc-per-node", "two", "'two' is not a whole number >= 1"),
        ("--threads", "-3", "'-3' is not a whole number >= 0"),
    ],
)
def test_a_bad_process_or_thread_count_is_a_usage_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str, value: str, message: str
) -> None:
    fit = ["fit", "--features", str(tmp_path / "f"), "--output", str(tmp_path / "models")]
    with pytest.raises(SystemExit) as exit_:
        main([*fit, *params_args(tmp_path), flag, value])
    assert exit_.value.code == 2
    assert f"argument {flag}: {message}" in capsys.readouterr().err
    assert not (tmp_path / "models").exists()


def test_rollback_stops_serving_the_promoted_model_and_names_the_next(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    features, models_dir = trained
    store = model_store.home
    for run in ("first", "second"):
        # Margin 0: the second run's champion, the same model, replaces the first's.
        code = evaluate(
            features, models_dir, tmp_path / run, "--store", str(store), "--set=promote.margin=0"
        )
        assert code == 0
    capsys.readouterr()
    promoted = [m for m in models(model_store) if m.info.labels["stage"] == "promoted"]
    assert len(promoted) == 2

    assert main(["rollback", "--store", str(store), "--reason", "bad p99"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out == {"rolled_back": str(promoted[1].tag), "serving": str(promoted[0].tag)}
    assert main(["rollback", "--store", str(store), "--reason", "again"]) == 0
    assert json.loads(capsys.readouterr().out)["serving"] is None
    assert main(["rollback", "--store", str(store), "--reason", "once more"]) == 2
    assert f"no promoted model to roll back in the store at {store}" in capsys.readouterr().err
    # A mistyped store is named, and not made.
    typo = tmp_path / "bentoml-hmoe"
    assert main(["rollback", "--store", str(typo), "--reason", "bad p99"]) == 2
    assert f"no model store at {typo}" in capsys.readouterr().err
    assert not typo.exists()


def test_a_store_option_other_than_the_environments_is_refused_saying_how_to_run_it(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    """Before, the refusal ended "(or pass the store with --store)", which is what was done."""
    features, models_dir = trained
    assert evaluate(features, models_dir, tmp_path / "run", "--store", str(model_store.home)) == 0
    before = file_bytes(model_store.home / "models")
    elsewhere = tmp_path / "elsewhere"
    command = ["-m", "train.cli", "rollback", "--store", str(model_store.home), "--reason", "p99"]
    run = fresh_python(command, {HOME_ENV: str(elsewhere)})
    assert run.returncode == 2
    assert run.stderr == (
        f"train: error: cannot open the model store at {model_store.home}: this process uses the "
        f"one at ${HOME_ENV}={elsewhere}, and BentoML keeps one store per process; run it with "
        f"{HOME_ENV}={model_store.home}, or without {HOME_ENV}\n"
    )
    assert file_bytes(model_store.home / "models") == before


def test_rollback_refuses_to_bring_back_a_model_registered_before_the_weather_lead(
    trained: tuple[Path, Path],
    tmp_path: Path,
    model_store: ModelStore,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before, it left serving the model promoted before ADR 0019, which serve refuses to load:
    the service did not start."""
    features, models_dir = trained
    # Promoted before the lead was recorded: a window and no lead.
    old = register(
        model_store, models_dir / "torch", {STAGE: PROMOTED}, {METADATA_FEATURES_WINDOW_DAYS: 7}
    )
    assert evaluate(features, models_dir, tmp_path / "run", "--store", str(model_store.home)) == 0
    served = promoted_model(model_store)
    assert served is not None and served.tag != old
    capsys.readouterr()
    before = file_bytes(model_store.home / "models")

    assert main(["rollback", "--store", str(model_store.home), "--reason", "bad p99"]) == 2
    err = capsys.readouterr().err
    assert (
        f"train: error: cannot roll back {served.tag}: the model promoted before it would serve "
        f"next, and serve refuses it: {old} was trained on the weather 0 hours before departure "
        "(registered before the lead was recorded)"
    ) in err
    assert "nothing was changed" in err
    assert file_bytes(model_store.home / "models") == before


def test_help_refused_arguments_and_rollback_import_neither_torch_nor_scikit_learn(
    trained: tuple[Path, Path], tmp_path: Path, model_store: ModelStore
) -> None:
    # The andon cord is pulled under pressure: it must not wait seconds for the training stack.
    features, models_dir = trained
    assert evaluate(features, models_dir, tmp_path / "run", "--store", str(model_store.home)) == 0
    store = ["--store", str(model_store.home)]
    commands = [
        ["--help"],
        ["fit", "--features", str(features), "--output", str(tmp_path / "m"), "--threads", "-1"],
        ["rollback", *store, "--reason", "bad p99"],
        ["rollback", *store, "--reason", "nothing left to roll back"],
    ]
    outcomes, stderr = modules_loaded_by_commands(
        "train.cli", commands, ["torch", "sklearn", "bentoml", "pandas"]
    )
    assert outcomes == [
        (0, []),
        (2, []),
        # Only the model store, which rollback changes.
        (0, ["bentoml", "pandas"]),
        (2, ["bentoml", "pandas"]),
    ]
    assert "no promoted model to roll back" in stderr


def test_the_baseline_file_does_not_depend_on_the_torch_threads(
    features: Path, tmp_path: Path
) -> None:
    """torch.set_num_threads sets the OpenMP pool scikit-learn's boosting shares, and the
    fitted pipeline records the thread count it saw: `--threads 1` (or `--nproc-per-node 2`)
    gave another pipeline.joblib, so another DVC hash, for the same predictions. Each fit runs
    as the CLI runs, in a process of its own: which OpenMP runtime the libraries share depends
    on the order they load in."""
    fitted = {}
    for threads in ("1", "0"):
        output = tmp_path / f"models-{threads}"
        fit = ["fit", "--features", str(features), "--output", str(output), "--models", "baseline"]
        args = [*fit, *params_args(tmp_path), "--threads", threads, "--progress", "lines"]
        run = fresh_python(["-m", "train.cli", *args])
        assert run.returncode == 0, run.stderr
        fitted[threads] = file_bytes(output / "baseline")
    assert fitted["1"] == fitted["0"]
