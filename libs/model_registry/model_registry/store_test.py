from pathlib import Path

import pytest

from model_registry.store import (
    HOME_ENV,
    PROMOTED,
    REGISTERED,
    STAGE,
    models,
    open_store,
    promoted_model,
    register,
    store_home,
)
from model_registry.testing import bentoml_env  # noqa: F401 (an autouse fixture)


def test_home_is_the_repo_build_area_unless_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    (repo / "services" / "train").mkdir(parents=True)
    (repo / "pants.toml").write_text("")
    monkeypatch.chdir(repo / "services" / "train")
    assert store_home(environ={}) == repo / "build" / "bentoml"
    assert store_home(environ={HOME_ENV: str(tmp_path / "env")}) == tmp_path / "env"
    assert store_home(tmp_path / "flag", environ={HOME_ENV: "x"}) == tmp_path / "flag"
    monkeypatch.chdir(tmp_path)
    assert store_home(environ={}) == tmp_path / "build" / "bentoml"


def test_the_promoted_model_is_the_newest_labelled_promoted(tmp_path: Path) -> None:
    store = open_store(tmp_path / "bentoml")
    assert models(store) == []
    assert promoted_model(store) is None
    files = tmp_path / "files"
    files.mkdir()
    (files / "weights.bin").write_bytes(b"\x00")
    first = register(store, files, {STAGE: PROMOTED}, {"run": 1})
    second = register(store, files, {STAGE: PROMOTED}, {"run": 2})
    register(store, files, {STAGE: REGISTERED}, {"run": 3})

    assert [m.info.metadata["run"] for m in models(store)] == [1, 2, 3]
    promoted = promoted_model(store)
    assert promoted is not None and promoted.tag == second
    assert (Path(promoted.path) / "weights.bin").read_bytes() == b"\x00"
    store.delete(second)
    promoted = promoted_model(store)
    assert promoted is not None and promoted.tag == first
