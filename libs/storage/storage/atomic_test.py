import fcntl
import math
import multiprocessing
import os
import stat
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Barrier
from pathlib import Path

import fsspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage import atomic
from storage.atomic import (
    OutputWriteError,
    atomic_create,
    atomic_output,
    atomic_write_text,
    exclusive_lock,
    staged_directory,
)
from storage.remote import StorageError, write_bytes_atomically
from storage.testing import file_size_limit


@contextmanager
def umask(mask: int) -> Iterator[None]:
    """This process's umask set to `mask`, and the one before put back."""
    before = os.umask(mask)
    try:
        yield
    finally:
        os.umask(before)


@settings(max_examples=50)
# The owner keeps full access, or nothing could be written or listed.
@given(mask=st.integers(0, 0o077))
def test_outputs_have_the_mode_plain_creation_gives_whatever_the_umask(mask: int) -> None:
    with tempfile.TemporaryDirectory() as directory, umask(mask):
        root = Path(directory)
        atomic_write_text(root / "report.json", "{}")
        with staged_directory(root / "features") as staging:
            (staging / "stats.json").write_text("{}")
        plain = root / "plain"
        plain.mkdir()
        (plain / "file").write_text("")

        assert mode(root / "report.json") == mode(plain / "file") == 0o666 & ~mask
        assert mode(root / "features") == mode(plain) == 0o777 & ~mask


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


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


