import re

import numpy as np
import pandas as pd
import pytest

from feature_definitions.errors import FeatureInputError
from feature_definitions.history import (
    EMPTY_WINDOW_RATE,
    history_features,
    trailing_counts,
)
from feature_definitions.instants import scheduled_departure

T = pd.Timestamp("2013-06-08T12:00:00Z")
WEEK = pd.Timedelta(days=7)
MINUTE = pd.Timedelta(minutes=1)


def events(*rows: tuple[str, str, pd.Timestamp, int]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=["carrier", "origin", "arrival", "delayed"])
    frame["arrival"] = pd.to_datetime(frame["arrival"], utc=True)
    return frame.astype({"carrier": "string", "origin": "string"})


def features_at(
    at: pd.Timestamp, history: pd.DataFrame, carrier: str = "UA", origin: str = "EWR"
) -> pd.Series:
    query = pd.DataFrame({"carrier": [carrier], "origin": [origin]})
    return history_features(query, pd.Series([at]), history, WEEK).iloc[0]


def test_only_arrivals_in_the_half_open_window_before_departure_count() -> None:
    history = events(
        ("UA", "EWR", T - MINUTE, 1),  # one minute before: counts
        ("UA", "EWR", T - WEEK, 0),  # the window's first instant: counts
        ("UA", "EWR", T, 1),  # at the departure instant: not yet known
        ("UA", "EWR", T + MINUTE, 1),  # one minute after: not known
        ("UA", "EWR", T - WEEK - MINUTE, 1),  # too old
        ("AA", "EWR", T - MINUTE, 1),  # another carrier, same origin
    )
    features = features_at(T, history)
    assert features["carrier_trailing_flights"] == 2
    assert features["carrier_trailing_delay_rate"] == 0.5
    assert features["origin_trailing_flights"] == 3
    assert features["origin_trailing_delay_rate"] == pytest.approx(2 / 3)


def test_a_label_known_only_after_departure_never_changes_the_features() -> None:
    before = events(("UA", "EWR", T - MINUTE, 0), ("UA", "EWR", T + MINUTE, 0))
    after = events(("UA", "EWR", T - MINUTE, 0), ("UA", "EWR", T + MINUTE, 1))
    assert features_at(T, before).equals(features_at(T, after))
    # The same change one minute earlier is visible: the test can see a leak.
    earlier = events(("UA", "EWR", T - MINUTE, 1), ("UA", "EWR", T + MINUTE, 0))
    assert features_at(T, earlier)["carrier_trailing_delay_rate"] == 1.0


def test_an_empty_window_has_zero_flights_and_the_declared_rate() -> None:
    features = features_at(T, events(("AA", "JFK", T - MINUTE, 1)))
    assert features.to_dict() == {
        "carrier_trailing_flights": 0,
        "carrier_trailing_delay_rate": EMPTY_WINDOW_RATE,
        "origin_trailing_flights": 0,
        "origin_trailing_delay_rate": EMPTY_WINDOW_RATE,
    }


def test_a_flight_without_an_arrival_instant_never_counts() -> None:
    history = events(("UA", "EWR", T - MINUTE, 1), ("UA", "EWR", T - MINUTE, 1))
    history.loc[1, "arrival"] = pd.NaT
    assert features_at(T, history)["carrier_trailing_flights"] == 1


@pytest.mark.parametrize("window", [pd.Timedelta(0), pd.Timedelta(days=-7), pd.NaT])
def test_the_window_must_be_positive(window: pd.Timedelta) -> None:
    # NaT passed before: its count reached back to the first event.
    with pytest.raises(
        FeatureInputError, match=re.escape(f"window must be positive, got {window}")
    ):
        trailing_counts(
            pd.Series(["UA"]), pd.Series([T]), pd.Series(["UA"]), pd.Series([T]),
            pd.Series([1]), window,
        )  # fmt: skip


@pytest.fixture(scope="module")
def real(
    arrivals: tuple[pd.DataFrame, pd.DataFrame],
) -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    arrived, history = arrivals
    departure = scheduled_departure(arrived["time_hour"], arrived["sched_dep_time"])
    return arrived, history, departure


def brute_force(
    arrived: pd.DataFrame, history: pd.DataFrame, departure: pd.Series, group: str, row: int
) -> tuple[int, float]:
    """The definition, one flight at a time: same group, arrival in [t - week, t)."""
    t = departure.iloc[row]
    in_window = (
        (history[group] == arrived[group].iloc[row])
        & (history["arrival"] >= t - WEEK)
        & (history["arrival"] < t)
    )
    flights = int(in_window.sum())
    rate = float(history.loc[in_window, "delayed"].mean()) if flights else EMPTY_WINDOW_RATE
    return flights, rate


def test_vectorised_equals_brute_force_on_real_flights(
    real: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
) -> None:
    arrived, history, departure = real
    assert history["arrival"].notna().all()
    features = history_features(arrived[["carrier", "origin"]], departure, history, WEEK)
    rows = np.random.default_rng(0).choice(len(arrived), size=300, replace=False)
    for row in rows:
        for group in ("carrier", "origin"):
            flights, rate = brute_force(arrived, history, departure, group, row)
            assert features[f"{group}_trailing_flights"].iloc[row] == flights
            assert features[f"{group}_trailing_delay_rate"].iloc[row] == pytest.approx(rate)
    # The sample is not trivial: most flights have history, some of it delayed.
    assert (features["carrier_trailing_flights"].iloc[rows] > 0).mean() > 0.8
    assert features["origin_trailing_delay_rate"].iloc[rows].max() > 0


def test_relabelling_later_arrivals_changes_no_earlier_features(
    real: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
) -> None:
    arrived, history, departure = real
    cutoff = pd.Timestamp("2013-01-06T17:00:00Z")
    later = history["arrival"] >= cutoff
    flipped = history.assign(delayed=history["delayed"].where(~later, 1 - history["delayed"]))
    original = history_features(arrived[["carrier", "origin"]], departure, history, WEEK)
    changed = history_features(arrived[["carrier", "origin"]], departure, flipped, WEEK)
    known_at_cutoff = (departure <= cutoff).to_numpy()
    assert known_at_cutoff.sum() > 1000 and later.sum() > 1000
    pd.testing.assert_frame_equal(original[known_at_cutoff], changed[known_at_cutoff])
    # Later flights do see the flipped labels.
    assert not original[~known_at_cutoff].equals(changed[~known_at_cutoff])


def test_real_arrival_instants_match_upstreams_local_arrival_times(
    real: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
    first_ten_days: dict[str, pd.DataFrame],
) -> None:
    # Upstream's arr_time is the actual arrival, local to the destination: an independent check
    # of the time zones, the day roll-over and the delay arithmetic.
    arrived, history, _ = real
    airports = first_ten_days["airports"]
    zones = dict(zip(airports["faa"], airports["tzone"], strict=True))
    zones |= {"SJU": "America/Puerto_Rico", "BQN": "America/Puerto_Rico",
              "STT": "America/St_Thomas", "PSE": "America/Puerto_Rico"}  # fmt: skip
    local = [
        arrival.tz_convert(zones[dest])
        for arrival, dest in zip(history["arrival"], arrived["dest"], strict=True)
    ]
    hhmm = pd.Series([t.hour * 100 + t.minute for t in local], index=arrived.index)
    assert (hhmm == arrived["arr_time"] % 2400).all()
