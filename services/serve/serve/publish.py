"""Publishes a model's serving data where its serve tasks read it: the pipeline's online store and
training statistics (serve.sources.FILES, from a directory in the pipeline's layout) to the
serving-data location, with `{model_version}` replaced by that model's version. The deploy job
runs it before the rollout:

  ./pants run services/serve:serve -- publish --model flight-delay:<version> --to "$SERVING"

Everything is checked before anything is written: the model is in the store (its version, not the
tag as written, names the location), the files are data the service loads for it, by the service's
own loader (serve.loading: statistics of every feature the model uses, with a drift threshold, and
an online store that opens), and nothing but a file (a directory, a symlink to nothing, a FIFO) is
where a file is to be created, nor anything but a directory where one of its directories is. A
version's data never changes under the tasks that read it: a file already published for the version
is left as it is when it is the same and refused when it differs. Each file is written whole and
only created, never replaced, even by publishes of one version at once: on S3 one upload that S3
refuses if the key exists (`If-None-Match: *`), in a directory written aside, then hard-linked to
its name, which fails if the name is taken (an upload S3 answers 409 ConditionalRequestConflict, as
it may one that races another write of its key, is tried again, as S3 asks). The files are created
in one order, and a publish stops at the first one another publish created with other bytes: so the
files of a version are always one publish's (the others' files up to there were the same), never a
mix.

Exit status: 2 when the arguments or the data are refused (nothing is written, but for the
files a publish racing another wrote before its refusal, which are the same as the other's, or
before something was put in the way; the refusal names them), 1 when
the storage fails.
"""

from __future__ import annotations

import argparse
import os
import shutil
import stat
import sys
import time
from collections.abc import Callable
from pathlib import Path, PurePosixPath

import fsspec
from botocore.exceptions import ClientError  # pants: no-infer-dep (s3fs requires it)

from model_registry.store import MODEL_NAME, Model
from serve.loading import LoadError, load
from serve.settings import ModelTagError, registered_model, use_model_store
from serve.sources import FILES, ServingDataError, file_url, for_model
from storage.arguments import path_argument
from storage.atomic import atomic_create
from storage.digest import sha256_of, sha256_of_stream
from storage.inputs import lookup_problem
from storage.locations import is_remote
from storage.remote import StorageError, storage_errors

# S3 answers a conditional upload that races another write of its key 409
# ConditionalRequestConflict and asks for a retry, which then finds the key (412) or creates it.
# Tries of one upload so answered, waiting CONFLICT_WAIT_SECONDS, then twice as long each time.
CONFLICT_TRIES = 5
CONFLICT_WAIT_SECONDS = 0.1
CONFLICT_CODE = "ConditionalRequestConflict"
# What S3 answers an upload whose key exists (If-None-Match: *).
EXISTS_CODE = "PreconditionFailed"
# The requests that create a key: an upload in one request, or the completion of one in parts.
UPLOAD_OPERATIONS = frozenset({"PutObject", "CompleteMultipartUpload"})


class PublishError(RuntimeError):
    """The serving data cannot be published as asked; the message names what and where."""


def publish(
    model: Model, data: Path, where: str, log: Callable[[str], None] = lambda _: None
) -> list[str]:
    """Copy the serving data in `data` to the location `where` (`model`'s: no placeholder
    left), once the service loads `model` with it; the URLs written, in order. A storage's
    failure is a StorageError."""
    problem = lookup_problem(data)
    if problem:
        raise PublishError(f"--data {data} {problem}")
    missing = [str(data / name) for name in FILES if not (data / name).is_file()]
    if missing:
        raise PublishError(
            f"no serving data to publish: {', '.join(missing)} missing (the pipeline's "
            "features and online_store stages write them)"
        )
    check_servable(model, data)
    version = str(model.tag.version)
    # Refused before anything is written, when nothing publishes the version meanwhile.
    to_write = [name for name in FILES if not _is_published(version, data, where, name, log)]
    written: list[str] = []
    for name in to_write:
        # Another publish of the version may have created it since: _create never replaces it.
        if _create(data / name, where, name):
            log(f"published {data / name} to {file_url(where, name)}")
            written.append(file_url(where, name))
        elif not _is_published(version, data, where, name, log, written):
            raise StorageError(
                f"cannot write {file_url(where, name)}: the storage refused to create it as "
                "taken, yet it holds nothing"
            )
    return written


def _is_published(
    version: str,
    data: Path,
    where: str,
    name: PurePosixPath,
    log: Callable[[str], None],
    written: list[str] | None = None,
) -> bool:
    """Whether `where` holds `data`'s file `name` already; PublishError if it holds another, or
    something that is no file (this run having published `written`)."""
    published = _published_digest(where, name)
    if published is None:
        _refuse_what_is_in_the_way(where, name, written or [])
        return False
    if published != _local_digest(data / name):
        raise PublishError(
            f"{file_url(where, name)} already holds another {name.name} for model version "
            f"{version} than {data / name}; a published version is never replaced"
        )
    log(f"{file_url(where, name)} is published already, unchanged")
    return True


