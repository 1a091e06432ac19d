from pathlib import Path

import pytest

from storage.atomic import atomic_output, atomic_write_text


def test_atomic_write_text_replaces_the_file(tmp_path: Path) -> None:
    target = tmp_path / "nested" / "report.json"
    atomic_write_text(target, "old")
    atomic_write_text(target, "new")
    assert target.read_text() == "new"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_failed_write_leaves_the_old_file_and_no_temporary(tmp_path: Path) -> None:
    target = tmp_path / "table.parquet"
    target.write_text("complete old content")
    with pytest.raises(RuntimeError), atomic_output(target) as tmp:
        tmp.write_text("half of the new")
        raise RuntimeError("killed mid-write")
    assert target.read_text() == "complete old content"
    assert [p.name for p in tmp_path.iterdir()] == ["table.parquet"]
