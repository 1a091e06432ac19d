"""Publishing a model's serving data: read back by serve.sources from a directory and from S3
(moto's server on loopback), never replaced once published, and nothing written when something
is wrong."""

from __future__ import annotations

from pathlib import Path

import fsspec
import pytest
from hypothesis import given
from hypothesis import strategies as st

from serve.publish import PublishError, main, model_version, publish
from serve.settings import MODEL_TAG
from serve.sources import FILES, MODEL_VERSION, ONLINE_STORE, STATS, fetch, for_model


def pipeline_data(root: Path, stats: bytes = b'{"features": {}}') -> Path:
    """A directory in the pipeline's layout, as the features and online_store stages leave it."""
    for name, content in ((ONLINE_STORE, b"SQLite format 3\x00 store"), (STATS, stats)):
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_bytes(content)
    return root


def files_under(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


def test_a_model_reads_what_was_published_for_it_in_a_directory(tmp_path: Path) -> None:
    data = pipeline_data(tmp_path / "data")
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", "flight-delay:abc123", "--to", template, "--data", str(data)]) == 0
    served = fetch(for_model(template, "abc123"), wait=0)
    assert served.online_store.read_bytes() == (data / ONLINE_STORE).read_bytes()
    assert served.stats.read_bytes() == (data / STATS).read_bytes()
    assert files_under(tmp_path / "serving") == {
        f"abc123/{name}": (data / name).read_bytes() for name in FILES
    }


def test_a_model_reads_what_was_published_for_it_on_s3(
    s3: fsspec.AbstractFileSystem, tmp_path: Path
) -> None:
    data = pipeline_data(tmp_path / "data")
    template = f"s3://artifacts/serving/{MODEL_VERSION}"
    written = publish(data, for_model(template, "abc123"))
    assert written == [f"s3://artifacts/serving/abc123/{name}" for name in FILES]
    served = fetch(for_model(template, "abc123"), wait=5, cache=tmp_path / "cache")
    assert served.online_store.read_bytes() == (data / ONLINE_STORE).read_bytes()
    assert served.stats.read_bytes() == (data / STATS).read_bytes()


def test_publishing_the_same_data_again_writes_nothing(tmp_path: Path) -> None:
    data = pipeline_data(tmp_path / "data")
    where = str(tmp_path / "serving" / "v1")
    assert len(publish(data, where)) == len(FILES)
    messages: list[str] = []
    assert publish(data, where, log=messages.append) == []
    assert all("published already" in message for message in messages)


@given(st.binary().filter(lambda stats: stats != b'{"features": {}}'))
def test_a_published_version_is_never_replaced(
    tmp_path_factory: pytest.TempPathFactory, stats: bytes
) -> None:
    root = tmp_path_factory.mktemp("publish")
    where = str(root / "serving" / "v1")
    publish(pipeline_data(root / "first"), where)
    before = files_under(root / "serving")
    with pytest.raises(PublishError, match=f"{STATS.name} for this model version") as raised:
        publish(pipeline_data(root / "second", stats), where)
    assert "never replaced" in str(raised.value)
    assert files_under(root / "serving") == before


def test_nothing_is_written_when_a_file_is_missing(tmp_path: Path) -> None:
    data = pipeline_data(tmp_path / "data")
    (data / STATS).unlink()
    with pytest.raises(PublishError, match=f"{data / STATS} missing"):
        publish(data, str(tmp_path / "serving" / "v1"))
    assert not (tmp_path / "serving").exists()


def test_nothing_is_written_when_a_later_file_conflicts(tmp_path: Path) -> None:
    # The store is new, the statistics conflict: the store is not published either.
    where = tmp_path / "serving" / "v1"
    (where / STATS).parent.mkdir(parents=True)
    (where / STATS).write_bytes(b'{"other": 1}')
    with pytest.raises(PublishError, match="never replaced"):
        publish(pipeline_data(tmp_path / "data"), str(where))
    assert files_under(where) == {str(STATS): b'{"other": 1}'}


@given(st.text().filter(lambda text: not MODEL_TAG.fullmatch(text)))
def test_anything_but_a_flight_delay_tag_is_refused_by_name(text: str) -> None:
    with pytest.raises(PublishError, match="--model") as raised:
        model_version(text)
    assert repr(text) in str(raised.value)


def test_the_command_names_its_error_and_fails(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    template = str(tmp_path / "serving" / MODEL_VERSION)
    assert main(["--model", "iris:1", "--to", template, "--data", str(tmp_path)]) == 1
    assert (
        "publish: error: --model 'iris:1': expected flight-delay:<version>"
        in capsys.readouterr().err
    )
    assert main(["--model", "flight-delay:v1", "--to", template, "--data", str(tmp_path)]) == 1
    assert "no serving data to publish" in capsys.readouterr().err
    assert not (tmp_path / "serving").exists()

    data = pipeline_data(tmp_path / "data")
    # An empty --to was the file system's root: /online_store/online.sqlite.
    assert main(["--model", "flight-delay:v1", "--to", "", "--data", str(data)]) == 1
    assert "publish: error: --to is empty" in capsys.readouterr().err
    assert main(["--model", "flight-delay:v1", "--to", "s3://", "--data", str(data)]) == 1
    assert "publish: error: --to 's3://' names no bucket or host" in capsys.readouterr().err
    # Not an OSError: a storage client's own error (here fsspec's, gcsfs not being installed).
    assert (
        main(["--model", "flight-delay:v1", "--to", "gcs://b/{model_version}", "--data", str(data)])
        == 1
    )
    assert "publish: error: cannot read gcs://b/v1/online_store/online.sqlite: ImportError" in (
        capsys.readouterr().err
    )
