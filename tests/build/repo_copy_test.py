"""RepoCopy.of_files: the copy the DVC pipeline test runs in is exactly the files it names."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.build.repo_copy import RepoCopy


def test_named_files_and_every_file_in_named_directories_are_copied_and_committed(
    tmp_path: Path,
) -> None:
    source = tmp_path / "source"
    for name in ("dvc.yaml", "services/a/a/run.py", "services/a/a/sub/x.json", "other.txt"):
        (source / name).parent.mkdir(parents=True, exist_ok=True)
        (source / name).write_text(name)
    copy = RepoCopy.of_files(source, ["dvc.yaml", "services"], tmp_path / "copy")
    committed = copy.git("ls-files").split()
    assert committed == ["dvc.yaml", "services/a/a/run.py", "services/a/a/sub/x.json"]
    assert (copy.root / "services/a/a/sub/x.json").read_text() == "services/a/a/sub/x.json"
    assert copy.git("status", "--porcelain") == ""


def test_a_name_with_nothing_at_it_is_an_error_not_a_smaller_copy(tmp_path: Path) -> None:
    source = tmp_path / "source"
    source.mkdir()
    (source / "dvc.yaml").write_text("stages: {}\n")
    with pytest.raises(FileNotFoundError, match="params.yaml is not in .*source: the copy"):
        RepoCopy.of_files(source, ["dvc.yaml", "params.yaml"], tmp_path / "copy")
