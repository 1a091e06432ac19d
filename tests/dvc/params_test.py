"""params.yaml is the only home of the train service's parameters: it must hold every one of
them, of the right type, as the train service validates them."""

from pathlib import Path

from train.params import GROUPS, flat_params, load_params, params_from


def test_the_pipeline_params_hold_every_train_parameter() -> None:
    params = load_params(Path("params.yaml"))
    assert params_from({}, flat_params(params)) == params
    assert set(params.to_dict()) == set(GROUPS) == {"train", "evaluate", "promote"}
