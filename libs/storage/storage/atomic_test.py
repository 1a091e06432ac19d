from pathlib import Path

import fsspec
import pytest

from storage.atomic import (
    atomic_output,
    atomic_write_text,
    staged_directory,
    write_bytes_atomically,
)


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


def test_staged_directory_replaces_the_whole_tree(tmp_path: Path) -> None:
    target = tmp_path / "curated"
    (target / "old").mkdir(parents=True)
    (target / "old" / "stale.parquet").write_text("old")
    with staged_directory(target) as staging:
        (staging / "flights").mkdir()
        (staging / "flights" / "2013-01.parquet").write_text("new")
    assert sorted(str(p.relative_to(target)) for p in target.rglob("*")) == [
        "flights",
        "flights/2013-01.parquet",
    ]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


def test_a_failed_staged_directory_leaves_the_old_tree(tmp_path: Path) -> None:
    target = tmp_path / "curated"
    target.mkdir()
    (target / "kept.parquet").write_text("old")
    with pytest.raises(RuntimeError), staged_directory(target) as staging:
        (staging / "half.parquet").write_text("half")
        raise RuntimeError("killed mid-run")
    assert [p.name for p in target.iterdir()] == ["kept.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


@pytest.mark.parametrize("scheme", ["local", "memory"])
def test_write_bytes_atomically_to_a_path_or_url(tmp_path: Path, scheme: str) -> None:
    url = f"memory://landing-{tmp_path.name}" if scheme == "memory" else str(tmp_path)
    write_bytes_atomically(f"{url}/flights/2013-01-01.csv", b"a,b\n1,2\n")
    fs, root = fsspec.core.url_to_fs(url)
    assert fs.cat_file(f"{root}/flights/2013-01-01.csv") == b"a,b\n1,2\n"
    assert [p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/flights", detail=False)] == [
        "2013-01-01.csv"
    ]
