import numpy as np
import pandas as pd
import pytest

from feature_definitions.errors import FeatureInputError
from feature_definitions.features import (
    FEATURE_COLUMNS,
    FEATURE_KINDS,
    REQUEST_COLUMNS,
    Lookups,
    check_complete,
    compute_features,
)

# The window the tests' histories use; params.yaml's features.window_days is the pipeline's.
WINDOW = pd.Timedelta(days=7)


@pytest.fixture(scope="module")
def offline(
    first_ten_days: dict[str, pd.DataFrame], arrivals: tuple[pd.DataFrame, pd.DataFrame]
) -> tuple[pd.DataFrame, Lookups, pd.DataFrame]:
    """What the feature service does: features of every arrived flight of the ten days."""
    arrived, events = arrivals
    lookups = Lookups(
        weather=first_ten_days["weather"], planes=first_ten_days["planes"], events=events
    )
    return arrived, lookups, compute_features(arrived, lookups, WINDOW)


def test_every_declared_feature_once_in_order_with_its_kind(
    offline: tuple[pd.DataFrame, Lookups, pd.DataFrame],
) -> None:
    _, _, features = offline
    assert list(features.columns) == list(FEATURE_COLUMNS)
    assert len(set(FEATURE_COLUMNS)) == len(FEATURE_COLUMNS) == 26
    categorical = [name for name, kind in FEATURE_KINDS.items() if kind == "categorical"]
    assert categorical == ["carrier", "origin", "dest"]
    for name, kind in FEATURE_KINDS.items():
        numeric = pd.api.types.is_numeric_dtype(features[name])
        assert numeric == (kind == "numeric"), name


def test_real_flights_get_no_missing_or_infinite_feature(
    offline: tuple[pd.DataFrame, Lookups, pd.DataFrame],
) -> None:
    arrived, _, features = offline
    assert len(features) == len(arrived)
    numeric = features[[n for n, k in FEATURE_KINDS.items() if k == "numeric"]]
    assert np.isfinite(numeric.to_numpy(dtype="float64")).all()
    assert features.notna().all().all()
    # The fills were needed: some planes are unknown.
    assert 0 < features["plane_known"].mean() < 1


def test_a_request_gets_the_same_features_as_the_offline_table(
    offline: tuple[pd.DataFrame, Lookups, pd.DataFrame],
) -> None:
    arrived, lookups, features = offline
    # Flights late in the window (full history), one with an unknown plane, as JSON sends them.
    late = arrived[arrived["day"] >= 8]
    unknown_plane = late.index[features.loc[late.index, "plane_known"] == 0][0]
    rows = [late.index[0], late.index[-1], unknown_plane]
    request = pd.DataFrame(
        [
            {
                "time_hour": arrived.loc[row, "time_hour"].isoformat(),
                "sched_dep_time": int(arrived.loc[row, "sched_dep_time"]),
                "carrier": str(arrived.loc[row, "carrier"]),
                "origin": str(arrived.loc[row, "origin"]),
                "dest": str(arrived.loc[row, "dest"]),
                "distance": int(arrived.loc[row, "distance"]),
                "tailnum": None if pd.isna(arrived.loc[row, "tailnum"])
                else str(arrived.loc[row, "tailnum"]),
            }
            for row in rows
        ]
    )  # fmt: skip
    online = compute_features(request, lookups, WINDOW)
    pd.testing.assert_frame_equal(
        online, features.loc[rows].reset_index(drop=True), check_dtype=False
    )


def test_a_missing_request_column_is_named(
    offline: tuple[pd.DataFrame, Lookups, pd.DataFrame],
) -> None:
    arrived, lookups, _ = offline
    with pytest.raises(FeatureInputError, match="flights lack column\\(s\\) distance"):
        compute_features(arrived.drop(columns=["distance"]), lookups, WINDOW)
    assert set(REQUEST_COLUMNS) <= set(arrived.columns)


def test_a_missing_required_value_is_named_but_a_missing_tail_number_is_not_an_error(
    offline: tuple[pd.DataFrame, Lookups, pd.DataFrame],
) -> None:
    arrived, lookups, _ = offline
    holed = arrived.head(3).astype({"dest": "string"})
    holed.loc[holed.index[1], "dest"] = None
    with pytest.raises(FeatureInputError, match="dest is missing in 1 row"):
        compute_features(holed, lookups, WINDOW)
    no_tail = arrived.head(3).astype({"tailnum": "string"})
    no_tail["tailnum"] = pd.NA
    assert compute_features(no_tail, lookups, WINDOW)["plane_known"].tolist() == [0, 0, 0]


def test_a_lookup_without_a_needed_column_is_named(
    offline: tuple[pd.DataFrame, Lookups, pd.DataFrame],
) -> None:
    arrived, lookups, _ = offline
    broken = Lookups(lookups.weather.drop(columns=["visib"]), lookups.planes, lookups.events)
    with pytest.raises(FeatureInputError, match="lookup weather lacks column\\(s\\) visib"):
        compute_features(arrived.head(3), broken, WINDOW)


def test_check_complete_names_each_bad_feature() -> None:
    features = pd.DataFrame({"temp": [1.0, np.nan], "pressure": [np.inf, 1.0], "dest": ["A", None]})
    with pytest.raises(FeatureInputError) as error:
        check_complete(features)
    assert str(error.value).endswith("temp (1 rows), pressure (1 rows), dest (1 rows)")
