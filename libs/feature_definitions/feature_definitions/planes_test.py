import pandas as pd
import pytest

from feature_definitions.errors import FeatureInputError
from feature_definitions.planes import PLANE_FILLS, plane_features

PLANES = pd.DataFrame(
    {
        "tailnum": ["N14228", "N24211", "N10156", "NEW1"],
        "year": [1999, None, 2004, 2014],
        "seats": [149, 55, 55, 200],
        "engines": [2, 2, 2, 4],
    }
).astype({"year": "Int64"})


def test_known_unknown_and_missing_tail_numbers() -> None:
    tailnum = pd.Series(["N14228", "N999ZZ", None, "N24211", "NEW1"], dtype="string")
    features = plane_features(tailnum, pd.Series([2013] * 5), PLANES)
    assert features.to_dict("list") == {
        "plane_known": [1, 0, 0, 1, 1],
        # A known plane without a year gets the fill; a plane built after the flight's year, 0.
        "plane_age": [14, PLANE_FILLS["plane_age"], PLANE_FILLS["plane_age"],
                      PLANE_FILLS["plane_age"], 0],
        "seats": [149, PLANE_FILLS["seats"], PLANE_FILLS["seats"], 55, 200],
        "engines": [2, PLANE_FILLS["engines"], PLANE_FILLS["engines"], 2, 4],
    }  # fmt: skip


def test_age_is_counted_from_the_flights_year() -> None:
    features = plane_features(pd.Series(["N10156", "N10156"]), pd.Series([2013, 2020]), PLANES)
    assert features["plane_age"].tolist() == [9, 16]


def test_duplicate_tail_numbers_are_rejected() -> None:
    with pytest.raises(FeatureInputError, match="1 duplicate tail numbers, e.g. N14228"):
        plane_features(pd.Series(["N14228"]), pd.Series([2013]), pd.concat([PLANES, PLANES[:1]]))


def test_about_a_sixth_of_real_flights_fly_an_unknown_plane(
    first_ten_days: dict[str, pd.DataFrame],
) -> None:
    flights = first_ten_days["flights"]
    features = plane_features(flights["tailnum"], flights["year"], first_ten_days["planes"])
    assert 0.7 < features["plane_known"].mean() < 0.95
    assert features.notna().all().all()
