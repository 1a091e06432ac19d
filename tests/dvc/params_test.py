"""params.yaml is the only home of the train service's parameters: it must hold every one of
them, of the right type, as the train service validates them."""

from pathlib import Path

from train.params import GROUPS, load_params


def test_the_pipeline_params_hold_every_train_parameter() -> None:
    # Every field is required, so loading is the check; a missing or unknown key raises.
    params = load_params(Path("params.yaml"))
    assert set(params.to_dict()) == set(GROUPS) == {"train", "evaluate", "promote"}
