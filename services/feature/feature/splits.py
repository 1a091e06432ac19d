"""Time splits by the New York date of the scheduled departure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd

from feature.errors import InputError
from feature_definitions.calendar import local_time

SPLITS: tuple[str, ...] = ("train", "validation", "test")


@dataclass(frozen=True)
class SplitDates:
    """A departure on or before train_end is train; on or before validation_end, validation;
    later, test."""

    train_end: dt.date
    validation_end: dt.date

    def __post_init__(self) -> None:
        if self.validation_end <= self.train_end:
            raise InputError(
                f"--validation-end {self.validation_end} must be after "
                f"--train-end {self.train_end}"
            )


def assign_splits(time_hour: pd.Series, dates: SplitDates) -> pd.Series:
    day = local_time(time_hour).dt.date
    split = np.select(
        [day <= dates.train_end, day <= dates.validation_end], ["train", "validation"], "test"
    )
    return pd.Series(split, index=time_hour.index)
