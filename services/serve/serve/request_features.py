"""Features of flights in a request, computed by the same code as the offline training table."""

from __future__ import annotations

from typing import Any

import pandas as pd

from feature_definitions.calendar import calendar_features


class BadRequest(ValueError):
    """The request is malformed; the message names the offending field."""


def request_features(flights: list[dict[str, Any]]) -> list[dict[str, int]]:
    if not flights:
        raise BadRequest("flights: the list is empty")
    for position, flight in enumerate(flights):
        if "time_hour" not in flight:
            raise BadRequest(f"flights[{position}].time_hour: field required")
    times = pd.Series([flight["time_hour"] for flight in flights])
    try:
        features = calendar_features(times)
    except (ValueError, TypeError) as error:
        raise BadRequest(f"flights[].time_hour: not an ISO-8601 date and time ({error})") from None
    return [{str(k): int(v) for k, v in row.items()} for row in features.to_dict("records")]
