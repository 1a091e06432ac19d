"""Atomic output: readers see the old content or the complete new one, never a partial write."""

from __future__ import annotations

import errno
import fcntl
import math
import os
import secrets
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

LOCK_POLL_SECONDS = 0.1
# A swap is a few renames and the removal of the tree it replaced, which may be large.
SWAP_LOCK_TIMEOUT_SECONDS = 600.0
# Tries at a fresh name for a temporary beside the target before giving up.
NAME_TRIES = 100
# Errors only a write can raise: the filesystem is full or over quota, or a file is over this
# process's size limit (RLIMIT_FSIZE).
NO_ROOM = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EFBIG})


class OutputWriteError(OSError):
    """An output could not be written whole; the message names it and why. What it replaces is
    left as it was, and no partial file is left beside it."""

    @classmethod
    def of(cls, target: str | os.PathLike[str], why: str) -> OutputWriteError:
        return cls(f"cannot write {target}: {why}; {target} is left as it was")


@contextmanager
def naming_no_room(target: str | os.PathLike[str]) -> Iterator[None]:
    """An error of the NO_ROOM kind in the block raised as an OutputWriteError naming `target`:
    its own message names whichever temporary file the write was in, or none (pyarrow's). The
    writers below use it; so may a library's writer that leaves `target` as it was on failure."""
    try:
        yield
    except OSError as error:
        if error.errno not in NO_ROOM:
            raise
        raise OutputWriteError.of(target, os.strerror(error.errno)) from error


