"""The entry point as a SageMaker training job: SageMaker's own files (what the train image,
which has no training toolkit, gets), and the toolkit's SM_* variables pointing at local
directories (how the end-to-end job runs here)."""

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_registry.predictor import load_predictor
from train.conftest import as_hyperparameters, quick_params, write_features
from train.data import TrainingDataError
from train.params import params_from
from train.sagemaker import (
    HYPERPARAMETERS as HYPERPARAMETERS_FILE,
)
from train.sagemaker import (
    INPUT_DATA_CONFIG,
    RESOURCE_CONFIG,
    SageMakerError,
    SageMakerJob,
    visible_gpus,
)

# Every parameter, as the DAG passes them, and one by its dotted name, which wins over its group.
HYPERPARAMETERS = as_hyperparameters(quick_params()) | {"promote.margin": "0"}


def job_env(tmp_path: Path, **channels: Path) -> dict[str, str]:
    env = {
        "SM_MODEL_DIR": str(tmp_path / "model"),
        "SM_OUTPUT_DATA_DIR": str(tmp_path / "output"),
        "SM_HPS": json.dumps(HYPERPARAMETERS),
        "SM_NUM_GPUS": "0",
        "SM_HOSTS": '["algo-1"]',
        "SM_CURRENT_HOST": "algo-1",
    }
    env.update({f"SM_CHANNEL_{name.upper()}": str(path) for name, path in channels.items()})
    return env


def write_job_files(root: Path, resources: object, channels: tuple[str, ...] = ()) -> Path:
    """SageMaker's description of a job under `root`, as it writes it in the container: string
    hyperparameters, the hosts, and each channel's configuration."""
    config = root / "input" / "config"
    config.mkdir(parents=True)
    (root / HYPERPARAMETERS_FILE).write_text(json.dumps(HYPERPARAMETERS))
    (root / RESOURCE_CONFIG).write_text(json.dumps(resources))
    channel = {"TrainingInputMode": "File", "S3DistributionType": "FullyReplicated"}
    (root / INPUT_DATA_CONFIG).write_text(json.dumps(dict.fromkeys(channels, channel)))
    return root


# The CLI with SageMaker's files under the directory given first, instead of /opt/ml.
UNDER_ROOT = (
    "import runpy, sys; from pathlib import Path; import train.sagemaker; "
    "train.sagemaker.ML_ROOT = Path(sys.argv.pop(1)); "
    "runpy.run_module('train.cli', run_name='__main__')"
)


@pytest.mark.parametrize(
    ("files", "models_elsewhere"),
    [(False, False), (False, True), (True, False)],
    ids=["toolkit-model_dir", "toolkit-TRAIN_MODELS_DIR", "sagemaker_files"],
)
def test_a_training_job_fits_evaluates_and_ships_a_store_in_the_model_dir(
    tmp_path: Path, files: bool, models_elsewhere: bool
) -> None:
    features = write_features(tmp_path / "input" / "data" / "features")
    if files:
        resources = {"current_host": "algo-1", "hosts": ["algo-1"]}
        write_job_files(tmp_path, resources, ("features",))
        env: dict[str, str] = {}
        command = [sys.executable, "-c", UNDER_ROOT, str(tmp_path)]
        output = tmp_path / "output" / "data"
    else:
        env = job_env(tmp_path, features=features)
        command = [sys.executable, "-m", "train.cli"]
        output = tmp_path / "output"
    # As the DAG runs it: fit's output in the pipeline's data directory (a read-write channel),
    # where the evaluate stage reads it.
    models = tmp_path / "input" / "data" / "workdir" / "data" / "models"
    if models_elsewhere:
        env["TRAIN_MODELS_DIR"] = str(models)
    # In a process of its own, as on SageMaker: the job's store is the process's BentoML store.
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SM_")}
    job = subprocess.run(
        [*command, "sagemaker", "--progress", "lines"],
        env=environ | env,
        capture_output=True,
        text=True,
    )
    assert job.returncode == 0, job.stderr

    model_dir = tmp_path / "model"
    if not models_elsewhere:
        models = model_dir / "models"
    assert (model_dir / "models").is_dir() is not models_elsewhere
    training = json.loads((models / "training.json").read_text())
    # What the evaluate stage loads: one predictor per model.
    assert load_predictor(models / "torch").kind == "torch"
    assert training["params"]["torch"]["epochs"] == 8
    assert training["params"]["torch"]["hidden"] == [32]
    metrics = json.loads((output / "evaluation" / "metrics.json").read_text())
    assert metrics["torch"]["roc_auc"] > 0.75
    registry = json.loads((output / "evaluation" / "registry.json").read_text())
    assert registry["store"] == str(model_dir / "bentoml")
    assert registry["decision"]["margin"] == 0
    # Nothing was promoted yet: the run's champion is.
    champion = "candidate" if registry["decision"]["champion"] == "torch" else "baseline"
    assert registry["promoted"] == registry[champion]
    # BentoML's layout of the shipped home: models/<name>/<version>.
    name, version = registry["candidate"].split(":")
    shipped = model_dir / "bentoml" / "models" / name / version
    assert load_predictor(shipped).kind == "torch"
    versions = {p.name for p in (model_dir / "bentoml" / "models" / name).iterdir() if p.is_dir()}
    assert versions == {version, registry["baseline"].split(":")[1]}


