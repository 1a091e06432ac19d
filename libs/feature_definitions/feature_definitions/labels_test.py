import numpy as np
import pandas as pd

from feature_definitions.labels import ARRIVED, CANCELLED, DIVERTED, delayed, outcomes


def test_delayed_means_more_than_15_minutes_late() -> None:
    label = delayed(pd.Series([-20.0, 15.0, 15.5, 16.0, 300.0]))
    assert label.tolist() == [0, 0, 1, 1, 1]
    assert label.dtype == "int8"


def test_no_departure_is_cancelled_and_a_departure_without_arrival_delay_diverted() -> None:
    dep_time = pd.Series([517.0, np.nan, 1402.0, np.nan])
    arr_delay = pd.Series([11.0, np.nan, np.nan, 5.0])
    assert outcomes(dep_time, arr_delay).tolist() == [ARRIVED, CANCELLED, DIVERTED, CANCELLED]
