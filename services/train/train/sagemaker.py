"""The SageMaker training-job conventions, read from the environment.

SageMaker mounts each input channel at $SM_CHANNEL_<NAME>, uploads whatever the job writes to
$SM_MODEL_DIR as model.tar.gz (and $SM_OUTPUT_DATA_DIR as output.tar.gz), passes the
hyperparameters as JSON in $SM_HPS, and says how many GPUs the instance has in $SM_NUM_GPUS and
which hosts take part in $SM_HOSTS and $SM_CURRENT_HOST.

The feature table comes either as one channel `features` (the feature service's output
directory) or as three channels `train`, `validation` and `test`, each holding one Parquet file.
Hyperparameters are params.yaml's train, evaluate and promote groups, each a YAML (JSON) value
under the group's name, and any single parameter by dotted name (`train.torch.epochs`), which
wins over its group (`train.params.params_from`): there are no defaults.

The fitted models go to $SM_MODEL_DIR/models, unless $TRAIN_MODELS_DIR names another directory
(replaced whole): the orchestration DAG points it into a read-write channel on the pipeline's
file system, where the pipeline's evaluate stage reads `fit`'s output.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from train.data import SPLITS, TrainingDataError, split_files
from train.errors import TrainError


class SageMakerError(TrainError):
    """The environment is not a usable SageMaker training job; the message names the variable."""


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
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> SageMakerJob:
        if not environ.get("SM_MODEL_DIR"):
            raise SageMakerError("SM_MODEL_DIR is not set: this is not a SageMaker training job")
        hyperparameters = _json(environ, "SM_HPS", "{}")
        if not isinstance(hyperparameters, dict):
            raise SageMakerError(f"SM_HPS must be a JSON object, got {hyperparameters!r}")
        models_dir = environ.get("TRAIN_MODELS_DIR")
        if models_dir is not None and not Path(models_dir).is_absolute():
            raise SageMakerError(f"TRAIN_MODELS_DIR must be an absolute path, got {models_dir!r}")
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
        hosts, current = _hosts(environ)
        return cls(
            model_dir=Path(environ["SM_MODEL_DIR"]),
            models_dir=Path(models_dir or Path(environ["SM_MODEL_DIR"]) / "models"),
            output_data_dir=Path(environ.get("SM_OUTPUT_DATA_DIR", "/opt/ml/output/data")),
            channels=channels,
            hyperparameters=hyperparameters,
            num_gpus=num_gpus,
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


def _json(environ: Mapping[str, str], name: str, default: str) -> Any:
    try:
        return json.loads(environ.get(name) or default)
    except json.JSONDecodeError as error:
        raise SageMakerError(f"{name} is not JSON: {error}") from None


def _hosts(environ: Mapping[str, str]) -> tuple[tuple[str, ...], str]:
    """SM_HOSTS and SM_CURRENT_HOST, checked: torchrun would otherwise wait for a rendezvous
    with hosts that do not exist, or give two hosts one rank. Without SM_HOSTS (a local run) the
    job is SM_CURRENT_HOST alone, else localhost."""
    current = environ.get("SM_CURRENT_HOST", "")
    if not environ.get("SM_HOSTS"):
        return (current or "localhost",), current or "localhost"
    hosts = _json(environ, "SM_HOSTS", "[]")
    if (
        not isinstance(hosts, list)
        or not hosts
        or not all(isinstance(host, str) and host.strip() for host in hosts)
    ):
        raise SageMakerError(
            f"SM_HOSTS must be a JSON list of host names (non-empty strings), got "
            f"{environ['SM_HOSTS']!r}"
        )
    twice = sorted({host for host in hosts if hosts.count(host) > 1})
    if twice:
        raise SageMakerError(f"SM_HOSTS names {', '.join(twice)} more than once")
    if not current and len(hosts) > 1:
        raise SageMakerError(
            f"SM_CURRENT_HOST is not set: it must say which of SM_HOSTS {hosts} this host is"
        )
    current = current or hosts[0]
    if current not in hosts:
        raise SageMakerError(f"SM_CURRENT_HOST {current!r} is not one of SM_HOSTS {hosts}")
    return tuple(hosts), current
