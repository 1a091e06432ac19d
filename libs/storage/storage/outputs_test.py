import os
import subprocess
import tempfile
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from storage.outputs import OutputError, check_output
from storage.testing import name_too_long


@pytest.mark.parametrize("output", ["", ".", "./", "/", "..", "data/..", "data/../.."])
def test_an_output_that_names_nothing_of_its_own_is_refused(output: str) -> None:
    with pytest.raises(OutputError, match=rf"--output {output!r} names no file or directory"):
        check_output(output, "--output")


@pytest.mark.parametrize(
    "output", ["s3://bucket/online.sqlite", "file:///tmp/out", "memory://out", "gs://b/"]
)
def test_an_output_given_as_a_url_is_refused(output: str) -> None:
    # Before, s3://bucket/x was taken as the local path s3:/bucket/x and the run wrote there.
    with pytest.raises(OutputError, match=rf"--output {output!r} is a URL, and this output"):
        check_output(output, "--output")


def test_an_output_that_is_an_input_inside_one_or_around_one_is_refused(tmp_path: Path) -> None:
    curated = tmp_path / "data" / "curated"
    curated.mkdir(parents=True)
    for output in [curated, curated / "flights", tmp_path / "data", tmp_path / "data" / "."]:
        with pytest.raises(OutputError, match=r"overlaps --curated .*choose an output outside"):
            check_output(output, "--output", inputs={"--curated": curated})
    # Through a link to it, too.
    (tmp_path / "link").symlink_to(curated)
    with pytest.raises(OutputError, match="overlaps --curated"):
        check_output(tmp_path / "link", "--output", inputs={"--curated": curated})
    beside = tmp_path / "data" / "features"
    assert check_output(beside, "--output", inputs={"--curated": curated}) == beside
    # A remote input is in another store: no local path overlaps it.
    assert check_output(beside, "--output", inputs={"--landing": "s3://bucket/data"}) == beside


# Paths made of a few names, so that drawn pairs often nest.
_PATHS = st.lists(st.sampled_from(["a", "b", "c"]), min_size=1, max_size=4)


@given(output=_PATHS, source=_PATHS)
def test_an_output_is_refused_exactly_when_it_nests_with_an_input(
    output: list[str], source: list[str]
) -> None:
    nested = output[: len(source)] == source or source[: len(output)] == output
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        (root / Path(*source)).mkdir(parents=True)
        try:
            check_output(root / Path(*output), "--output", inputs={"--input": root / Path(*source)})
        except OutputError as error:
            assert nested and "overlaps --input" in str(error), error
        else:
            assert not nested


def test_an_output_of_the_wrong_kind_is_refused_and_kept(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("keep me")
    with pytest.raises(OutputError, match=r"'.*notes' is not a directory, and this output is a"):
        check_output(tmp_path / "notes", "--output")
    (tmp_path / "store").mkdir()
    with pytest.raises(OutputError, match=r"'.*store' is a directory, and this output is a file"):
        check_output(tmp_path / "store", "--output", directory=False)
    assert (tmp_path / "notes").read_text() == "keep me"
    assert check_output(tmp_path / "notes", "--output", directory=False) == tmp_path / "notes"


def test_an_output_under_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "notes").write_text("keep me")
    with pytest.raises(OutputError, match=r"notes is not a directory"):
        check_output(tmp_path / "notes" / "features" / "x", "--output")


def test_an_output_where_this_user_cannot_write_is_refused(tmp_path: Path) -> None:
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    # Root may write whatever the mode says, not in an immutable directory.
    immutable = os.access(locked, os.W_OK) and _chattr("+i", locked)
    try:
        if os.access(locked, os.W_OK):
            pytest.skip("cannot make a directory this user may not write in")
        with pytest.raises(OutputError, match=r"this user cannot write in .*locked"):
            check_output(locked / "new" / "features", "--output")
    finally:
        if immutable:
            _chattr("-i", locked)
        locked.chmod(0o700)


def _chattr(flags: str, path: Path) -> bool:
    try:
        subprocess.run(["chattr", flags, str(path)], check=True, capture_output=True)
    except (OSError, subprocess.CalledProcessError):
        return False
    return True


def test_an_output_still_to_be_made_is_accepted(tmp_path: Path) -> None:
    output = tmp_path / "data" / "features"
    assert check_output(str(output), "--output") == output
    assert not output.exists()


@pytest.mark.parametrize("directory", [True, False])
def test_an_output_whose_name_the_filesystem_cannot_hold_is_refused(
    tmp_path: Path, directory: bool
) -> None:
    output = name_too_long(tmp_path) / "out"
    with pytest.raises(OutputError, match=r"--output '.*' cannot be written: File name too long"):
        check_output(output, "--output", directory=directory)
