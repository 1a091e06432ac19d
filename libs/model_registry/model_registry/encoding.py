"""How the network reads a feature frame: categorical values as vocabulary indices, numeric
values clipped to the train split's range and standardised.

Index 0 of every vocabulary means "not seen in training": a new carrier or destination at
serving time, or a missing value, maps there, and the network's embeddings of index 0 are fixed
at zero. Clipping to the train range keeps values training never saw (November's
`month_of_year` after a January-September train split) at the edge the network knows instead of
extrapolating linearly.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import pandas as pd

OUT_OF_VOCABULARY = 0
# What a missing categorical value reads as: never a real code, so it maps to OUT_OF_VOCABULARY.
MISSING_CATEGORY = "<missing>"


def categorical_strings(values: pd.Series) -> pd.Series:
    """`values` as plain Python strings, a missing value as MISSING_CATEGORY."""
    return values.astype("string").fillna(MISSING_CATEGORY).astype(object)


@dataclass(frozen=True)
class NumericScale:
    low: float
    high: float
    mean: float
    std: float


@dataclass(frozen=True)
class TabularEncoding:
    """Vocabularies of the categorical features (code i has index i + 1) and the scale of the
    numeric ones, both in the order the network reads them."""

    vocabularies: dict[str, tuple[str, ...]]
    scales: dict[str, NumericScale]

    @classmethod
    def fit(
        cls, frame: pd.DataFrame, categorical: Sequence[str], numeric: Sequence[str]
    ) -> TabularEncoding:
        vocabularies = {
            name: tuple(sorted(set(categorical_strings(frame[name])))) for name in categorical
        }
        scales = {}
        for name in numeric:
            values = frame[name].to_numpy(dtype="float64")
            std = float(values.std())
            scales[name] = NumericScale(
                low=float(values.min()),
                high=float(values.max()),
                mean=float(values.mean()),
                std=std if std > 0 else 1.0,
            )
        return cls(vocabularies, scales)

    @property
    def cardinalities(self) -> tuple[int, ...]:
        """Embedding rows per categorical feature: its vocabulary plus OUT_OF_VOCABULARY."""
        return tuple(len(vocabulary) + 1 for vocabulary in self.vocabularies.values())

    def transform(self, frame: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(codes: int64, rows x categorical features; numbers: float32, rows x numeric)."""
        codes = np.zeros((len(frame), len(self.vocabularies)), dtype="int64")
        for column, (name, vocabulary) in enumerate(self.vocabularies.items()):
            # An unknown value gets pandas' code -1, so +1 lands on OUT_OF_VOCABULARY.
            known = pd.Categorical(categorical_strings(frame[name]), categories=list(vocabulary))
            codes[:, column] = known.codes.astype("int64") + 1
        numbers = np.zeros((len(frame), len(self.scales)), dtype="float32")
        for column, (name, scale) in enumerate(self.scales.items()):
            values = np.clip(frame[name].to_numpy(dtype="float64"), scale.low, scale.high)
            numbers[:, column] = (values - scale.mean) / scale.std
        return codes, numbers

    def to_dict(self) -> dict[str, Any]:
        return {
            "vocabularies": {name: list(v) for name, v in self.vocabularies.items()},
            "scales": {name: asdict(scale) for name, scale in self.scales.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TabularEncoding:
        return cls(
            vocabularies={name: tuple(v) for name, v in data["vocabularies"].items()},
            scales={name: NumericScale(**scale) for name, scale in data["scales"].items()},
        )
