import pytest

from contracts.airports import AIRPORTS
from contracts.table import apply_contract
from contracts.tables import CURATED_TABLES
from contracts.testing import landed_rows


def test_airports_are_curated_as_a_reference_table() -> None:
    assert CURATED_TABLES["airports"] is AIRPORTS
    assert AIRPORTS.natural_key == ("faa",) and not AIRPORTS.monthly


def test_a_good_row_is_typed_and_a_missing_time_zone_allowed() -> None:
    result = apply_contract(AIRPORTS, landed_rows(AIRPORTS, {}, {"faa": "EEN", "tzone": None}))
    assert result.valid.tolist() == [True, True]
    assert result.typed.loc[0, "alt"] == 97 and result.typed.loc[0, "lat"] == 29.984433


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"faa": "ia"}, "faa: str_matches("),
        ({"lat": "95"}, "lat: in_range(-90, 90)"),
        ({"tz": "-6.5"}, "tz: not an integer"),
        ({"dst": "X"}, "dst: isin("),
        ({"tzone": "Chicago time"}, "tzone: str_matches("),
    ],
)
def test_each_broken_rule_is_named(change: dict[str, str | None], reason: str) -> None:
    result = apply_contract(AIRPORTS, landed_rows(AIRPORTS, {}, change))
    assert result.valid.tolist() == [True, False]
    assert reason in result.reasons[1]
