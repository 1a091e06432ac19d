"""Which model the service serves: the newest promoted one, or the one $FLIGHT_DELAY_MODEL pins,
which must be a version of flight-delay in the store."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from model_registry.store import (
    DO_NOT_TRACK_ENV,
    HOME_ENV,
    MODEL_NAME,
    PROMOTED,
    REGISTERED,
    REGISTERED_RECORD,
    ModelStore,
)
from serve.settings import (
    MODEL_ENV,
    MODEL_TAG,
    VERSION_MAX_LENGTH,
    ModelTagError,
    NoPromotedModel,
    StoreServed,
    check_store_unserved,
    promoted_tag,
    tag_version,
    use_model_store,
)
from serve.testing import register_model


def _register(store: ModelStore, tmp_path: Path, stage: str) -> str:
    return str(register_model(store, tmp_path / stage, stage=stage).tag)


def test_the_newest_promoted_model_unless_one_is_pinned(
    model_store: ModelStore, tmp_path: Path
) -> None:
    with pytest.raises(NoPromotedModel, match="no flight-delay model labelled stage=promoted"):
        promoted_tag({})
    promoted = _register(model_store, tmp_path, PROMOTED)
    registered = _register(model_store, tmp_path, REGISTERED)
    assert promoted_tag({}) == promoted
    # A pin may name any version in the store, promoted or not (a rollback without deleting).
    assert promoted_tag({MODEL_ENV: registered}) == registered


def test_a_registration_not_completed_is_never_served_and_a_pin_of_it_is_named(
    model_store: ModelStore, tmp_path: Path
) -> None:
    served = _register(model_store, tmp_path, PROMOTED)
    cut_short = register_model(model_store, tmp_path / "cut")
    (Path(cut_short.path) / REGISTERED_RECORD).unlink()
    (Path(cut_short.path) / "pipeline.joblib").write_bytes(b"")
    # A registration so young that BentoML has not copied its model.yaml yet.
    (model_store.home / "models" / MODEL_NAME / "bare").mkdir()

    assert promoted_tag({}) == served
    for pin in (str(cut_short.tag), f"{MODEL_NAME}:bare"):
        with pytest.raises(ModelTagError, match=f"^{MODEL_ENV}={pin!r}: .*has not completed"):
            promoted_tag({MODEL_ENV: pin})


@pytest.mark.parametrize(
    ("pin", "message"),
    [
        ("not a tag!", "expected flight-delay:<version>"),
        # BentoML's parser raises its own exception for this one, not a ValueError.
        (":0", "expected flight-delay:<version>"),
        # BentoML would take it as flight-delay:abc, a model this pin does not name.
        ("Flight-Delay:ABC", "expected flight-delay:<version>"),
        ("flight-delay", "expected flight-delay:<version>"),
        ("other-model:abc", "expected flight-delay:<version>"),
        # BentoML's limit: it would raise its own exception, uncaught.
        ("flight-delay:" + "a" * 64, "expected flight-delay:<version>, the version at most 63"),
        ("flight-delay:doesnotexist", "no such model in the BentoML store"),
    ],
)
def test_a_pin_that_names_no_model_in_the_store_is_named(
    model_store: ModelStore, tmp_path: Path, pin: str, message: str
) -> None:
    _register(model_store, tmp_path, PROMOTED)
    with pytest.raises(ModelTagError, match=f"^{MODEL_ENV}={pin!r}: .*{message}"):
        promoted_tag({MODEL_ENV: pin})


def test_a_pin_of_latest_is_refused_and_one_of_a_versions_start_is_that_version(
    model_store: ModelStore, tmp_path: Path
) -> None:
    """`flight-delay:latest` served BentoML's newest registration, the candidate the gate had
    just refused here."""
    promoted = _register(model_store, tmp_path, PROMOTED)
    refused = _register(model_store, tmp_path, REGISTERED)
    pin = f"{MODEL_NAME}:latest"
    with pytest.raises(
        ModelTagError, match=f"^{MODEL_ENV}={pin!r}: `latest` is BentoML's newest registered"
    ):
        promoted_tag({MODEL_ENV: pin})
    for tag in (promoted, refused):
        assert promoted_tag({MODEL_ENV: tag[:-1]}) == tag
    for version in ("twin1", "twin2"):
        (model_store.home / "models" / MODEL_NAME / version).mkdir()
    with pytest.raises(ModelTagError, match="or it is the start of several versions"):
        promoted_tag({MODEL_ENV: f"{MODEL_NAME}:twin"})


# (An empty FLIGHT_DELAY_MODEL pins nothing.)
@given(st.text(min_size=1).filter(lambda text: not MODEL_TAG.fullmatch(text)))
def test_any_pin_that_is_no_model_tag_is_named(pin: str) -> None:
    assert tag_version(pin) is None
    with pytest.raises(ModelTagError, match="expected flight-delay:<version>") as raised:
        promoted_tag({MODEL_ENV: pin})
    assert repr(pin) in str(raised.value)


@given(
    st.from_regex(MODEL_TAG, fullmatch=True).filter(
        lambda tag: len(tag.split(":", 1)[1]) <= VERSION_MAX_LENGTH
    )
)
def test_a_model_tag_names_its_version(tag: str) -> None:
    assert tag_version(tag) == tag.split(":", 1)[1]


def test_a_relative_model_store_is_named_absolutely_for_processes_elsewhere(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The server's workers run in the artifact's code directory (serve.cli).
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv(HOME_ENV, "models")
    monkeypatch.delenv(DO_NOT_TRACK_ENV, raising=False)
    use_model_store()
    assert os.environ[HOME_ENV] == str(tmp_path / "models")
    assert os.environ[DO_NOT_TRACK_ENV] == "true"


def test_a_store_a_server_runs_on_is_refused_naming_its_workers(tmp_path: Path) -> None:
    # BentoML empties <home>/prometheus_multiproc_dir when a server starts; the running one's
    # metrics went with it (ready read 0, counts restarted), silently.
    metrics = tmp_path / "prometheus_multiproc_dir"
    metrics.mkdir()
    environ = {HOME_ENV: str(tmp_path)}
    check_store_unserved(environ)  # the directory empty: no server
    with subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    ) as worker:
        (metrics / f"gauge_livesum_{worker.pid}.db").write_bytes(b"")
        (metrics / "counter_1.db").write_bytes(b"")  # counts stay after a worker: no live one
        with pytest.raises(
            StoreServed, match=rf"runs on the model store {tmp_path} \(workers {worker.pid}\)"
        ):
            check_store_unserved(environ)
        worker.communicate(b"")
    # Its worker has exited (killed, its gauges left behind): the store is free again.
    check_store_unserved(environ)
