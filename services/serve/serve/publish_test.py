"""Publishing a model's serving data: only for a model in the store, only data the service loads
for it; read back by serve.sources from a directory and from S3 (moto's server on loopback),
never replaced once published, and nothing written when something is wrong."""

from __future__ import annotations

import json
import os
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from functools import partial
from hashlib import sha256
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import parse_qs, urlsplit

import boto3  # pants: no-infer-dep (moto[server] requires it)
import fsspec
import pandas as pd
import pytest
from aiobotocore.awsrequest import AioAWSResponse  # pants: no-infer-dep (s3fs requires it)
from botocore.awsrequest import AWSPreparedRequest  # pants: no-infer-dep (s3fs requires it)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from feature_definitions.features import FEATURES
from model_registry.store import MODEL_NAME, Model
from serve.publish import CONFLICT_TRIES, PublishError, main, publish
from serve.sources import FILES, MODEL_VERSION, ONLINE_STORE, STATS, fetch, file_url, for_model
from serve.testing import (
    EMPTY_STORE_HORIZON,
    FEATURE_STATS,
    write_empty_store,
    write_serving_data,
)
from storage.digest import sha256_of
from storage.locations import is_remote
from storage.testing import name_too_long


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_model_reads_what_was_published_for_it_in_a_directory(
    model: Model, tmp_path: Path
) -> None:
    data = write_serving_data(tmp_path / "data")
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", str(model.tag), "--to", template, "--data", str(data)]) == 0
    version = str(model.tag.version)
    served = fetch(for_model(template, version), wait=0)
    assert served.online_store.read_bytes() == (data / ONLINE_STORE).read_bytes()
    assert served.stats.read_bytes() == (data / STATS).read_bytes()
    assert files_under(tmp_path / "serving") == {
        f"{version}/{name}": (data / name).read_bytes() for name in FILES
    }


def test_a_tag_is_published_under_the_version_it_names_in_the_store(
    model: Model, tmp_path: Path
) -> None:
    # `latest` is BentoML's name for the newest version, not a version the service reads.
    data = write_serving_data(tmp_path / "data")
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", "flight-delay:latest", "--to", template, "--data", str(data)]) == 0
    assert sorted(p.name for p in (tmp_path / "serving").iterdir()) == [str(model.tag.version)]


def test_a_model_reads_what_was_published_for_it_on_s3(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path
) -> None:
    data = write_serving_data(tmp_path / "data")
    template = f"s3://artifacts/serving/{MODEL_VERSION}"
    version = str(model.tag.version)
    written = publish(model, data, for_model(template, version))
    assert written == [f"s3://artifacts/serving/{version}/{name}" for name in FILES]
    served = fetch(for_model(template, version), wait=5, cache=tmp_path / "cache")
    assert served.online_store.read_bytes() == (data / ONLINE_STORE).read_bytes()
    assert served.stats.read_bytes() == (data / STATS).read_bytes()


def test_publishing_the_same_data_again_writes_nothing(model: Model, tmp_path: Path) -> None:
    data = write_serving_data(tmp_path / "data")
    where = str(tmp_path / "serving" / "v1")
    assert len(publish(model, data, where)) == len(FILES)
    messages: list[str] = []
    assert publish(model, data, where, log=messages.append) == []
    assert all("published already" in message for message in messages)


# The model is only read: one for every example.
@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.floats(0.01, 10).filter(lambda threshold: threshold != FEATURE_STATS["psi_threshold"]))
def test_a_published_version_is_never_replaced(
    tmp_path_factory: pytest.TempPathFactory, model: Model, threshold: float
) -> None:
    root = tmp_path_factory.mktemp("publish")
    where = str(root / "serving" / "v1")
    publish(model, write_serving_data(root / "first"), where)
    before = files_under(root / "serving")
    other = write_serving_data(root / "second", {**FEATURE_STATS, "psi_threshold": threshold})
    with pytest.raises(
        PublishError, match=f"{STATS.name} for model version {model.tag.version} than"
    ) as raised:
        publish(model, other, where)
    assert "never replaced" in str(raised.value)
    assert files_under(root / "serving") == before