@contextmanager
def atomic_output(path: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`,
    and the directory fsynced, so that the rename survives a crash too.

    On any exception the temporary file is removed and `path` is left as it was; a write that
    finds no room is an OutputWriteError naming `path`.
    """
    with _written_beside(path, os.replace) as tmp:
        yield tmp


@contextmanager
def atomic_create(path: str | os.PathLike[str]) -> Iterator[Path]:
    """As atomic_output, but `path` is only ever created: the written file is hard-linked to
    `path`, which fails with FileExistsError if anything is there, even when another writer
    links its own in between (a check before an atomic_output could not tell). The first
    writer's file stays whole; a later one's is removed, and `path` left as it was. A directory
    at `path` is an IsADirectoryError naming it."""
    with _written_beside(path, _link_new) as tmp:
        yield tmp


def _link_new(written: Path, target: Path) -> None:
    try:
        os.link(written, target)
    except FileExistsError:
        # Else the caller reads a directory in the way as a file created already.
        if target.is_dir():
            raise IsADirectoryError(
                f"cannot create {target}: a directory is in the way; nothing is written"
            ) from None
        raise


@contextmanager
def _written_beside(
    path: str | os.PathLike[str], put: Callable[[Path, Path], None]
) -> Iterator[Path]:
    """A temporary file beside `path`, fsynced once written and then `put` (renamed or linked)
    at `path`, the directory fsynced; the temporary file removed in any case."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = _create_in(target.parent, f".{target.name}.", ".tmp", _new_file)
    try:
        with naming_no_room(target):
            yield tmp
            with open(tmp, "rb") as written:
                os.fsync(written.fileno())
            put(tmp, target)
            _fsync_directory(target.parent)
    finally:
        tmp.unlink(missing_ok=True)


def atomic_write_text(path: str | os.PathLike[str], text: str) -> None:
    with atomic_output(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


@contextmanager
def staged_directory(target: str | os.PathLike[str]) -> Iterator[Path]:
    """Yield an empty directory beside `target`; on success it replaces `target` whole.

    Readers see the old tree or the new one, never a mix: the new tree is built aside, then
    `replace_directory` swaps it in. On any exception the staged tree is removed and `target`
    is left as it was; a write that finds no room is an OutputWriteError naming `target`.
    """
    final = Path(target)
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = _create_in(final.parent, f".{final.name}.staging-", "", lambda p: p.mkdir(0o777))
    try:
        with naming_no_room(final):
            yield staging
            replace_directory(staging, final)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def _new_file(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o666))


def _create_in(directory: Path, prefix: str, suffix: str, create: Callable[[Path], None]) -> Path:
    """A new file or directory in `directory` named `<prefix><random><suffix>`, as mkstemp and
    mkdtemp name theirs (`create` makes it, failing if the name is taken). Made as open() and
    mkdir() make them, the umask deciding its mode, so the output is as readable as any other
    file: mkstemp and mkdtemp make 0600 and 0700, which another user (a container's service
    user reading a mounted volume) cannot read."""
    for _ in range(NAME_TRIES):
        candidate = directory / f"{prefix}{secrets.token_hex(6)}{suffix}"
        try:
            create(candidate)
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"no free name {prefix}*{suffix} in {directory} after {NAME_TRIES} tries")


def replace_directory(staged: Path, target: Path) -> None:
    """Move the tree `staged` onto `target` (a sibling), durably.

    Every staged file and directory is fsynced first, so that after a crash the new tree is
    complete, never a set of names with empty files. Two renames swap it in (between them
    `target` is briefly absent, never partial); if the second fails the old tree is renamed
    back. The parent is fsynced last, so the renames themselves survive a crash. Swaps onto
    one target take turns (`swap_lock`, removed again after each): each writer's tree arrives
    whole, the last one stays.
    """
    _fsync_tree(staged)
    retired = target.with_name(f".{target.name}.retired")
    # Two writers of one output (two runs of a stage at once) would otherwise interleave their
    # renames, one finding `target` gone or `retired` taken, and fail with a bare OSError.
    with _turn(swap_lock(target), timeout=SWAP_LOCK_TIMEOUT_SECONDS):
        shutil.rmtree(retired, ignore_errors=True)
        had_target = target.exists()
        if had_target:
            os.replace(target, retired)
        try:
            os.replace(staged, target)
        except BaseException:
            if had_target:
                os.replace(retired, target)
            raise
        finally:
            _fsync_directory(target.parent)
        shutil.rmtree(retired, ignore_errors=True)


def swap_lock(target: Path) -> Path:
    """The lock file beside `target` that a swap onto it holds: a regular file, as NFS (EFS, the
    pipeline's shared volume) locks only files opened for writing, not directories."""
    return target.with_name(f".{target.name}.swap.lock")


@contextmanager
def _turn(lock: Path, *, timeout: float) -> Iterator[None]:
    """Hold the lock file `lock` for the block, then remove it, so that nothing is left beside
    the output. A waiter that gets the lock on a file its holder has since removed tries again
    on whatever is at `lock` now. TimeoutError naming it after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if not _flock_before(fd, deadline):
                raise TimeoutError(
                    f"{lock} is held by another writer of the same output; gave up after "
                    f"waiting {timeout:g} s"
                )
            if _is_at(fd, lock):
                break
        except BaseException:
            os.close(fd)
            raise
        os.close(fd)
    try:
        yield
    finally:
        os.unlink(lock)  # while still held: a waiter on this file then sees it gone
        os.close(fd)


def _flock_before(fd: int, deadline: float) -> bool:
    """Take an exclusive flock on `fd`, polling until `deadline` (time.monotonic()); whether it
    was taken."""
    while True:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            if time.monotonic() >= deadline:
                return False
            time.sleep(LOCK_POLL_SECONDS)


def _is_at(fd: int, path: Path) -> bool:
    """Whether the open file `fd` is the one at `path`."""
    try:
        at = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (at.st_dev, at.st_ino) == (held.st_dev, held.st_ino)


def _fsync_tree(root: Path) -> None:
    for directory, _, files in os.walk(root, topdown=False):
        for name in files:
            with open(os.path.join(directory, name), "rb") as handle:
                os.fsync(handle.fileno())
        _fsync_directory(Path(directory))


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextmanager
def exclusive_lock(path: str | os.PathLike[str], *, timeout: float) -> Iterator[None]:
    """Hold an exclusive lock on the file `path` (created if absent, never removed) for the
    block, so that two processes writing the same output run one after the other. Waits up to
    `timeout` seconds for another holder; then raises TimeoutError naming the lock and its holder.
    The lock is released when the block ends or the process dies."""
    if not 0 <= timeout < math.inf:  # NaN fails too: it would wait forever
        raise ValueError(f"lock timeout {timeout!r} is not a finite number of seconds >= 0")
    lock = Path(path)
    lock.parent.mkdir(parents=True, exist_ok=True)
    with open(lock, "a+") as handle:
        if not _flock_before(handle.fileno(), time.monotonic() + timeout):
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            raise TimeoutError(
                f"{lock} is held by {holder}: another run is writing the same output; "
                f"gave up after waiting {timeout:g} s"
            )
        try:
            handle.truncate(0)
            handle.write(f"pid {os.getpid()}\n")
            handle.flush()
            yield
        finally:
            # Unnamed again before release: a later holder that writes no name (another tool's
            # flock) must not be reported as this process.
            handle.truncate(0)
            handle.flush()
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
