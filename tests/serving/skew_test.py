"""Training/serving skew: for every flight of the test split, the features serving computes from
the online store equal the features of the offline training table, value for value: both the
reference path (compute_features on the store's lookups) and the fast path the service runs."""

import pandas as pd

from feature_definitions.features import FEATURE_COLUMNS
from online_store.store import OnlineStore
from serve.online_features import flight_features, online_features
from serve.schema import Flight, flights_frame
from tests.serving.conftest import World
from tests.serving.harness import as_request, request_flights


def test_online_features_equal_offline_features_exactly(world: World) -> None:
    offline = pd.read_parquet(world.features / "test.parquet")
    # The way a request arrives: JSON fields, validated, then the request frame.
    flights = [
        Flight.model_validate(f) for f in as_request(request_flights(world.features, world.curated))
    ]
    store = OnlineStore(world.store)
    online = online_features(flights_frame(flights), store)
    served = flight_features(flights, store)
    store.close()
    expected = offline[list(FEATURE_COLUMNS)].reset_index(drop=True)
    assert len(online) == len(expected) > 1000
    pd.testing.assert_frame_equal(online.reset_index(drop=True), expected, check_exact=True)
    pd.testing.assert_frame_equal(served, expected, check_exact=True)
    # The history features are not trivially zero: the window reaches into earlier splits.
    assert (online["carrier_trailing_flights"] > 0).all()
