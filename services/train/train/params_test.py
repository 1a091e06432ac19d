import json
import math
import re
from pathlib import Path

import pytest
import yaml
from hypothesis import assume, given
from hypothesis import strategies as st

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
        # Not also "should have at least 1 item after validation, not 0": pydantic counts the
        # items that passed.
        (
            {"train.torch.hidden": "[0]"},
            "^train.torch.hidden.0: Input should be greater than 0, got 0$",
        ),
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
    with pytest.raises(
        ParamsError, match="^the params file's path is empty: name a local path or a URL"
    ):
        load_params("")
    with pytest.raises(ParamsError, match="^the params file's path 's3://' names no bucket"):
        load_params("s3://")
    # A storage client's error, not an OSError (gcsfs is not installed), is named too.
    with pytest.raises(ParamsError, match="^cannot read params file gcs://b/p.yaml: ImportError"):
        load_params("gcs://b/p.yaml")
    assert load_params(path.as_uri()).train.seed == TEST_PARAMS["train"]["seed"]
    path.write_text("- a list\n")
    with pytest.raises(ParamsError, match="must be a mapping"):
        load_params(path)


def accepted(override: dict[str, object]) -> bool:
    try:
        params_from(TEST_PARAMS, override)
    except ParamsError:
        return False
    return True


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_margin_is_accepted_exactly_when_it_is_not_negative(margin: float) -> None:
    # A negative one would promote a worse model.
    assert accepted({"promote.margin": margin}) is (margin >= 0)


# (key, smallest, largest): what the code each feeds takes (HistGradientBoostingClassifier;
# scikit-learn's random_state).
INTEGER_RANGES = [
    ("train.baseline.max_leaf_nodes", 2, None),
    ("train.baseline.min_samples_leaf", 1, 2**32 - 1),
    ("train.seed", 0, 2**32 - 1),
]


@pytest.mark.parametrize(("key", "smallest", "largest"), INTEGER_RANGES)
@given(st.data())
def test_an_integer_parameter_is_accepted_exactly_in_its_range(
    key: str, smallest: int, largest: int | None, data: st.DataObject
) -> None:
    near = st.integers(smallest - 3, smallest + 3)
    if largest is not None:
        near |= st.integers(largest - 3, largest + 3)
    value = data.draw(near | st.integers())
    inside = smallest <= value and (largest is None or value <= largest)
    assert accepted({key: value}) is inside
    if not inside:
        with pytest.raises(ParamsError, match=f"^{key}: Input should be"):
            params_from(TEST_PARAMS, {key: value})


def hinted_spelling(text: str) -> str:
    """The spelling the error for `text` as the learning rate suggests."""
    with pytest.raises(ParamsError) as error:
        params_from(TEST_PARAMS, {"train.torch.learning_rate": text})
    message = str(error.value)
    assert message.startswith("train.torch.learning_rate: Input should be a valid number, got ")
    match = re.search(r": write (\S+)\)$", message)
    assert match, message
    return match.group(1)


@given(
    st.integers(-(10**6), 10**6),
    st.sampled_from(["", ".", ".5"]),
    st.sampled_from(["e", "E"]),
    st.sampled_from(["", "+", "-"]),
    st.integers(0, 300),
)
def test_a_number_yaml_reads_as_a_string_is_refused_saying_how_to_write_it(
    whole: int, fraction: str, e: str, sign: str, exponent: int
) -> None:
    text = f"{whole}{fraction}{e}{sign}{exponent}"
    assume(isinstance(yaml.safe_load(text), str))  # YAML 1.1: no dot or no exponent sign
    spelling = hinted_spelling(text)
    assert yaml.safe_load(spelling) == float(text)
    assert isinstance(yaml.safe_load(spelling), float)


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_quoted_number_is_refused_saying_how_to_write_it(number: float) -> None:
    spelling = hinted_spelling(json.dumps(repr(number)))
    assert yaml.safe_load(spelling) == number and isinstance(yaml.safe_load(spelling), float)


@given(st.text())
def test_a_string_that_is_no_finite_number_gets_no_spelling(text: str) -> None:
    try:
        finite = math.isfinite(float(text))
    except ValueError:
        finite = False
    assume(not finite)
    with pytest.raises(ParamsError) as error:
        params_from(TEST_PARAMS, {"train": {"torch": {"learning_rate": text}}})
    assert str(error.value).endswith(f"got {text!r}")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            "train:\n  baseline:\n    learning_rate: 0.05\n    learning_rate: 0.07\n",
            "train.baseline.learning_rate is given twice, at lines 3 and 4; keep one",
        ),
        (
            "promote:\n  margin: 0.1\npromote:\n  margin: 0.2\n",
            "promote is given twice, at lines 1",
        ),
        ("evaluate: {calibration_bins: 10, 'calibration_bins': 5}\n", "evaluate.calibration_bins"),
    ],
)
def test_a_key_given_twice_is_refused_naming_it_and_its_lines(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "params.yaml"
    path.write_text(text)
    with pytest.raises(ParamsError, match=re.escape(f"params file {path}: {message}")):
        load_params(path)


def test_other_stages_keys_and_yaml_merges_are_not_duplicates(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    document = yaml.safe_dump(TEST_PARAMS)
    # Another stage's duplicate is that stage's to refuse; a merge key's values are overridden
    # by design.
    extra = "land:\n  start: 1\n  start: 2\ndefaults: &defaults {margin: 0.5}\n"
    merged = document.replace("promote:\n", "promote:\n  <<: *defaults\n")
    path.write_text(extra + merged)
    assert load_params(path).promote == quick_params().promote
