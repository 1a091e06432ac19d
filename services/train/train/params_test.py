from pathlib import Path

import pytest

from train.params import Params, ParamsError, load_params, params_from


def test_overrides_take_dotted_keys_and_string_values_as_sagemaker_sends_them() -> None:
    params = params_from(
        {"train": {"torch": {"hidden": [64, 32]}}},
        {"train.torch.epochs": "7", "train.threshold": "0.3", "train.torch.hidden": "[8, 4]"},
    )
    assert params.train.torch.epochs == 7
    assert params.train.threshold == 0.3
    assert params.train.torch.hidden == (8, 4)
    assert params.train.baseline == Params().train.baseline


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"train": {"torch": {"epoch": 3}}}, "unknown parameter\\(s\\) train.torch.epoch"),
        ({"train": {"baseline": {"model": "xgb"}}}, "train.baseline.model must be one of"),
        ({"train": {"torch": {"epochs": 0}}}, "train.torch.epochs must be positive"),
        ({"train": {"torch": {"epochs": 2.5}}}, "train.torch.epochs must be an integer"),
        ({"train": {"threshold": "best"}}, "train.threshold must be max_f1 or a number"),
        ({"train": {"threshold": 1.5}}, "train.threshold must be max_f1 or in \\(0, 1\\)"),
        ({"train": {"torch": {"dropout": 1.0}}}, "train.torch.dropout must be in \\[0, 1\\)"),
        ({"promote": {"metric": "accuracy"}}, "promote.metric must be one of"),
    ],
)
def test_a_bad_parameter_is_named(groups: dict, message: str) -> None:  # type: ignore[type-arg]
    with pytest.raises(ParamsError, match=message):
        params_from(groups)


def test_other_stages_groups_are_ignored_and_an_unreadable_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "params.yaml"
    path.write_text("land: {start: '2013-01-01'}\ntrain: {seed: 3}\n")
    assert load_params(path).train.seed == 3
    with pytest.raises(ParamsError, match="cannot read params file"):
        load_params(tmp_path / "missing.yaml")
