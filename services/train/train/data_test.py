from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from feature_definitions.labels import LABEL
from train.conftest import synthetic_split
from train.data import TrainingDataError, _not_strings, read_split, split_files


def write(tmp_path: Path, table: object) -> Path:
    path = tmp_path / "train.parquet"
    table.to_parquet(path, index=False)  # type: ignore[attr-defined]
    return path


def test_a_good_split_reads_as_features_and_label(tmp_path: Path) -> None:
    frame, label = read_split("train", write(tmp_path, synthetic_split(50, 0)))
    assert len(frame) == 50
    assert label.dtype == np.int8
    assert LABEL not in frame.columns


def test_a_missing_feature_table_or_split_is_named(tmp_path: Path) -> None:
    with pytest.raises(TrainingDataError, match="feature table .*nowhere does not exist"):
        split_files(tmp_path / "nowhere")
    with pytest.raises(TrainingDataError, match="no test split: .*test.parquet does not exist"):
        read_split("test", split_files(tmp_path)["test"])
    (tmp_path / "test.parquet").mkdir()
    with pytest.raises(TrainingDataError, match="no test split: .*test.parquet is not a regular"):
        read_split("test", split_files(tmp_path)["test"])


def test_an_unreadable_or_empty_split_is_named(tmp_path: Path) -> None:
    broken = tmp_path / "train.parquet"
    broken.write_text("not parquet")
    with pytest.raises(TrainingDataError, match="not a readable Parquet file"):
        read_split("train", broken)
    with pytest.raises(TrainingDataError, match="train split .* has no rows"):
        read_split("train", write(tmp_path, synthetic_split(10, 0).iloc[:0]))


def test_a_missing_column_is_named(tmp_path: Path) -> None:
    table = synthetic_split(50, 0).drop(columns=["dep_hour", LABEL])
    with pytest.raises(TrainingDataError, match="lacks column\\(s\\) dep_hour, delayed"):
        read_split("train", write(tmp_path, table))


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_nan_or_infinite_feature_values_are_named_with_their_count(
    tmp_path: Path, bad: float
) -> None:
    table = synthetic_split(50, 0)
    table.loc[[3, 7], "temp"] = bad
    with pytest.raises(TrainingDataError, match="NaN or infinite values in temp \\(2 rows\\)"):
        read_split("train", write(tmp_path, table))


def test_a_missing_category_is_named(tmp_path: Path) -> None:
    table = synthetic_split(50, 0)
    table.loc[0, "dest"] = None
    with pytest.raises(TrainingDataError, match="dest \\(1 rows\\)"):
        read_split("train", write(tmp_path, table))


def test_a_single_class_label_is_named(tmp_path: Path) -> None:
    table = synthetic_split(50, 0).assign(**{LABEL: 0})
    with pytest.raises(TrainingDataError, match="single class \\(0\\); nothing to learn"):
        read_split("train", write(tmp_path, table))
    with pytest.raises(TrainingDataError, match="single class \\(0\\); ROC-AUC"):
        read_split("test", write(tmp_path, table))


def test_a_label_that_is_not_0_or_1_is_named(tmp_path: Path) -> None:
    table = synthetic_split(50, 0)
    table.loc[0, LABEL] = 2
    with pytest.raises(TrainingDataError, match="must be 0 or 1, found 2 \\(1 rows\\)"):
        read_split("train", write(tmp_path, table))


@pytest.mark.parametrize(
    ("labels", "found"),
    [
        # An int cast would read 0.5 as 0 and report "found [0, 1]".
        ([0.0, 1.0, 0.5, 0.5], "found 0.5 \\(2 rows\\)"),
        (["0", "1", "1", "0"], "found '0', '1' \\(4 rows\\)"),
    ],
)
def test_a_label_that_is_not_0_or_1_names_the_offending_values(
    tmp_path: Path, labels: list[float] | list[str], found: str
) -> None:
    table = synthetic_split(4, 0)
    table[LABEL] = labels
    with pytest.raises(TrainingDataError, match=f"label delayed must be 0 or 1, {found}"):
        read_split("train", write(tmp_path, table))


def test_a_label_of_bools_or_floats_of_0_and_1_is_read(tmp_path: Path) -> None:
    table = synthetic_split(4, 0)
    for labels in ([False, True, True, False], [0.0, 1.0, 1.0, 0.0]):
        table[LABEL] = labels
        assert read_split("train", write(tmp_path, table))[1].tolist() == [0, 1, 1, 0]


@pytest.mark.parametrize(
    ("column", "values", "found"),
    [
        # Integer codes and floats: the models would learn vocabularies of "0", "1", ... and
        # every string serving sends would be out of vocabulary.
        ("carrier", lambda t: t["carrier"].cat.codes, "int8"),
        ("origin", lambda t: t["origin"].cat.codes.astype("float64"), "float64"),
        ("dest", lambda t: t["dest"] == "ATL", "bool"),
    ],
)
def test_a_categorical_feature_that_is_not_strings_is_named_with_its_dtype(
    tmp_path: Path, column: str, values: Callable[[pd.DataFrame], pd.Series], found: str
) -> None:
    table = synthetic_split(50, 0)
    table[column] = values(table.astype({column: "category"}))
    with pytest.raises(
        TrainingDataError,
        match=f"train split .*: categorical feature {column} is not strings \\({found}\\)",
    ):
        read_split("train", write(tmp_path, table))


@pytest.mark.parametrize(
    ("values", "found"),
    [
        (pd.Series([1, 2, None], dtype=object), "object of integer values"),
        (pd.Series(["AA", 2], dtype=object), "object of mixed-integer values"),
        (pd.Series([1, 2], dtype="category"), "category of integer values"),
        (pd.Series([b"AA"], dtype=object), "object of bytes values"),
        (pd.Series(["AA", None], dtype="category"), None),
        (pd.Series([None, None], dtype=object), None),
    ],
)
def test_what_a_categorical_feature_holds_is_told_from_its_values(
    values: pd.Series, found: str | None
) -> None:
    """Of a frame not read from Parquet (which keeps no object column of other values)."""
    assert _not_strings(values) == found


@pytest.mark.parametrize(
    "dtype", ["string", object, "category", pd.CategoricalDtype(["AA", "B6", "DL", "EV", "UA"])]
)
def test_categorical_features_of_strings_are_read_in_any_string_dtype(
    tmp_path: Path, dtype: object
) -> None:
    table = synthetic_split(50, 0)
    table["carrier"] = table["carrier"].astype(dtype)  # type: ignore[call-overload]
    frame, _ = read_split("train", write(tmp_path, table))
    assert frame["carrier"].astype(str).tolist() == table["carrier"].astype(str).tolist()
