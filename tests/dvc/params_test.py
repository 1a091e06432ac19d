"""params.yaml is the only home of the train service's parameters: it must hold every one of
them, of the right type, as the train service validates them."""

from pathlib import Path

import yaml

from train.params import GROUPS, load_params


def test_the_pipeline_params_hold_every_train_parameter() -> None:
    # Every field is required, so loading is the check; a missing or unknown key raises.
    params = load_params(Path("params.yaml"))
    assert set(params.to_dict()) == set(GROUPS) == {"train", "evaluate", "promote"}


def test_the_train_stages_read_every_group_of_the_train_service() -> None:
    stages = yaml.safe_load(Path("dvc.yaml").read_text())["stages"]
    read = {
        group
        for stage in stages.values()
        if "services.train/train.pex" in stage["cmd"]
        for group in stage.get("params", [])
    }
    assert read == set(GROUPS)
