"""An error the service finds itself is a pydantic validation error, answered in the shape of
every other 400, and an unknown destination names every flight that has one."""

from __future__ import annotations

from pathlib import Path

import pytest

from online_store.store import OnlineStore
from serve.errors import error_body, request_error
from serve.limits import LARGEST_FLIGHT
from serve.online_features import UnknownDestination, check_destinations
from serve.schema import Flight
from serve.testing import write_empty_store


def test_a_request_error_is_answered_as_pydantic_errors_are() -> None:
    error = request_error(
        [(("flights", 1, "dest"), "unknown_airport", "unknown airport '{X}'"), ((), "x", "y")]
    )
    assert error_body(error) == {
        "error": "2 validation error for PredictRequest",
        "detail": [
            {
                "type": "unknown_airport",
                "loc": ("flights", 1, "dest"),
                "msg": "unknown airport '{X}'",
            },
            {"type": "x", "loc": (), "msg": "y"},
        ],
    }


def test_every_unknown_destination_is_named(tmp_path: Path) -> None:
    # The store knows no airport: every destination is unknown.
    store = OnlineStore(write_empty_store(tmp_path / "online.sqlite"))
    flights = [Flight(**{**LARGEST_FLIGHT, "dest": dest}) for dest in ("XYZ", "IAH")]
    with pytest.raises(UnknownDestination) as error:
        check_destinations(flights, store)
    assert error.value.unknown == [(0, "XYZ"), (1, "IAH")]
    assert str(error.value) == (
        "flights.0.dest: unknown airport 'XYZ', flights.1.dest: unknown airport 'IAH'"
    )
