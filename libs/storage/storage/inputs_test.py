from pathlib import Path

from storage.inputs import directory_problem, file_problem, lookup_problem
from storage.testing import name_too_long


def test_a_directory_has_no_problem(tmp_path: Path) -> None:
    assert directory_problem(tmp_path) is None


def test_a_missing_path_or_a_file_is_named_so(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    assert directory_problem(tmp_path / "nowhere") == "does not exist"
    assert directory_problem(tmp_path / "file") == "is not a directory"


def test_a_path_the_filesystem_cannot_look_up_is_named_with_why(tmp_path: Path) -> None:
    assert directory_problem(name_too_long(tmp_path)) == "cannot be looked up (File name too long)"


def test_a_look_up_fails_only_where_the_filesystem_cannot_answer(tmp_path: Path) -> None:
    assert lookup_problem(tmp_path / "nowhere") is None
    assert lookup_problem(tmp_path) is None
    assert lookup_problem(name_too_long(tmp_path)) == "cannot be looked up (File name too long)"


def test_a_file_has_no_problem_and_anything_else_is_named(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "link").symlink_to(tmp_path / "file")
    assert file_problem(tmp_path / "file") is None
    assert file_problem(tmp_path / "link") is None
    assert file_problem(tmp_path) == "is not a regular file"
    assert file_problem(tmp_path / "nowhere") == "does not exist"
    assert file_problem(name_too_long(tmp_path)) == "cannot be looked up (File name too long)"


def test_a_link_to_nothing_is_named_with_its_target(tmp_path: Path) -> None:
    (tmp_path / "dangling").symlink_to(tmp_path / "gone")
    expected = f"is a link to {tmp_path / 'gone'}, which does not exist"
    assert file_problem(tmp_path / "dangling") == expected
    assert directory_problem(tmp_path / "dangling") == expected


def test_a_path_through_a_file_or_a_link_loop_is_named_as_nothing_there(tmp_path: Path) -> None:
    (tmp_path / "file").write_text("")
    (tmp_path / "loop").symlink_to(tmp_path / "loop")
    assert lookup_problem(tmp_path / "file" / "under") is None
    assert file_problem(tmp_path / "file" / "under") == "does not exist"
    assert lookup_problem(tmp_path / "loop") is None
    assert directory_problem(tmp_path / "loop") == (
        f"is a link to {tmp_path / 'loop'}, which does not exist"
    )
