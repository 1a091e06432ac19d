import pytest

from serve.request_features import BadRequest, request_features


def test_features_of_each_flight_in_order() -> None:
    features = request_features(
        [{"time_hour": "2013-01-05T06:00:00"}, {"time_hour": "2013-07-01T17:00:00"}]
    )
    assert [f["day_of_week"] for f in features] == [5, 0]
    assert [f["dep_hour"] for f in features] == [6, 17]


@pytest.mark.parametrize(
    ("flights", "field"),
    [
        ([], "flights: the list is empty"),
        ([{"carrier": "UA"}], "flights[0].time_hour: field required"),
        ([{"time_hour": "yesterday"}], "flights[].time_hour: not an ISO-8601"),
    ],
)
def test_bad_requests_name_the_field(flights: list[dict[str, str]], field: str) -> None:
    with pytest.raises(BadRequest) as error:
        request_features(flights)
    assert str(error.value).startswith(field)
