"""The train service's parameters: the `train`, `evaluate` and `promote` groups of params.yaml.

params.yaml is their only home: every field below is required and has no default, so a missing,
unknown or mistyped key is an error that names it (a typo must not silently train with a
default). A SageMaker job has no params.yaml: whoever starts it passes the parameters as
hyperparameters, each a YAML value under a group's name (`train`, as the orchestration DAG
sends them) or a dotted name (`train.torch.epochs`, as a tuning job varies one); see params_from.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import fsspec
import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from storage.remote import LocationError, StorageError, check_location, storage_errors
from train.errors import TrainError

BaselineModel = Literal["hist_gradient_boosting", "logistic_regression"]
Metric = Literal["roc_auc", "pr_auc", "log_loss", "brier"]
Positive = Annotated[int, Field(gt=0)]
PositiveNumber = Annotated[float, Field(gt=0)]
Probability = Annotated[float, Field(gt=0, lt=1)]


class ParamsError(TrainError):
    """A parameter is unknown, missing or of the wrong type; the message names it."""


class _Group(BaseModel):
    # Strict validation of JSON-shaped input: no bool for an int, no 2.5 for an int, no "7" for a
    # number (string values are parsed as YAML first, see params_from), no .inf or .nan (a NaN
    # margin would never promote, an infinite learning rate trains nothing).
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class BaselineParams(_Group):
    model: BaselineModel
    learning_rate: PositiveNumber
    max_iter: Positive
    # HistGradientBoostingClassifier refuses a tree of one leaf.
    max_leaf_nodes: Annotated[int, Field(ge=2)]
    # scikit-learn's trees count a leaf's samples in an unsigned 32-bit integer.
    min_samples_leaf: Annotated[int, Field(gt=0, le=2**32 - 1)]
    l2_regularization: Annotated[float, Field(ge=0)]
    n_iter_no_change: Positive
    C: PositiveNumber


class TorchParams(_Group):
    epochs: Positive
    batch_size: Positive
    learning_rate: PositiveNumber
    weight_decay: Annotated[float, Field(ge=0)]
    hidden: Annotated[tuple[Positive, ...], Field(min_length=1)]
    dropout: Annotated[float, Field(ge=0, lt=1)]
    embedding_dim: Positive
    patience: Positive


class TrainParams(_Group):
    # scikit-learn's random_state takes no larger seed.
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)]
    threshold: Literal["max_f1"] | Probability
    baseline: BaselineParams
    torch: TorchParams


# The models `train fit` trains, each with its parameter group above.
MODELS: tuple[str, ...] = ("baseline", "torch")


class EvaluateParams(_Group):
    # At most one bin per test flight: evaluate checks it against the test split it scores.
    calibration_bins: Positive


class PromoteParams(_Group):
    metric: Metric
    # A negative margin would promote a model worse than the one it replaces.
    margin: Annotated[float, Field(ge=0)]


class Params(_Group):
    train: TrainParams
    evaluate: EvaluateParams
    promote: PromoteParams

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


GROUPS = tuple(Params.model_fields)


def load_params(path: str | Path, overrides: Mapping[str, Any] | None = None) -> Params:
    """The train, evaluate and promote groups of the YAML file at `path`, a local path or a URL
    fsspec reads (s3://..., where the DAG's ECS runner writes a run's file), then `overrides`.
    Other groups are other stages'."""
    try:
        check_location(str(path), "the params file's path")
        with (
            storage_errors("read params file", str(path)),
            fsspec.open(str(path), "r", encoding="utf-8") as stream,
        ):
            text = stream.read()
        document = _read_params_yaml(text, path) or {}
    except (LocationError, StorageError) as error:
        raise ParamsError(str(error)) from error
    except yaml.YAMLError as error:
        raise ParamsError(f"cannot read params file {path}: {error}") from error
    if not isinstance(document, Mapping):
        raise ParamsError(f"params file {path} must be a mapping of groups")
    return params_from({k: v for k, v in document.items() if k in GROUPS}, overrides)


def _read_params_yaml(text: str, path: str | Path) -> Any:
    """`yaml.safe_load(text)`, refusing a key given twice at the top or in train's groups:
    YAML loaders keep the last one silently, so an edit of the first would change nothing."""
    loader = yaml.SafeLoader(text)
    try:
        root = loader.get_single_node()
        if root is None:
            return None
        if isinstance(root, yaml.MappingNode):
            _refuse_duplicate_keys(root, path, (), set(GROUPS))
        return loader.construct_document(root)
    finally:
        loader.dispose()  # type: ignore[no-untyped-call]


_MERGE_TAG = "tag:yaml.org,2002:merge"


def _refuse_duplicate_keys(
    node: yaml.MappingNode, path: str | Path, keys: tuple[str, ...], only: set[str] | None = None
) -> None:
    """Through `node` and the mappings in it (at the root only those under the keys in `only`:
    other groups are other stages')."""
    lines: dict[str, int] = {}
    for key_node, value_node in node.value:
        if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == _MERGE_TAG:
            continue
        key, line = key_node.value, key_node.start_mark.line + 1
        if key in lines:
            raise ParamsError(
                f"params file {path}: {'.'.join((*keys, key))} is given twice, at lines "
                f"{lines[key]} and {line}; keep one"
            )
        lines[key] = line
        if isinstance(value_node, yaml.MappingNode) and (only is None or key in only):
            _refuse_duplicate_keys(value_node, path, (*keys, key))


def params_from(groups: Mapping[str, Any], overrides: Mapping[str, Any] | None = None) -> Params:
    """Params from nested groups, then `overrides`: dotted keys (`train.torch.epochs`) or
    nested mappings. A string override is read as YAML, as `--set` and SageMaker send them
    ("7", "0.3", "[8, 4]", '{"seed": 0, ...}'). The more dotted key wins whatever the order:
    `train.torch.epochs` over a whole `train` group."""
    merged = _merge({}, groups)
    by_depth = sorted((overrides or {}).items(), key=lambda item: item[0].count("."))
    for key, value in by_depth:
        if isinstance(value, str):
            value = _yaml_value(key, value)
        merged = _merge(merged, _nest(key.split("."), value))
    try:
        # JSON mode: strict, yet a list is a tuple and an integer is a number, as in YAML.
        return Params.model_validate_json(json.dumps(merged))
    except ValidationError as error:
        errors = error.errors()
        raise ParamsError(
            "; ".join(_describe(e) for e in errors if not _counts_failed_items(e, errors))
        ) from None
    except TypeError as error:  # json.dumps: a value YAML cannot have come from
        raise ParamsError(f"params hold a value that is not plain data: {error}") from None


def _yaml_value(key: str, value: str) -> Any:
    try:
        return yaml.safe_load(value)
    except yaml.YAMLError:
        raise ParamsError(f"{key}: {value!r} is not a YAML value") from None


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


def _counts_failed_items(error: Mapping[str, Any], errors: Sequence[Mapping[str, Any]]) -> bool:
    """Whether `error` is a collection's length that fell short only because items inside it
    failed (pydantic counts the items that passed: [0] for positive widths is also "at least 1
    item, not 0"); the items' own errors say what is wrong."""
    where = error["loc"]
    return error["type"] == "too_short" and any(
        other["loc"][: len(where)] == where and len(other["loc"]) > len(where) for other in errors
    )


def _describe(error: Mapping[str, Any]) -> str:
    # Union members add their own names to the location (`threshold.literal['max_f1']`).
    key = ".".join(str(part) for part in error["loc"] if not _union_member(part))
    if error["type"] == "extra_forbidden":
        return f"unknown parameter {key}"
    if error["type"] == "missing":
        return f"missing parameter {key} (params.yaml is the only home of the parameters)"
    problem = f"{key}: {error['msg']}, got {error.get('input')!r}"
    if error["type"] == "float_type" and isinstance(error["input"], str):
        problem += _number_hint(error["input"])
    return problem


_EXPONENT = re.compile(r"([-+]?\d+)(?:\.(\d*))?[eE]([-+]?)(\d+)")


def _number_hint(text: str) -> str:
    """How to write `text`, a string YAML 1.1 did not read as a number, so that it does (`3e-3`
    as `3.0e-3`): empty if Python's float() does not read it as a finite number either."""
    try:
        number = float(text)
    except ValueError:
        return ""
    if not math.isfinite(number):
        return ""  # .inf and .nan are refused however they are written
    match = _EXPONENT.fullmatch(text.strip())
    if match is None:  # quoted, or with `_` or a leading dot: Python's shortest spelling
        whole, _, exponent = repr(number).partition("e")
        spelling = f"{whole}.0e{exponent}" if exponent and "." not in whole else repr(number)
        return f" (YAML reads it as a string: write {spelling})"
    whole, fraction, sign, exponent = match.groups()
    spelling = f"{whole}.{fraction or '0'}e{sign or '+'}{exponent}"
    return (
        " (YAML reads a number with an exponent as a number only with a dot and a signed "
        f"exponent: write {spelling})"
    )


def _union_member(part: object) -> bool:
    return isinstance(part, str) and (
        part.startswith(("literal[", "function-"))
        or part
        in {
            "float",
            "int",
            "constrained-float",
        }
    )
