"""Features of the flights in a request: lookups from the online store, then the same
`compute_features` the offline training table ran."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from feature_definitions.features import REQUEST_COLUMNS, compute_features
from feature_definitions.instants import scheduled_departure
from online_store.store import OnlineStore
from serve.schema import Flight


class UnknownDestination(ValueError):
    pass


def check_destinations(flights: Sequence[Flight], store: OnlineStore) -> None:
    """Raise UnknownDestination naming the first flight whose destination the store lacks (its
    arrival could not be placed in time)."""
    for position, flight in enumerate(flights):
        if flight.dest not in store.airports:
            raise UnknownDestination(f"flights.{position}.dest: unknown airport {flight.dest!r}")


def online_features(flights: pd.DataFrame, store: OnlineStore) -> pd.DataFrame:
    """FEATURE_COLUMNS for each row of `flights` (REQUEST_COLUMNS), on its index."""
    departure = scheduled_departure(flights["time_hour"], flights["sched_dep_time"])
    lookups = store.lookups(flights, departure)
    return compute_features(flights[list(REQUEST_COLUMNS)], lookups, store.window)