def test_the_three_split_channels_work_instead_of_one_features_channel(tmp_path: Path) -> None:
    features = write_features(tmp_path / "features")
    channels = {}
    for split in ("train", "validation", "test"):
        channel = tmp_path / "channels" / split
        channel.mkdir(parents=True)
        (channel / "part-0.parquet").write_bytes((features / f"{split}.parquet").read_bytes())
        channels[split] = channel
    job = SageMakerJob.from_environ(job_env(tmp_path, **channels))
    assert job.features_dir is None
    assert job.feature_files() == {s: channels[s] / "part-0.parquet" for s in channels}


def test_gpus_and_hosts_set_the_processes(tmp_path: Path) -> None:
    env = job_env(tmp_path) | {
        "SM_NUM_GPUS": "4",
        "SM_HOSTS": '["algo-1", "algo-2"]',
        "SM_CURRENT_HOST": "algo-2",
    }
    job = SageMakerJob.from_environ(env)
    assert (job.processes_per_host, job.hosts, job.node_rank) == (4, ("algo-1", "algo-2"), 1)
    assert job.models_dir == tmp_path / "model" / "models"
    assert SageMakerJob.from_environ(job_env(tmp_path)).processes_per_host == 1


def test_sagemakers_own_files_describe_the_job(tmp_path: Path) -> None:
    resources = {"current_host": "algo-2", "hosts": ["algo-1", "algo-2"]}
    root = write_job_files(tmp_path, resources | {"network_interface_name": "eth0"}, ("features",))

    job = SageMakerJob.from_environ({}, root)

    assert (job.model_dir, job.models_dir) == (root / "model", root / "model" / "models")
    assert job.output_data_dir == root / "output" / "data"
    assert job.channels == {"features": root / "input" / "data" / "features"}
    assert params_from({}, job.hyperparameters) == params_from({}, HYPERPARAMETERS)
    assert (job.hosts, job.current_host, job.node_rank) == (("algo-1", "algo-2"), "algo-2", 1)
    assert job.num_gpus == visible_gpus()
    models = tmp_path / "workdir" / "models"
    moved = SageMakerJob.from_environ({"TRAIN_MODELS_DIR": str(models)}, root)
    assert moved.models_dir == models
    # The training toolkit's variables, where an image has it, win over the files.
    toolkit = SageMakerJob.from_environ(job_env(tmp_path / "toolkit"), root)
    assert toolkit.model_dir == tmp_path / "toolkit" / "model"


@pytest.mark.parametrize(
    ("file", "text", "message"),
    [
        (RESOURCE_CONFIG, "{hosts", "resourceconfig.json is not JSON"),
        (RESOURCE_CONFIG, '["algo-1"]', "resourceconfig.json must hold a JSON object"),
        (
            RESOURCE_CONFIG,
            '{"hosts": ["algo-1"], "current_host": "algo-9"}',
            "current_host 'algo-9' is not one of",
        ),
        (
            RESOURCE_CONFIG,
            '{"hosts": ["algo-1"], "current_host": 1}',
            "current_host must be a host",
        ),
        (HYPERPARAMETERS_FILE, '["train"]', "hyperparameters.json must hold a JSON object"),
        (INPUT_DATA_CONFIG, "", "inputdataconfig.json is not JSON"),
    ],
)
def test_sagemaker_files_a_job_cannot_use_are_named(
    tmp_path: Path, file: Path, text: str, message: str
) -> None:
    root = write_job_files(tmp_path, {"current_host": "algo-1", "hosts": ["algo-1"]})
    (root / file).write_text(text)
    with pytest.raises(SageMakerError, match=message):
        SageMakerJob.from_environ({}, root)


