"""A SageMaker training job's inputs and outputs, as SageMaker gives them to the container.

SageMaker describes the job in files under /opt/ml/input/config: the hyperparameters (string
values) in hyperparameters.json, the hosts in resourceconfig.json (`hosts`, `current_host`) and
the input channels in inputdataconfig.json, each channel mounted at /opt/ml/input/data/<name>. It
uploads what the job writes to /opt/ml/model as model.tar.gz and /opt/ml/output/data as
output.tar.gz. It says nothing of GPUs: the job runs one process per GPU torch sees. The train
image runs the train artifact as its entry point, without SageMaker's training toolkit; an image
that has the toolkit gets the same as SM_* variables ($SM_MODEL_DIR, $SM_HPS as JSON,
$SM_CHANNEL_<NAME>, $SM_OUTPUT_DATA_DIR, $SM_NUM_GPUS, $SM_HOSTS, $SM_CURRENT_HOST), which are
read instead when $SM_MODEL_DIR is set (the tests use them to point a job at local directories).

The feature table comes either as one channel `features` (the feature service's output
directory) or as three channels `train`, `validation` and `test`, each holding one Parquet file.
Hyperparameters are params.yaml's train, evaluate and promote groups, each a YAML (JSON) value
under the group's name, and any single parameter by dotted name (`train.torch.epochs`), which
wins over its group (`train.params.params_from`): there are no defaults.

The fitted models go to <model dir>/models, unless $TRAIN_MODELS_DIR names another directory
(replaced whole): the orchestration DAG points it into a read-write channel on the pipeline's
file system, where the pipeline's evaluate stage reads `fit`'s output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from train.data import SPLITS, TrainingDataError, split_files
from train.errors import TrainError

# Where SageMaker puts a training job's files in its container, and its files describing the job.
ML_ROOT = Path("/opt/ml")
RESOURCE_CONFIG = Path("input/config/resourceconfig.json")
HYPERPARAMETERS = Path("input/config/hyperparameters.json")
INPUT_DATA_CONFIG = Path("input/config/inputdataconfig.json")


class SageMakerError(TrainError):
    """The environment is not a usable SageMaker training job; the message names the variable
    or file."""


@dataclass(frozen=True)
class SageMakerJob:
    model_dir: Path
    # Where `fit` writes the models.
    models_dir: Path
    output_data_dir: Path
    channels: dict[str, Path]
    hyperparameters: dict[str, Any]
    num_gpus: int
    hosts: tuple[str, ...]
    current_host: str

    @classmethod
    def from_environ(
        cls, environ: Mapping[str, str] = os.environ, root: Path | None = None
    ) -> SageMakerJob:
        """The job SageMaker describes under `root` (ML_ROOT), or the training toolkit's SM_*
        variables when $SM_MODEL_DIR is set."""
        root = ML_ROOT if root is None else root
        models_dir = environ.get("TRAIN_MODELS_DIR")
        if models_dir is not None and not Path(models_dir).is_absolute():
            raise SageMakerError(f"TRAIN_MODELS_DIR must be an absolute path, got {models_dir!r}")
        if environ.get("SM_MODEL_DIR"):
            job = cls._from_toolkit(environ)
        elif (root / RESOURCE_CONFIG).is_file():
            job = cls._from_files(root)
        else:
            raise SageMakerError(
                f"this is not a SageMaker training job: there is no {root / RESOURCE_CONFIG} "
                "(SageMaker's) and SM_MODEL_DIR is not set (its training toolkit's)"
            )
        return replace(job, models_dir=Path(models_dir) if models_dir else job.models_dir)

    @classmethod
    def _from_toolkit(cls, environ: Mapping[str, str]) -> SageMakerJob:
        hyperparameters = _json(environ.get("SM_HPS") or "{}", "SM_HPS")
        if not isinstance(hyperparameters, dict):
            raise SageMakerError(f"SM_HPS must be a JSON object, got {hyperparameters!r}")
        try:
            num_gpus = int(environ.get("SM_NUM_GPUS") or "0")
        except ValueError:
            raise SageMakerError(
                f"SM_NUM_GPUS is not a number: {environ['SM_NUM_GPUS']!r}"
            ) from None
        prefix = "SM_CHANNEL_"
        channels = {
            name[len(prefix) :].lower(): Path(value)
            for name, value in environ.items()
            if name.startswith(prefix)
        }
        current = environ.get("SM_CURRENT_HOST", "")
        if environ.get("SM_HOSTS"):
            hosts, current = _check_hosts(
                _json(environ["SM_HOSTS"], "SM_HOSTS"),
                current,
                ("SM_HOSTS", "SM_CURRENT_HOST"),
                repr(environ["SM_HOSTS"]),
            )
        else:
            # A local run: the job is SM_CURRENT_HOST alone, else localhost.
            current = current or "localhost"
            hosts = (current,)
        model_dir = Path(environ["SM_MODEL_DIR"])
        return cls(
            model_dir=model_dir,
            models_dir=model_dir / "models",
            output_data_dir=Path(environ.get("SM_OUTPUT_DATA_DIR", ML_ROOT / "output" / "data")),
            channels=channels,
            hyperparameters=hyperparameters,
            num_gpus=num_gpus,
            hosts=hosts,
            current_host=current,
        )

    @classmethod
    def _from_files(cls, root: Path) -> SageMakerJob:
        resources = _json_object(root / RESOURCE_CONFIG)
        names = (f"{RESOURCE_CONFIG.name}'s hosts", f"{RESOURCE_CONFIG.name}'s current_host")
        current = resources.get("current_host", "")
        if not isinstance(current, str):
            raise SageMakerError(f"{names[1]} must be a host name, got {current!r}")
        hosts, current = _check_hosts(
            resources.get("hosts"), current, names, repr(resources.get("hosts"))
        )
        hyperparameters = root / HYPERPARAMETERS
        data = root / "input" / "data"
        input_config = root / INPUT_DATA_CONFIG
        return cls(
            model_dir=root / "model",
            models_dir=root / "model" / "models",
            output_data_dir=root / "output" / "data",
            channels={
                name: data / name
                for name in (_json_object(input_config) if input_config.is_file() else {})
            },
            hyperparameters=_json_object(hyperparameters) if hyperparameters.is_file() else {},
            num_gpus=visible_gpus(),
            hosts=hosts,
            current_host=current,
        )

    @property
    def features_dir(self) -> Path | None:
        return self.channels.get("features")

    def feature_files(self) -> dict[str, Path]:
        """The Parquet file of each split."""
        if self.features_dir is not None:
            return split_files(self.features_dir)
        missing = [split for split in SPLITS if split not in self.channels]
        if missing:
            raise TrainingDataError(
                "SageMaker job has neither a `features` channel nor the channels "
                f"{', '.join(SPLITS)} (missing: {', '.join(missing)}; "
                f"channels given: {', '.join(sorted(self.channels)) or 'none'})"
            )
        files = {}
        for split in SPLITS:
            found = sorted(self.channels[split].glob("*.parquet"))
            if len(found) != 1:
                raise TrainingDataError(
                    f"channel {split} ({self.channels[split]}) must hold exactly one Parquet "
                    f"file, found {len(found)}"
                )
            files[split] = found[0]
        return files

    @property
    def processes_per_host(self) -> int:
        """One process per GPU; one on a CPU instance."""
        return max(1, self.num_gpus)

    @property
    def node_rank(self) -> int:
        return self.hosts.index(self.current_host)


def visible_gpus() -> int:
    """The GPUs torch sees (SageMaker does not say how many the instance has)."""
    import torch  # the job fits with it; imported here so that the toolkit's path needs none

    return torch.cuda.device_count()


def _json(text: str, source: str) -> Any:
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        raise SageMakerError(f"{source} is not JSON: {error}") from None


def _json_object(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as error:
        raise SageMakerError(f"{path} cannot be read: {error}") from None
    value = _json(text, str(path))
    if not isinstance(value, dict):
        raise SageMakerError(f"{path} must hold a JSON object, got {value!r}")
    return value


def _check_hosts(
    hosts: object, current: str, names: tuple[str, str], shown: str
) -> tuple[tuple[str, ...], str]:
    """The hosts and this host's name, checked: torchrun would otherwise wait for a rendezvous
    with hosts that do not exist, or give two hosts one rank. `names` are those of the hosts'
    and the current host's sources, for the messages; `shown` the hosts as given."""
    hosts_name, current_name = names
    if (
        not isinstance(hosts, list)
        or not hosts
        or not all(isinstance(host, str) and host.strip() for host in hosts)
    ):
        raise SageMakerError(
            f"{hosts_name} must be a JSON list of host names (non-empty strings), got {shown}"
        )
    twice = sorted({host for host in hosts if hosts.count(host) > 1})
    if twice:
        raise SageMakerError(f"{hosts_name} names {', '.join(twice)} more than once")
    if not current and len(hosts) > 1:
        raise SageMakerError(
            f"{current_name} is not set: it must say which of {hosts_name} {hosts} this host is"
        )
    current = current or hosts[0]
    if current not in hosts:
        raise SageMakerError(f"{current_name} {current!r} is not one of {hosts_name} {hosts}")
    return tuple(hosts), current
