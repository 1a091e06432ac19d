"""The train service's parameters: the `train`, `evaluate` and `promote` groups of params.yaml.

The defaults below are the values params.yaml ships with (tests/dvc/params_test.py checks it):
a SageMaker job, which has no params.yaml, starts from them and applies its hyperparameters
(`SM_HPS`). Unknown keys and values of the wrong type are errors that name the key: a typo must
not silently train with a default.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

import yaml

BaselineModel = Literal["hist_gradient_boosting", "logistic_regression"]
Metric = Literal["roc_auc", "pr_auc", "log_loss", "brier"]


class ParamsError(ValueError):
    """A parameter is unknown, missing or of the wrong type; the message names it."""


@dataclass(frozen=True)
class BaselineParams:
    model: BaselineModel = "hist_gradient_boosting"
    # hist_gradient_boosting: at most max_iter trees, stopping early when the validation
    # split's loss has not improved for n_iter_no_change of them.
    learning_rate: float = 0.05
    max_iter: int = 500
    max_leaf_nodes: int = 31
    min_samples_leaf: int = 100
    l2_regularization: float = 1.0
    n_iter_no_change: int = 20
    # logistic_regression: inverse regularisation strength.
    C: float = 1.0

    def __post_init__(self) -> None:
        _positive(self, "learning_rate", "max_iter", "max_leaf_nodes", "min_samples_leaf")
        _positive(self, "n_iter_no_change", "C")


@dataclass(frozen=True)
class TorchParams:
    epochs: int = 4
    # The global batch: under torch.distributed each of N processes takes batch_size / N rows.
    batch_size: int = 2048
    # The peak of a one-cycle schedule.
    learning_rate: float = 0.003
    weight_decay: float = 0.01
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.3
    # Largest embedding width; a feature with k categories gets min(this, k / 2).
    embedding_dim: int = 8
    # Stop after this many epochs without a better validation loss; the best epoch is kept.
    patience: int = 2

    def __post_init__(self) -> None:
        _positive(self, "epochs", "batch_size", "learning_rate", "embedding_dim", "patience")
        _positive(self, *(f"hidden[{i}]" for i in range(len(self.hidden))))
        if not 0 <= self.dropout < 1:
            raise ParamsError(f"dropout must be in [0, 1), got {self.dropout}")


@dataclass(frozen=True)
class TrainParams:
    seed: int = 0
    # The decision threshold saved with each model: "max_f1" picks the one that maximises F1
    # on the validation split; a number in (0, 1) fixes it.
    threshold: Literal["max_f1"] | float = "max_f1"
    baseline: BaselineParams = field(default_factory=BaselineParams)
    torch: TorchParams = field(default_factory=TorchParams)

    def __post_init__(self) -> None:
        if self.threshold != "max_f1" and not 0 < float(self.threshold) < 1:
            raise ParamsError(f"threshold must be max_f1 or in (0, 1), got {self.threshold}")


@dataclass(frozen=True)
class EvaluateParams:
    calibration_bins: int = 10

    def __post_init__(self) -> None:
        _positive(self, "calibration_bins")


@dataclass(frozen=True)
class PromoteParams:
    # The run's champion (the candidate if its test `metric` beats the baseline's by `margin`,
    # else the baseline) is promoted if nothing is, or if it beats the promoted model by `margin`
    # (lower is better for log_loss and brier).
    metric: Metric = "roc_auc"
    margin: float = 0.005


@dataclass(frozen=True)
class Params:
    train: TrainParams = field(default_factory=TrainParams)
    evaluate: EvaluateParams = field(default_factory=EvaluateParams)
    promote: PromoteParams = field(default_factory=PromoteParams)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


T = TypeVar("T")


def _positive(params: object, *names: str) -> None:
    for name in names:
        base, _, index = name.partition("[")
        value = getattr(params, base)
        value = value[int(index.rstrip("]"))] if index else value
        if value <= 0:
            raise ParamsError(f"{name} must be positive, got {value}")


def load_params(path: Path, overrides: Mapping[str, Any] | None = None) -> Params:
    """The train, evaluate and promote groups of the YAML file at `path` (other groups are
    other stages'), over the defaults, then `overrides`."""
    try:
        document = yaml.safe_load(path.read_text()) or {}
    except (OSError, yaml.YAMLError) as error:
        raise ParamsError(f"cannot read params file {path}: {error}") from error
    groups = {
        k: v for k, v in document.items() if k in {f.name for f in dataclasses.fields(Params)}
    }
    return params_from(groups, overrides)


def params_from(groups: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Params:
    """Params from nested groups, then `overrides`: dotted keys (`train.torch.epochs`) or
    nested mappings."""
    merged = _merge({}, groups)
    for key, value in (overrides or {}).items():
        if isinstance(value, Mapping):
            merged = _merge(merged, {key: value})
        else:
            merged = _merge(merged, _nest(key.split("."), value))
    return _build(Params, merged, "")


def _nest(keys: list[str], value: Any) -> dict[str, Any]:
    return {keys[0]: _nest(keys[1:], value)} if len(keys) > 1 else {keys[0]: value}


def _merge(base: Mapping[str, Any], update: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in update.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _build(cls: type[T], data: Any, where: str) -> T:
    if not isinstance(data, Mapping):
        raise ParamsError(f"{where or 'params'} must be a mapping, got {data!r}")
    hints = typing.get_type_hints(cls)
    fields = {f.name: f for f in dataclasses.fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(data) - set(fields))
    if unknown:
        raise ParamsError(f"unknown parameter(s) {', '.join(where + k for k in unknown)}")
    values = {}
    for name, value in data.items():
        values[name] = _coerce(hints[name], value, f"{where}{name}")
    try:
        return cls(**values)
    except ParamsError as error:
        raise ParamsError(f"{where}{error}") from None


def _coerce(hint: Any, value: Any, key: str) -> Any:
    if dataclasses.is_dataclass(hint):
        return _build(hint, value, f"{key}.")  # type: ignore[arg-type]
    origin = typing.get_origin(hint)
    if origin is Literal:
        if value not in typing.get_args(hint):
            allowed = ", ".join(map(str, typing.get_args(hint)))
            raise ParamsError(f"{key} must be one of {allowed}, got {value!r}")
        return value
    if origin is tuple:
        if isinstance(value, str):
            value = yaml.safe_load(value)  # SageMaker passes "[128, 64]" as a string
        if not isinstance(value, list | tuple):
            raise ParamsError(f"{key} must be a list, got {value!r}")
        return tuple(_coerce(typing.get_args(hint)[0], v, key) for v in value)
    if origin in (typing.Union, types.UnionType):
        for option in typing.get_args(hint):
            try:
                return _coerce(option, value, key)
            except ParamsError:
                continue
        expected = " or ".join(_describe(option) for option in typing.get_args(hint))
        raise ParamsError(f"{key} must be {expected}, got {value!r}")
    # int(True) and int(2.5) would pass silently.
    fraction = isinstance(value, float) and not value.is_integer()
    try:
        if isinstance(value, bool) or (fraction and hint is not float):
            raise ValueError
        return hint(value)
    except (TypeError, ValueError):
        raise ParamsError(f"{key} must be {_describe(hint)}, got {value!r}") from None


def _describe(hint: Any) -> str:
    if typing.get_origin(hint) is Literal:
        return " or ".join(map(str, typing.get_args(hint)))
    return {int: "an integer", float: "a number", str: "a string"}.get(hint, str(hint))