def test_a_job_without_its_inputs_is_named(tmp_path: Path) -> None:
    with pytest.raises(SageMakerError, match="^this is not a SageMaker training job: there is no"):
        SageMakerJob.from_environ({}, tmp_path)
    with pytest.raises(SageMakerError, match="TRAIN_MODELS_DIR must be an absolute path"):
        SageMakerJob.from_environ(job_env(tmp_path) | {"TRAIN_MODELS_DIR": "data/models"})
    with pytest.raises(SageMakerError, match="^SM_HPS is not JSON"):
        SageMakerJob.from_environ(job_env(tmp_path) | {"SM_HPS": "{epochs"})
    job = SageMakerJob.from_environ(job_env(tmp_path, train=tmp_path))
    with pytest.raises(TrainingDataError, match="missing: validation, test"):
        job.feature_files()


def hosts_env(hosts: str, current: str | None = "algo-1") -> dict[str, str]:
    env = {"SM_MODEL_DIR": "/opt/ml/model", "SM_HOSTS": hosts}
    return env if current is None else env | {"SM_CURRENT_HOST": current}


@given(st.lists(st.text(min_size=1).filter(str.strip), min_size=1, unique=True), st.data())
def test_a_list_of_host_names_gives_the_current_host_its_rank(
    hosts: list[str], data: st.DataObject
) -> None:
    rank = data.draw(st.integers(0, len(hosts) - 1))
    job = SageMakerJob.from_environ(hosts_env(json.dumps(hosts), hosts[rank]))
    assert (job.hosts, job.current_host, job.node_rank) == (tuple(hosts), hosts[rank], rank)


def host_names(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(host, str) and host.strip() for host in value)
    )


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=6,
)


@given(JSON.filter(lambda value: not host_names(value)))
def test_hosts_that_are_not_a_list_of_host_names_are_refused(value: object) -> None:
    # A string would be split into one host per character, each a rendezvous never reached.
    with pytest.raises(SageMakerError, match="^SM_HOSTS must be a JSON list of host names"):
        SageMakerJob.from_environ(hosts_env(json.dumps(value)))
    with tempfile.TemporaryDirectory() as directory:
        root = write_job_files(Path(directory), {"current_host": "algo-1", "hosts": value})
        with pytest.raises(SageMakerError, match="^resourceconfig.json's hosts must be a JSON"):
            SageMakerJob.from_environ({}, root)


@pytest.mark.parametrize(
    ("hosts", "current", "message"),
    [
        ('"abc"', "algo-1", "^SM_HOSTS must be a JSON list of host names .*got '\"abc\"'"),
        ("algo-1", "algo-1", "^SM_HOSTS is not JSON"),
        ('["algo-1", " "]', "algo-1", "^SM_HOSTS must be a JSON list of host names"),
        ('["algo-1", "algo-1"]', "algo-1", "^SM_HOSTS names algo-1 more than once"),
        ('["algo-1"]', "algo-2", "^SM_CURRENT_HOST 'algo-2' is not one of SM_HOSTS"),
        ('["algo-1", "algo-2"]', None, "^SM_CURRENT_HOST is not set"),
    ],
)
def test_hosts_that_torchrun_could_not_meet_are_refused_by_name(
    hosts: str, current: str | None, message: str
) -> None:
    with pytest.raises(SageMakerError, match=message):
        SageMakerJob.from_environ(hosts_env(hosts, current))


def test_without_sm_hosts_the_job_is_one_host() -> None:
    env = {"SM_MODEL_DIR": "/opt/ml/model"}
    assert SageMakerJob.from_environ(env).hosts == ("localhost",)
    job = SageMakerJob.from_environ(env | {"SM_CURRENT_HOST": "algo-1"})
    assert (job.hosts, job.node_rank) == (("algo-1",), 0)
