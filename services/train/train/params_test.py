from pathlib import Path

import pytest
import yaml

from train.conftest import TEST_PARAMS, as_hyperparameters, quick_params
from train.params import ParamsError, load_params, params_from


def test_overrides_take_dotted_keys_and_string_values_as_sagemaker_sends_them() -> None:
    params = params_from(
        TEST_PARAMS,
        {"train.torch.epochs": "7", "train.threshold": "0.3", "train.torch.hidden": "[8, 4]"},
    )
    assert params.train.torch.epochs == 7
    assert params.train.threshold == 0.3
    assert params.train.torch.hidden == (8, 4)
    assert params.train.baseline == quick_params().train.baseline


def test_groups_as_the_dag_sends_them_round_trip() -> None:
    params = quick_params(**{"train.threshold": 0.25})
    assert params_from({}, as_hyperparameters(params)) == params


@pytest.mark.parametrize("dotted_first", [True, False])
def test_a_dotted_hyperparameter_wins_over_its_group_in_either_order(dotted_first: bool) -> None:
    # A tuning job adds the parameter it varies beside the groups the job was defined with.
    groups = as_hyperparameters(quick_params())
    tuned = {"train.torch.epochs": "9", "train.torch": '{"dropout": 0.5}'}
    overrides = tuned | groups if dotted_first else groups | tuned
    params = params_from({}, overrides)
    assert (params.train.torch.epochs, params.train.torch.dropout) == (9, 0.5)
    assert params.train.baseline == quick_params().train.baseline


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"train.torch.epoch": 3}, "unknown parameter train.torch.epoch$"),
        ({"train.baseline.model": "xgb"}, "train.baseline.model: Input should be"),
        ({"train.torch.epochs": 0}, "train.torch.epochs: Input should be greater than 0"),
        ({"train.torch.epochs": 2.5}, "train.torch.epochs: Input should be a valid integer"),
        ({"train.torch.epochs": True}, "train.torch.epochs: Input should be a valid integer"),
        ({"train.threshold": "best"}, "train.threshold: .*got 'best'"),
        ({"train.threshold": 1.5}, "train.threshold: Input should be less than 1"),
        ({"train.torch.dropout": 1.0}, "train.torch.dropout: Input should be less than 1"),
        ({"train.torch.hidden": "[]"}, "train.torch.hidden: .*at least 1 item"),
        ({"promote.metric": "accuracy"}, "promote.metric: Input should be"),
        ({"train.seed": "[unclosed"}, "train.seed: '\\[unclosed' is not a YAML value"),
        ({"train.torch.learning_rate": ".inf"}, "train.torch.learning_rate: .*finite number"),
        ({"promote.margin": ".nan"}, "promote.margin: .*finite number"),
        ({"train.torch.weight_decay": float("inf")}, "train.torch.weight_decay: .*finite number"),
    ],
)
def test_a_bad_parameter_is_named(override: dict[str, object], message: str) -> None:
    with pytest.raises(ParamsError, match=message):
        params_from(TEST_PARAMS, override)


def test_a_missing_parameter_is_named_there_are_no_defaults() -> None:
    groups = yaml.safe_load(yaml.safe_dump(TEST_PARAMS))
    del groups["train"]["torch"]["patience"]
    with pytest.raises(ParamsError, match="missing parameter train.torch.patience"):
        params_from(groups)
    with pytest.raises(ParamsError, match="missing parameter evaluate"):
        params_from({"train": TEST_PARAMS["train"], "promote": TEST_PARAMS["promote"]})


def test_other_stages_groups_are_ignored_and_an_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(yaml.safe_dump({"land": {"start": "2013-01-01"}, **TEST_PARAMS}))
    assert load_params(path, {"train.seed": 3}).train.seed == 3
    with pytest.raises(ParamsError, match="cannot read params file"):
        load_params(tmp_path / "missing.yaml")
    with pytest.raises(ParamsError, match="^the params file is empty"):
        load_params("")
    with pytest.raises(ParamsError, match="^the params file 's3://' names no bucket"):
        load_params("s3://")
    # A storage client's error, not an OSError (gcsfs is not installed), is named too.
    with pytest.raises(ParamsError, match="^cannot read params file gcs://b/p.yaml: ImportError"):
        load_params("gcs://b/p.yaml")
    assert load_params(path.as_uri()).train.seed == TEST_PARAMS["train"]["seed"]
    path.write_text("- a list\n")
    with pytest.raises(ParamsError, match="must be a mapping"):
        load_params(path)
