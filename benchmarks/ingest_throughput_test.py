import subprocess
from typing import Any

import pytest

from benchmarks import ingest_throughput
from contracts.tables import CURATED_TABLES
from ingest.upstream import TABLE_FILES


def test_the_tables_offered_are_those_ingest_lands_and_curates() -> None:
    assert tuple(CURATED_TABLES) == ingest_throughput.TABLES
    assert set(ingest_throughput.TABLES) <= set(TABLE_FILES)


def test_a_table_ingest_does_not_curate_is_refused_by_name_before_any_build(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Before, it was landed and curated after the build, and the error the ingest PEX gave was
    # captured and dropped: a bare CalledProcessError.
    def no_work(*args: Any, **kwargs: Any) -> None:
        raise AssertionError("the benchmark started")

    monkeypatch.setattr(subprocess, "run", no_work)
    with pytest.raises(SystemExit) as exited:
        ingest_throughput.main(["--tables", "flights", "airlines"])
    assert exited.value.code == 2
    assert "argument --tables: invalid choice: 'airlines'" in capsys.readouterr().err