def _refuse_what_is_in_the_way(where: str, name: PurePosixPath, written: list[str]) -> None:
    """PublishError if, under the local location `where`, anything but a file (a directory, a
    symlink to nothing, a FIFO, a socket, a device) is where the file `name` is to be created,
    or anything but a directory where one of its directories is to be (this run having
    published `written`): the file could never be created. On S3 a key and a prefix of one name
    live side by side."""
    if is_remote(where):
        return
    target = file_url(where, name)
    path = Path(target.removeprefix("file://"))
    what = _what_is_at(path)
    place = f"{target}, where the file {name.name} is to be published"
    if what == "a file":  # created since the look: the caller's error names the name taken
        return
    if not what:
        # The nearest one there, a symlink to nothing too (mkdir fails on it as on a file): the
        # directories below it are made, it must be one.
        parent = next((p for p in path.parents if os.path.lexists(p)), None)
        what = _what_is_at(parent) if parent is not None else ""
        if what == "a directory":
            return
        place = f"{parent}, where the directory of {name.name} is to be"
    if not what:  # removed since: the caller's error names the name taken
        return
    published = f"only {', '.join(written)} is published" if written else "nothing is published"
    raise PublishError(
        f"{what} is in the way at {place}: remove it, or publish elsewhere; {published}"
    )


def _what_is_at(path: Path) -> str:
    """What is at `path`, a symlink followed, in words; "" when nothing is, or the system cannot
    look it up (too long, a directory it may not search): the write then fails naming why."""
    try:
        mode = os.stat(path).st_mode
    except FileNotFoundError:
        if not os.path.islink(path):
            return ""
        try:
            return f"a symlink to a missing target ({os.readlink(path)})"
        except OSError:  # removed since
            return ""
    except OSError:
        return ""
    if stat.S_ISREG(mode):
        return "a file"
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    return "a socket" if stat.S_ISSOCK(mode) else "a device"


def check_servable(model: Model, data: Path) -> None:
    """PublishError unless the service loads `model` with the serving data in `data`, as it
    would at the location it is published to."""
    try:
        loaded = load(model, str(data), wait_seconds=0)
    except LoadError as error:
        raise PublishError(f"{data} holds no serving data {model.tag} loads: {error}") from None
    loaded.store.close()


def _local_digest(path: Path) -> str:
    try:
        return sha256_of(path)
    except OSError as error:
        raise PublishError(f"cannot read {path}: {error}") from None


def _published_digest(where: str, name: PurePosixPath) -> str | None:
    target = file_url(where, name)
    with storage_errors("read", target):
        # fsspec reads a directory as well as S3: one way to look.
        filesystem, path = fsspec.core.url_to_fs(target)
        if not filesystem.isfile(path):
            return None
        with filesystem.open(path, "rb") as stream:
            return sha256_of_stream(stream)


def _create(source: Path, where: str, name: PurePosixPath) -> bool:
    """Copy `source` to the file `name` under `where` unless something is there; whether it
    was copied."""
    target = file_url(where, name)
    with storage_errors("write", target):
        try:
            if is_remote(where):
                _upload_new(source, target)
            else:
                with atomic_create(target.removeprefix("file://")) as part:
                    shutil.copyfile(source, part)
        # A directory in the way is named as the look before names it (_is_published).
        except (FileExistsError, IsADirectoryError):
            return False
    return True


def _upload_new(source: Path, target: str) -> None:
    """Upload `source` to the URL `target` unless the key exists (FileExistsError), tried again
    while S3 answers that the upload conflicted with another write of the key."""
    filesystem, path = fsspec.core.url_to_fs(target)
    for tried in range(1, CONFLICT_TRIES + 1):
        try:
            # s3fs sends If-None-Match: * (S3 answers 412 when the key exists, and s3fs
            # raises FileExistsError); fsspec's other filesystems look, then write.
            filesystem.put_file(str(source), path, mode="create")
            return
        except OSError as error:
            answer = _upload_answer(error)
            if answer == EXISTS_CODE:
                raise FileExistsError(f"{target} exists") from error
            if answer != CONFLICT_CODE:
                raise
            if tried == CONFLICT_TRIES:
                raise StorageError(
                    f"cannot write {target}: S3 answered each of {CONFLICT_TRIES} uploads 409 "
                    f"{CONFLICT_CODE} (another write of the key raced each); nothing is "
                    "published there by this run: run it again"
                ) from error
        time.sleep(CONFLICT_WAIT_SECONDS * 2 ** (tried - 1))


def _upload_answer(error: BaseException) -> str | None:
    """S3's error code for the request that creates the key (UPLOAD_OPERATIONS) when s3fs
    raised `error` for it, or in handling its failure; None when it was not answered with an
    error. s3fs raises an OSError caused by botocore's ClientError, which holds S3's answer and
    the operation answered. An upload in parts is answered at its completion, and s3fs aborts
    it when that fails; when the abort fails too, its error is raised, the completion's its
    context: S3 discards an upload it answers 409 (the abort is then answered 404 NoSuchUpload),
    and the deploy role may not abort (403 AccessDenied). The abort's answer says nothing of
    the key, the completion's does."""
    seen: set[int] = set()
    link: BaseException | None = error
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if isinstance(link, ClientError) and link.operation_name in UPLOAD_OPERATIONS:
            code = link.response.get("Error", {}).get("Code")
            return str(code) if code is not None else None
        link = link.__cause__ or link.__context__
    return None


def main(argv: list[str] | None = None, prog: str = "publish") -> int:
    parser = argparse.ArgumentParser(prog=prog, description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", required=True, help=f"the model's tag, {MODEL_NAME}:<version>")
    parser.add_argument(
        "--to", required=True, help="the serving-data location; {model_version} is replaced"
    )
    parser.add_argument(
        "--data",
        type=path_argument,
        default=Path("data"),
        help="the pipeline's data (default: data)",
    )
    args = parser.parse_args(argv)
    # The repo's model store (build/bentoml) unless BENTOML_HOME names another.
    use_model_store()
    try:
        model = registered_model(args.model, f"--model {args.model!r}")
        where = for_model(args.to, str(model.tag.version), named="--to")
        publish(model, args.data, where, log=print)
    except (ModelTagError, ServingDataError, PublishError) as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 2
    except StorageError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