def test_nothing_is_written_when_a_file_is_missing(model: Model, tmp_path: Path) -> None:
    data = write_serving_data(tmp_path / "data")
    (data / STATS).unlink()
    with pytest.raises(PublishError, match=f"{data / STATS} missing"):
        publish(model, data, str(tmp_path / "serving" / "v1"))
    assert not (tmp_path / "serving").exists()


def test_serving_data_the_filesystem_cannot_look_up_is_named(model: Model, tmp_path: Path) -> None:
    # Its look-up raised pathlib's OSError: `serve publish --data` ended in a traceback.
    data = name_too_long(tmp_path)
    with pytest.raises(PublishError, match=r"cannot be looked up \(File name too long\)"):
        publish(model, data, str(tmp_path / "serving" / "v1"))
    assert not (tmp_path / "serving").exists()


def test_a_file_whose_path_the_filesystem_cannot_look_up_is_a_storage_failure_naming_it(
    model: Model, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The location is looked up, the files' paths under it are longer than the system's limit
    # (ENAMETOOLONG), as a directory the publish may not search is unreadable (EACCES, which
    # no test run as root shows). Before, the look for what is in the way (pathlib's is_dir
    # raises what it does not read as "not there") ended `serve publish` in a traceback.
    limit = os.pathconf(tmp_path, "PC_PATH_MAX")
    where = tmp_path
    while len(str(where)) < limit - len(str(STATS)) - 1:
        where = where / ("d" * min(200, limit - len(str(STATS)) - 2 - len(str(where))))
    assert len(str(where / STATS)) >= limit > len(str(where))
    data = write_serving_data(tmp_path / "data")
    assert main(["--model", str(model.tag), "--to", str(where), "--data", str(data)]) == 1
    assert capsys.readouterr().err.startswith(
        f"publish: error: cannot write {where / ONLINE_STORE}: "
    )


def test_nothing_is_written_when_a_later_file_conflicts(model: Model, tmp_path: Path) -> None:
    # The store is new, the statistics conflict: the store is not published either.
    where = tmp_path / "serving" / "v1"
    (where / STATS).parent.mkdir(parents=True)
    (where / STATS).write_bytes(b'{"other": 1}')
    with pytest.raises(PublishError, match="never replaced"):
        publish(model, write_serving_data(tmp_path / "data"), str(where))
    assert files_under(where) == {str(STATS): b'{"other": 1}'}


@pytest.mark.parametrize("what", ["a directory", "a symlink to nothing", "a FIFO", "a socket"])
def test_what_is_no_file_where_a_file_is_to_be_published_is_named_and_nothing_is_written(
    model: Model,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    what: str,
) -> None:
    # Before, the store was published, then the publish failed (status 1) saying the name of
    # the statistics was "taken, yet it holds nothing"; a symlink is not written through.
    template = str(tmp_path / "serving" / MODEL_VERSION)
    where = Path(for_model(template, str(model.tag.version)))
    at = where / STATS
    at.parent.mkdir(parents=True)
    missing = tmp_path / "elsewhere" / STATS.name
    named_as = what
    if what == "a directory":
        at.mkdir()
    elif what == "a symlink to nothing":
        at.symlink_to(missing)
        named_as = f"a symlink to a missing target ({missing})"
    elif what == "a FIFO":
        os.mkfifo(at)
    else:
        # Bound by a relative name: a socket's path may be no longer than about 100 bytes.
        with monkeypatch.context() as patch, socket.socket(socket.AF_UNIX) as listening:
            patch.chdir(at.parent)
            listening.bind(at.name)
    data = write_serving_data(tmp_path / "data")
    assert main(["--model", str(model.tag), "--to", template, "--data", str(data)]) == 2
    assert capsys.readouterr().err == (
        f"publish: error: {named_as} is in the way at {at}, where the file {STATS.name} is to be "
        "published: remove it, or publish elsewhere; nothing is published\n"
    )
    assert files_under(where) == {}
    assert not missing.exists() and not missing.parent.exists()


@pytest.mark.parametrize("what", ["a directory", "a file"])
def test_what_is_put_in_the_way_after_the_look_is_refused_alike(
    model: Model, tmp_path: Path, what: str
) -> None:
    # The look found nothing there; it came before the write. Before, a directory at the file's
    # name made the write's IsADirectoryError a storage failure (status 1), not the refusal the
    # look gives; a file at its directory's name fails the write's mkdir as the name exists,
    # and the look again names what is there.
    where = tmp_path / "serving" / "v1"
    blocked = where / STATS if what == "a directory" else where / STATS.parent

    def meanwhile(message: str) -> None:
        if message.startswith("published ") and not blocked.exists():
            if what == "a directory":
                blocked.mkdir(parents=True)
            else:
                blocked.write_bytes(b"in the way")

    with pytest.raises(PublishError) as refused:
        publish(model, write_serving_data(tmp_path / "data"), str(where), log=meanwhile)
    at = (
        f"{blocked}, where the file {STATS.name} is to be published"
        if what == "a directory"
        else f"{blocked}, where the directory of {STATS.name} is to be"
    )
    assert str(refused.value) == (
        f"{what} is in the way at {at}: remove it, or publish elsewhere; only "
        f"{where / ONLINE_STORE} is published"
    )
    published = {str(ONLINE_STORE): (tmp_path / "data" / ONLINE_STORE).read_bytes()}
    if what == "a file":
        published[str(STATS.parent)] = b"in the way"
    assert files_under(where) == published


@pytest.mark.parametrize("in_the_way", [str(STATS.parent), "."], ids=["features", "the version"])
@pytest.mark.parametrize("what", ["a file", "a symlink to nothing"])
def test_what_is_where_a_directory_of_the_data_is_to_be_is_named_and_nothing_is_written(
    model: Model, tmp_path: Path, capsys: pytest.CaptureFixture[str], in_the_way: str, what: str
) -> None:
    # Before, the online store was published, then the publish failed (status 1) saying the
    # name of the statistics under `features` was "taken, yet it holds nothing"; at the
    # version's place, the store failed the same way, as a storage failure. The look passed
    # over a symlink to nothing to the directory holding it.
    template = str(tmp_path / "serving" / MODEL_VERSION)
    where = Path(for_model(template, str(model.tag.version)))
    blocked = Path(os.path.normpath(where / in_the_way))
    blocked.parent.mkdir(parents=True, exist_ok=True)
    missing = tmp_path / "elsewhere"
    if what == "a file":
        blocked.write_bytes(b"in the way")
        named_as, left = "a file", {str(blocked.relative_to(where.parent)): b"in the way"}
    else:
        blocked.symlink_to(missing)
        named_as, left = f"a symlink to a missing target ({missing})", {}
    data = write_serving_data(tmp_path / "data")
    assert main(["--model", str(model.tag), "--to", template, "--data", str(data)]) == 2
    named = ONLINE_STORE if in_the_way == "." else STATS
    assert capsys.readouterr().err == (
        f"publish: error: {named_as} is in the way at {blocked}, where the directory of "
        f"{named.name} is to be: remove it, or publish elsewhere; nothing is published\n"
    )
    assert files_under(where.parent) == left
    assert not missing.exists()


def test_nothing_is_published_for_a_model_the_store_does_not_hold(
    model: Model, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_serving_data(tmp_path / "data")
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", "flight-delay:zzz", "--to", template, "--data", str(data)]) == 2
    assert (
        "publish: error: --model 'flight-delay:zzz': no such model in the BentoML store"
        in capsys.readouterr().err
    )
    assert not (tmp_path / "serving").exists()


def _without_feature(stats: dict[str, Any]) -> dict[str, Any]:
    features = {k: v for k, v in stats["features"].items() if k != FEATURES[0].name}
    return {**stats, "features": features}


@pytest.mark.parametrize(
    ("spoil", "named"),
    [
        (lambda data: (data / ONLINE_STORE).write_bytes(b""), "online_store: cannot open "),
        (
            lambda data: (data / STATS).write_text("[1]"),
            "is not a JSON object of statistics: it holds a list",
        ),
        (
            lambda data: (data / STATS).write_text(json.dumps(_without_feature(FEATURE_STATS))),
            f"has no statistics of {FEATURES[0].name}, which the model uses",
        ),
        (
            lambda data: (data / STATS).write_text(json.dumps({"features": {}})),
            "has no 'psi_threshold' key",
        ),
        (
            lambda data: write_empty_store(data / ONLINE_STORE, window_days=90),
            f"was built with a trailing window of 90 days and {MODEL_NAME}:",
        ),
    ],
)
def test_nothing_is_published_that_the_service_would_not_load(
    model: Model,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    spoil: Callable[[Path], object],
    named: str,
) -> None:
    data = write_serving_data(tmp_path / "data")
    spoil(data)
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", str(model.tag), "--to", template, "--data", str(data)]) == 2
    error = capsys.readouterr().err
    assert f"publish: error: {data} holds no serving data {model.tag} loads: " in error
    assert named in error
    assert not (tmp_path / "serving").exists()


def test_an_empty_data_path_is_refused_not_read_as_the_current_directory(
    model: Model,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Path("") is ".": started in a data directory, `--data ""` published what it found there.
    monkeypatch.chdir(write_serving_data(tmp_path / "data"))
    template = str(tmp_path / "serving" / MODEL_VERSION)
    with pytest.raises(SystemExit) as exited:
        main(["--model", str(model.tag), "--to", template, "--data", ""])
    assert exited.value.code == 2
    assert "publish: error: argument --data: empty: give a path" in capsys.readouterr().err
    assert not (tmp_path / "serving").exists()


def test_the_command_names_its_error_and_fails(
    model: Model, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = str(model.tag)
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", "iris:1", "--to", template, "--data", str(tmp_path)]) == 2
    assert (
        "publish: error: --model 'iris:1': expected flight-delay:<version>"
        in capsys.readouterr().err
    )
    assert main(["--model", tag, "--to", template, "--data", str(tmp_path)]) == 2
    assert "no serving data to publish" in capsys.readouterr().err
    assert not (tmp_path / "serving").exists()

    data = write_serving_data(tmp_path / "data")
    # An empty --to was the file system's root: /online_store/online.sqlite.
    assert main(["--model", tag, "--to", "", "--data", str(data)]) == 2
    assert "publish: error: --to is empty" in capsys.readouterr().err
    assert main(["--model", tag, "--to", "s3://", "--data", str(data)]) == 2
    assert "publish: error: --to 's3://' names no bucket or host" in capsys.readouterr().err
    # A failure of the storage, not of the arguments: here fsspec's own error, gcsfs not being
    # installed (not an OSError).
    version = model.tag.version
    assert main(["--model", tag, "--to", "gcs://b/{model_version}", "--data", str(data)]) == 1
    assert (
        f"publish: error: cannot read gcs://b/{version}/online_store/online.sqlite: ImportError"
        in capsys.readouterr().err
    )


def race(model: Model, sources: list[Path], where: str) -> list[list[str] | BaseException]:
    """One thread per source publishes it to `where`, all released at once; what each
    publish returned, or raised."""
    start = threading.Barrier(len(sources))

    def run(source: Path) -> list[str]:
        start.wait()
        return publish(model, source, where)

    with ThreadPoolExecutor(len(sources)) as pool:
        futures = [pool.submit(run, source) for source in sources]
    return [future.exception() or future.result() for future in futures]


def published(where: str) -> dict[PurePosixPath, bytes]:
    found = {}
    for name in FILES:
        filesystem, path = fsspec.core.url_to_fs(file_url(where, name))
        if filesystem.isfile(path):
            found[name] = filesystem.cat_file(path)
    return found


@pytest.fixture(params=["directory", "s3"])
def serving(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The serving-data location of the test: a directory, or a prefix on S3 (moto's server)."""
    if request.param == "s3":
        request.getfixturevalue("s3")
        return "s3://artifacts/serving"
    return str(tmp_path / "serving")


# Each round is a fresh version's location: the race is at its first publish.
RACES = 15


def test_publishes_of_one_version_at_once_leave_one_of_them_whole(
    model: Model, tmp_path: Path, serving: str
) -> None:
    # Each looked for the files, then wrote them: both passed the look and one replaced the
    # other's files, both reporting success (in 28 and 30 of 30 rounds, directory and S3).
    first = write_serving_data(tmp_path / "first")
    second = write_serving_data(tmp_path / "second", {**FEATURE_STATS, "psi_threshold": 0.7})
    write_empty_store(second / ONLINE_STORE, horizon=EMPTY_STORE_HORIZON - pd.Timedelta(days=1))
    sources = {
        source: {name: (source / name).read_bytes() for name in FILES} for source in (first, second)
    }
    assert sources[first][ONLINE_STORE] != sources[second][ONLINE_STORE]
    version = str(model.tag.version)
    for round_ in range(RACES):
        where = f"{serving}/{round_}"
        outcomes = race(model, [first, second], where)
        winners = [
            s for s, o in zip(sources, outcomes, strict=False) if not isinstance(o, BaseException)
        ]
        assert len(winners) == 1, f"round {round_}: {len(winners)} of 2 publishes succeeded"
        (lost,) = (o for o in outcomes if isinstance(o, BaseException))
        assert isinstance(lost, PublishError), lost
        assert f"for model version {version} than" in str(lost)
        assert "never replaced" in str(lost)
        assert published(where) == sources[winners[0]]
        if not is_remote(where):
            assert sorted(files_under(Path(where))) == sorted(map(str, FILES))


def test_publishes_of_the_same_data_at_once_all_succeed_and_write_each_file_once(
    model: Model, tmp_path: Path, serving: str
) -> None:
    data = write_serving_data(tmp_path / "data")
    for round_ in range(RACES):
        where = f"{serving}/{round_}"
        outcomes = race(model, [data] * 3, where)
        lists = [o for o in outcomes if not isinstance(o, BaseException)]
        assert len(lists) == len(outcomes), outcomes
        written = sorted(url for urls in lists for url in urls)
        assert written == sorted(file_url(where, name) for name in FILES), "written twice"
        assert published(where) == {name: (data / name).read_bytes() for name in FILES}


# What S3 answers an upload that raced another conditional write of its key (S3's conditional
# requests guide: "409 ConditionalRequestConflict ... retry the request").
CONFLICT = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>ConditionalRequestConflict</Code>'
    b"<Message>The conditional request cannot succeed due to a conflicting operation against "
    b"this resource.</Message></Error>"
)


class _Body:
    """The body of an answer made here, read as aiobotocore reads an HTTP response's."""

    def __init__(self, content: bytes) -> None:
        self.content = content

    async def read(self) -> bytes:
        return self.content


# What S3 answers a request the caller's policy does not allow: the deploy role's policy grants
# no s3:AbortMultipartUpload (infra/modules/github_oidc), so s3fs's abort of an upload in parts
# is denied. Moto's server answers as the account's root unless IAM is enforced for the process.
ACCESS_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code>'
    b"<Message>Access Denied</Message></Error>"
)


@contextmanager
def s3_answers(
    operation: str,
    status: int,
    body: bytes,
    times: int | None,
    meanwhile: Callable[[str], object] = lambda _: None,
) -> Iterator[list[str]]:
    """S3 (moto's server) answers the first `times` (None: all) requests `operation` of the s3://
    filesystem fsspec gives this thread `status` with the error `body`; `meanwhile(url)` runs
    first. Yields the URLs so answered. The answer comes through botocore's event system
    (`before-send`), the request never reaching moto."""
    answered: list[str] = []

    def answer(request: AWSPreparedRequest, **_: Any) -> AioAWSResponse | None:
        if len(answered) == times:
            return None
        answered.append(request.url)
        meanwhile(request.url)
        headers = {"Content-Type": "application/xml", "Content-Length": str(len(body))}
        return AioAWSResponse(request.url, status, headers, _Body(body))

    events = fsspec.filesystem("s3").s3.meta.events
    events.register(f"before-send.s3.{operation}", answer)
    try:
        yield answered
    finally:
        events.unregister(f"before-send.s3.{operation}", answer)


def conflicting_uploads(
    times: int,
    meanwhile: Callable[[str], object] = lambda _: None,
    operation: str = "PutObject",
) -> AbstractContextManager[list[str]]:
    """S3 answers the first `times` uploads (`operation`: PutObject, or the
    CompleteMultipartUpload that creates the key of an upload in parts) 409
    ConditionalRequestConflict, as S3 does when another write of the key races them;
    `meanwhile(url)` runs first, as that other write. Moto answers no 409."""
    return s3_answers(operation, 409, CONFLICT, times, meanwhile)


def denied_aborts() -> AbstractContextManager[list[str]]:
    """S3 denies every abort of an upload in parts, as it does the deploy role's."""
    return s3_answers("AbortMultipartUpload", 403, ACCESS_DENIED, times=None)


def test_an_upload_s3_answers_with_a_conflict_is_tried_again(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path
) -> None:
    # S3's 409 ended the publish as a storage failure, its files unpublished.
    data = write_serving_data(tmp_path / "data")
    where = "s3://artifacts/serving/v1"
    with conflicting_uploads(2) as answered:
        written = publish(model, data, where)
    assert len(answered) == 2
    assert written == [file_url(where, name) for name in FILES]
    assert published(where) == {name: (data / name).read_bytes() for name in FILES}


# s3fs uploads a file in parts from twice its part size (50 MiB) up: a large online store.
MULTIPART_BYTES = 100 * 2**20


def serving_data_in_parts(root: Path) -> Path:
    """Serving data in `root` whose online store s3fs uploads in parts."""
    data = write_serving_data(root)
    store = sqlite3.connect(data / ONLINE_STORE)
    with store:
        store.execute("CREATE TABLE padding (bytes BLOB)")
        store.execute("INSERT INTO padding VALUES (zeroblob(?))", (MULTIPART_BYTES,))
    store.close()
    assert (data / ONLINE_STORE).stat().st_size > MULTIPART_BYTES
    return data


def discard_upload(client: Any, url: str) -> None:
    """Discard the upload in parts that the CompleteMultipartUpload request `url` completes, as
    S3 does one it answers 409; `client` has its own connection, as the filesystem's waits for
    that answer."""
    bucket, key = urlsplit(url).path.lstrip("/").split("/", 1)
    (upload,) = parse_qs(urlsplit(url).query)["uploadId"]
    client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload)


def test_an_upload_in_parts_s3_answers_with_a_conflict_at_its_completion_is_tried_again(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path
) -> None:
    # S3 creates the key of an upload in parts, checking If-None-Match, when it completes it:
    # that is where it answers 409, and it discards the upload (AWS's CompleteMultipartUpload
    # reference: "re-initiate the multipart upload ... and re-upload each part"). s3fs's abort
    # of it was then answered 404 NoSuchUpload, and that error, not the 409, ended the publish.
    data = serving_data_in_parts(tmp_path / "data")
    where = "s3://artifacts/serving/v1"
    client = boto3.client("s3")
    discard = partial(discard_upload, client)
    with conflicting_uploads(1, discard, operation="CompleteMultipartUpload") as answered:
        written = publish(model, data, where)
    assert len(answered) == 1
    assert written == [file_url(where, name) for name in FILES]
    digests = {name: sha256_of(data / name) for name in FILES}
    assert {name: sha256(found).hexdigest() for name, found in published(where).items()} == digests
    # No upload is left open, its parts billed.
    assert client.list_multipart_uploads(Bucket="artifacts").get("Uploads") is None


def test_a_conflict_at_completion_is_tried_again_when_the_abort_is_denied(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path
) -> None:
    # Why the publish looks past the error s3fs raises: the deploy role may not abort, so after
    # S3's 409 at the completion s3fs raises the abort's 403 AccessDenied, the 409 its context.
    # The upload was answered 409, which S3 asks to try again; a publish that went by the
    # abort's answer ended as a storage failure ("Access Denied") instead.
    data = serving_data_in_parts(tmp_path / "data")
    where = "s3://artifacts/serving/v1"
    discard = partial(discard_upload, boto3.client("s3"))
    with (
        denied_aborts() as denied,
        conflicting_uploads(1, discard, operation="CompleteMultipartUpload") as answered,
    ):
        written = publish(model, data, where)
    assert (len(answered), len(denied)) == (1, 1)
    assert written == [file_url(where, name) for name in FILES]
    digests = {name: sha256_of(data / name) for name in FILES}
    assert {name: sha256(found).hexdigest() for name, found in published(where).items()} == digests


@pytest.mark.parametrize("same", [True, False], ids=["same bytes", "other bytes"])
def test_a_conflict_at_completion_with_another_publish_takes_its_file_as_found(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path, same: bool
) -> None:
    # As an upload in one request does (the test below): the write S3's 409 raced has created
    # the key by the time the upload in parts is tried again, and S3 (moto too) answers its
    # completion 412 PreconditionFailed. s3fs then aborts the upload, which the deploy role may
    # not do: it raises the abort's 403, the 412 its context, and that ended the publish as a
    # storage failure ("Access Denied"), whatever the key held.
    data = serving_data_in_parts(tmp_path / "data")
    where = "s3://artifacts/serving/v1"
    first = file_url(where, FILES[0])
    other = (data / FILES[0]).read_bytes() if same else b"another publish's store"
    client = boto3.client("s3")
    bucket, key = first.removeprefix("s3://").split("/", 1)

    def other_publish(url: str) -> None:
        discard_upload(client, url)
        client.put_object(Bucket=bucket, Key=key, Body=other)

    with (
        denied_aborts() as denied,
        conflicting_uploads(1, other_publish, operation="CompleteMultipartUpload"),
    ):
        if same:
            written = publish(model, data, where)
        else:
            with pytest.raises(PublishError) as refused:
                publish(model, data, where)
    assert len(denied) == 2  # the abort after the 409, and the one after the 412
    if same:
        assert written == [file_url(where, name) for name in FILES[1:]]
        assert published(where)[FILES[1]] == (data / FILES[1]).read_bytes()
    else:
        assert str(refused.value).startswith(f"{first} already holds another {FILES[0].name} ")
        assert "never replaced" in str(refused.value)
        assert published(where) == {FILES[0]: other}


@pytest.mark.parametrize("same", [True, False], ids=["same bytes", "other bytes"])
def test_a_conflict_with_another_publish_takes_its_file_as_found(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path, same: bool
) -> None:
    # The write S3's 409 raced has created the key by the time the upload is tried again: the
    # retry is refused as the key exists (412), and the file is taken as another publish's.
    data = write_serving_data(tmp_path / "data")
    where = "s3://artifacts/serving/v1"
    first = file_url(where, FILES[0])
    other = (data / FILES[0]).read_bytes() if same else b"another publish's store"
    client = boto3.client("s3")  # its own connection: the filesystem's waits for this answer
    bucket, key = first.removeprefix("s3://").split("/", 1)
    with conflicting_uploads(1, lambda _: client.put_object(Bucket=bucket, Key=key, Body=other)):
        if same:
            written = publish(model, data, where)
        else:
            with pytest.raises(PublishError, match="never replaced"):
                publish(model, data, where)
    if same:
        assert written == [file_url(where, name) for name in FILES[1:]]
        assert published(where) == {name: (data / name).read_bytes() for name in FILES}
    else:
        assert published(where) == {FILES[0]: other}


def test_a_conflict_that_persists_is_named_and_nothing_is_published(
    s3: fsspec.AbstractFileSystem, model: Model, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = write_serving_data(tmp_path / "data")
    template = f"s3://artifacts/serving/{MODEL_VERSION}"
    with conflicting_uploads(CONFLICT_TRIES) as answered:
        status = main(["--model", str(model.tag), "--to", template, "--data", str(data)])
    assert status == 1
    assert len(answered) == CONFLICT_TRIES
    first = file_url(for_model(template, str(model.tag.version)), FILES[0])
    assert capsys.readouterr().err == (
        f"publish: error: cannot write {first}: S3 answered each of {CONFLICT_TRIES} uploads "
        "409 ConditionalRequestConflict (another write of the key raced each); nothing is "
        "published there by this run: run it again\n"
    )
    assert published(for_model(template, str(model.tag.version))) == {}