def test_a_write_with_no_room_names_the_output_and_leaves_the_old_one(tmp_path: Path) -> None:
    file, tree = tmp_path / "report.json", tmp_path / "features"
    file.write_text("old report")
    tree.mkdir()
    (tree / "kept.parquet").write_text("old tree")
    with file_size_limit(1024):
        with pytest.raises(OutputWriteError) as failed_file:
            atomic_write_text(file, "x" * 4096)
        with pytest.raises(OutputWriteError) as failed_tree, staged_directory(tree) as staging:
            (staging / "train.parquet").write_bytes(b"x" * 4096)
    assert (
        str(failed_file.value) == f"cannot write {file}: File too large; {file} is left as it was"
    )
    assert (
        str(failed_tree.value) == f"cannot write {tree}: File too large; {tree} is left as it was"
    )
    assert file.read_text() == "old report"
    assert [p.name for p in tree.iterdir()] == ["kept.parquet"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features", "report.json"]


def test_other_errors_in_a_write_are_raised_as_they_are(tmp_path: Path) -> None:
    # Only the kinds a write alone can raise are named as the output's: the block may read too.
    with pytest.raises(FileNotFoundError), atomic_output(tmp_path / "out") as tmp:
        tmp.write_text((tmp_path / "missing input").read_text())


@pytest.mark.parametrize("scheme", ["local", "memory"])
def test_write_bytes_atomically_to_a_path_or_url(tmp_path: Path, scheme: str) -> None:
    url = f"memory://landing-{tmp_path.name}" if scheme == "memory" else str(tmp_path)
    write_bytes_atomically(f"{url}/flights/2013-01-01.csv", b"a,b\n1,2\n")
    fs, root = fsspec.core.url_to_fs(url)
    assert fs.cat_file(f"{root}/flights/2013-01-01.csv") == b"a,b\n1,2\n"
    assert [p.rsplit("/", 1)[-1] for p in fs.ls(f"{root}/flights", detail=False)] == [
        "2013-01-01.csv"
    ]


def test_a_write_that_fails_half_way_leaves_the_old_file_and_no_partial_one(
    tmp_path: Path,
) -> None:
    # Before, the partial object stayed beside the file: one more after each failed run.
    target = tmp_path / "flights" / "2013-01-01.csv"
    write_bytes_atomically(str(target), b"old")
    failure = pytest.raises(StorageError, match=f"cannot write {target}: .*File too large")
    with failure, file_size_limit(1024):
        write_bytes_atomically(str(target), b"x" * 4096)
    assert [p.name for p in target.parent.iterdir()] == [target.name]
    assert target.read_bytes() == b"old"


def test_a_failed_second_rename_puts_the_old_tree_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "curated"
    target.mkdir()
    (target / "kept.parquet").write_text("old")
    renames: list[str] = []
    real_replace = os.replace

    def second_rename_fails(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
        renames.append(Path(source).name)
        if len(renames) == 2:
            raise OSError("disk full")
        real_replace(source, dest)

    monkeypatch.setattr(os, "replace", second_rename_fails)
    with pytest.raises(OSError, match="disk full"), staged_directory(target) as staging:
        (staging / "new.parquet").write_text("new")
    assert [p.name for p in target.iterdir()] == ["kept.parquet"]
    assert (target / "kept.parquet").read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


def _write_trees(target: Path, writer: int, trees: int) -> None:
    """Swap in `trees` trees onto `target`, each two files naming this writer and the tree."""
    for tree in range(trees):
        with staged_directory(target) as staging:
            for part in ("a", "b"):
                (staging / part).write_text(f"{writer}/{tree}")


def test_writers_of_one_output_at_once_take_turns_and_each_tree_arrives_whole(
    tmp_path: Path,
) -> None:
    # Two runs of one stage at once: unserialised, their renames interleaved and about one swap
    # in five failed with a bare OSError (target gone, or the retired name taken).
    target = tmp_path / "features"
    context = multiprocessing.get_context("fork")
    writers = [
        context.Process(target=_write_trees, args=(target, writer, 100)) for writer in range(4)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
    assert [process.exitcode for process in writers] == [0, 0, 0, 0]
    parts = {p.name: p.read_text() for p in target.iterdir()}
    assert parts.keys() == {"a", "b"} and parts["a"] == parts["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features"]


def test_a_created_file_is_never_replaced(tmp_path: Path) -> None:
    target = tmp_path / "stats.json"
    with atomic_create(target) as part:
        part.write_text("first")
    with pytest.raises(FileExistsError), atomic_create(target) as part:
        part.write_text("second")
    assert target.read_text() == "first"
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]


def test_a_directory_where_a_file_is_to_be_created_is_named_and_nothing_is_written(
    tmp_path: Path,
) -> None:
    # Before, the FileExistsError of a name taken: its caller read it as a file already there.
    target = tmp_path / "stats.json"
    target.mkdir()
    with pytest.raises(IsADirectoryError) as raised, atomic_create(target) as part:
        part.write_text("new")
    assert str(raised.value) == (
        f"cannot create {target}: a directory is in the way; nothing is written"
    )
    assert [p.name for p in tmp_path.iterdir()] == ["stats.json"]
    assert not any(target.iterdir())


def _create_files(root: Path, writer: int, count: int, start: Barrier) -> None:
    won = []
    for number in range(count):
        start.wait()
        try:
            with atomic_create(root / str(number)) as part:
                part.write_text(f"{writer}\n" * 1000)
        except FileExistsError:
            continue
        won.append(number)
    (root / f"won-{writer}").write_text(" ".join(map(str, won)))


def test_creators_of_one_file_at_once_leave_exactly_one_whole_file(tmp_path: Path) -> None:
    # A check for the file, then an atomic_output, would let two writers both pass the check.
    files = tmp_path / "files"
    files.mkdir()
    context = multiprocessing.get_context("fork")
    start = context.Barrier(3)
    writers = [
        context.Process(target=_create_files, args=(files, writer, 50, start))
        for writer in range(3)
    ]
    for process in writers:
        process.start()
    for process in writers:
        process.join(timeout=120)
    assert [process.exitcode for process in writers] == [0, 0, 0]
    winners: dict[str, int] = {}
    for writer in range(3):
        for number in (files / f"won-{writer}").read_text().split():
            assert number not in winners, f"{number} was created by {winners[number]} and {writer}"
            winners[number] = writer
    assert sorted(map(int, winners)) == list(range(50))
    for number, writer in winners.items():
        assert (files / number).read_text() == f"{writer}\n" * 1000
    assert not [p.name for p in files.iterdir() if p.name.startswith(".")]


def test_a_swap_waits_for_the_lock_beside_its_output_and_names_it_when_it_gives_up(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "features"
    target.mkdir()
    (target / "kept.parquet").write_text("old")
    monkeypatch.setattr(atomic, "SWAP_LOCK_TIMEOUT_SECONDS", 0.2)
    lock = atomic.swap_lock(target)
    # Another writer in the middle of its swap (a plain flock, as on NFS: a writable file).
    with open(lock, "a+") as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        with (
            pytest.raises(TimeoutError, match=f"{lock} is held by another writer.*0.2 s"),
            staged_directory(target) as staging,
        ):
            (staging / "new.parquet").write_text("new")
    assert [p.name for p in target.iterdir()] == ["kept.parquet"]
    with staged_directory(target) as staging:  # released: the swap goes through
        (staging / "new.parquet").write_text("new")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["features"]


@pytest.fixture
def syncs(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """What this test's writes sync and rename, in order: "fsync <name of the file or
    directory>", "rename". No test can cut the power; the order is what makes it survivable."""
    events: list[str] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        events.append("fsync " + os.path.basename(os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(source: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
        events.append("rename")
        real_replace(source, dest)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    return events


def test_a_file_is_fsynced_before_its_rename_and_its_directory_after(
    tmp_path: Path, syncs: list[str]
) -> None:
    # Before, the directory was not: after a crash the rename could be lost.
    atomic_write_text(tmp_path / "out.json", "{}")
    (synced_file, rename, synced_directory) = syncs
    assert synced_file.startswith("fsync .out.json.") and rename == "rename"
    assert synced_directory == f"fsync {tmp_path.name}"


def test_a_local_write_through_fsspec_is_as_durable_as_atomic_output(
    tmp_path: Path, syncs: list[str]
) -> None:
    # Before, fsspec's pipe_file and mv fsynced neither the file nor the directory.
    write_bytes_atomically(str(tmp_path / "2013-01-01.csv"), b"a,b\n")
    (synced_file, rename, synced_directory) = syncs
    assert synced_file.startswith("fsync .2013-01-01.csv.") and rename == "rename"
    assert synced_directory == f"fsync {tmp_path.name}"
    assert (tmp_path / "2013-01-01.csv").read_bytes() == b"a,b\n"


def test_staged_files_and_directories_are_fsynced_before_the_swap_and_the_parent_after(
    tmp_path: Path, syncs: list[str]
) -> None:
    events = syncs
    target = tmp_path / "curated"
    with staged_directory(target) as staging:
        (staging / "flights").mkdir()
        (staging / "flights" / "2013-01.parquet").write_text("new")
    swap = events.index("rename")
    before = events[:swap]
    assert "fsync 2013-01.parquet" in before and "fsync flights" in before
    assert any(event.startswith("fsync .curated.staging-") for event in before)
    assert events[swap + 1 :] == [f"fsync {tmp_path.name}"]


def test_a_held_lock_makes_the_second_holder_give_up_naming_it(tmp_path: Path) -> None:
    lock = tmp_path / ".curated.lock"
    with (
        exclusive_lock(lock, timeout=0),
        pytest.raises(TimeoutError, match=f"{lock} is held by pid {os.getpid()}.*0.2 s"),
        exclusive_lock(lock, timeout=0.2),
    ):
        pass
    with exclusive_lock(lock, timeout=0):  # released: free again
        pass


def test_a_holder_that_writes_no_name_is_not_taken_for_an_earlier_one(tmp_path: Path) -> None:
    lock = tmp_path / ".curated.lock"
    with exclusive_lock(lock, timeout=0):
        pass
    # Another tool holds it with a plain flock, writing nothing.
    with open(lock) as other:
        fcntl.flock(other.fileno(), fcntl.LOCK_EX)
        with (
            pytest.raises(TimeoutError, match=f"{lock} is held by another process"),
            exclusive_lock(lock, timeout=0),
        ):
            pass


@pytest.mark.parametrize("timeout", [-1.0, math.nan, math.inf])
def test_a_lock_timeout_that_is_not_a_finite_wait_is_refused(
    tmp_path: Path, timeout: float
) -> None:
    with (
        pytest.raises(ValueError, match=f"lock timeout {timeout!r} is not a finite"),
        exclusive_lock(tmp_path / ".lock", timeout=timeout),
    ):
        pass
    assert not (tmp_path / ".lock").exists()
