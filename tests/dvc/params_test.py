"""params.yaml, as the pipeline reads it, and the train service's built-in defaults agree: a
SageMaker job has no params.yaml and starts from those defaults, so it must train what the
pipeline trains."""

from pathlib import Path

from train.params import Params, load_params


def test_the_pipeline_params_parse_and_match_the_train_defaults() -> None:
    assert load_params(Path("params.yaml")) == Params()
