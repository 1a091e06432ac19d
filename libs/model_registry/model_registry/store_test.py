import json
from pathlib import Path

import pandas as pd
import pytest

from model_registry.errors import RegistryError
from model_registry.predictor import ModelIntegrityError
from model_registry.store import (
    HOME_ENV,
    METADATA_FEATURES_WEATHER_LEAD_HOURS,
    METADATA_FEATURES_WINDOW_DAYS,
    METADATA_FILES_SHA256,
    MODEL_NAME,
    PROMOTED,
    REGISTERED,
    REGISTERED_RECORD,
    ROLLED_BACK,
    STAGE,
    Model,
    ModelStore,
    delete,
    get,
    listed_models,
    load_registered,
    models,
    open_store,
    promoted_model,
    register,
    registry_lock,
    roll_back,
    rollback_record,
    store_home,
    trained_window,
)
from model_registry.testing import (
    die_registering,
    locked_by_another_process,
    model_files,
    sklearn_predictor,
)
from storage.digest import tree_sha256
from storage.testing import name_too_long


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


def test_the_promoted_model_is_the_newest_labelled_promoted(
    model_store: ModelStore, tmp_path: Path
) -> None:
    store = model_store
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
    delete(store, second)
    promoted = promoted_model(store)
    assert promoted is not None and promoted.tag == first


def recorded_files(model: Model) -> set[str]:
    digests = model.info.metadata[METADATA_FILES_SHA256]
    assert isinstance(digests, dict)
    return set(digests)


def test_a_rolled_back_model_is_never_served_again_and_the_previous_one_is(
    model_store: ModelStore, tmp_path: Path
) -> None:
    store = model_store
    files = tmp_path / "files"
    files.mkdir()
    (files / "weights.bin").write_bytes(b"\x00")
    with pytest.raises(RegistryError, match="no promoted model to roll back"):
        roll_back(store, "bad model")
    first = register(store, files, {STAGE: PROMOTED}, {})
    second = register(store, files, {STAGE: PROMOTED}, {})
    with pytest.raises(RegistryError, match="needs a reason"):
        roll_back(store, " ")

    pulled, serving = roll_back(store, "p99 doubled after the deploy")
    assert pulled == second
    assert serving is not None and serving.tag == first
    promoted = promoted_model(store)
    assert promoted is not None and promoted.tag == first
    # Kept, with the reason, and outside the verified files.
    (marked,) = (m for m in models(store) if m.tag == second)
    record = rollback_record(marked)
    assert record is not None and record["reason"] == "p99 doubled after the deploy"
    # Readable as the model's other files are, by whoever serves from this store.
    plain = tmp_path / "plain"
    plain.write_text("")
    assert (Path(marked.path) / ROLLED_BACK).stat().st_mode == plain.stat().st_mode
    assert recorded_files(marked) == {"weights.bin"}

    assert roll_back(store, "and this one")[1] is None
    assert promoted_model(store) is None


@pytest.mark.parametrize(
    ("recorded", "why"),
    [
        # Registered before ADR 0019 recorded the lead: trained on the departure hour's weather.
        ({METADATA_FEATURES_WINDOW_DAYS: 7}, "the weather 0 hours before departure (registered "
                                             "before the lead was recorded)"),
        ({METADATA_FEATURES_WINDOW_DAYS: 7, METADATA_FEATURES_WEATHER_LEAD_HOURS: 48},
         "the weather 48 hours before departure and"),
    ],
)  # fmt: skip
def test_a_rollback_that_would_serve_a_model_of_another_weather_lead_changes_nothing(
    model_store: ModelStore, tmp_path: Path, recorded: dict[str, int], why: str
) -> None:
    """Before, the rollback marked the served model and left serving the one before it, which
    serve then refused to load (ADR 0019)."""
    store = model_store
    files = tmp_path / "files"
    files.mkdir()
    (files / "weights.bin").write_bytes(b"\x00")
    old = register(store, files, {STAGE: PROMOTED}, recorded)
    current = {METADATA_FEATURES_WINDOW_DAYS: 7, METADATA_FEATURES_WEATHER_LEAD_HOURS: 24}
    served = register(store, files, {STAGE: PROMOTED}, current)
    before = tree_sha256(store.home, "models")

    with pytest.raises(RegistryError) as error:
        roll_back(store, "p99 doubled after the deploy")
    message = str(error.value)
    assert f"cannot roll back {served}" in message
    assert f"{old} was trained on {why}" in message
    assert "serving gives each flight the weather 24 hours before" in message
    assert "nothing was changed" in message
    assert tree_sha256(store.home, "models") == before
    promoted = promoted_model(store)
    assert promoted is not None and promoted.tag == served


@pytest.mark.parametrize("damage", ["changed", "missing"])
def test_a_rollback_that_would_serve_a_model_with_a_damaged_file_changes_nothing(
    model_store: ModelStore, tmp_path: Path, damage: str
) -> None:
    """Before, the rollback marked the served model and left serving the one before it, whose
    file had changed since its registration, so serve refused to start on it (ADR 0012)."""
    store = model_store
    files = tmp_path / "files"
    files.mkdir()
    (files / "weights.bin").write_bytes(b"\x00")
    old = register(store, files, {STAGE: PROMOTED}, {})
    served = register(store, files, {STAGE: PROMOTED}, {})
    weights = Path(get(store, old).path) / "weights.bin"
    if damage == "changed":
        weights.write_bytes(b"\x01")
    else:
        weights.unlink()
    before = tree_sha256(store.home, "models")

    with pytest.raises(RegistryError) as error:
        roll_back(store, "p99 doubled after the deploy")
    message = str(error.value)
    assert f"cannot roll back {served}" in message
    assert "serve refuses it" in message and str(weights) in message
    assert ("the file changed" if damage == "changed" else "is missing") in message
    assert "nothing was changed" in message
    assert tree_sha256(store.home, "models") == before
    promoted = promoted_model(store)
    assert promoted is not None and promoted.tag == served


def test_registration_records_every_files_hash_and_loading_verifies_them(
    model_store: ModelStore, tmp_path: Path
) -> None:
    store = model_store
    directory = tmp_path / "model"
    sklearn_predictor().save(directory)
    tag = register(store, directory, {STAGE: PROMOTED}, {})
    (model,) = models(store)
    assert model.tag == tag
    assert recorded_files(model) == {"predictor.json", "pipeline.joblib"}
    assert load_registered(model).kind == "sklearn"
    # predictor.json itself is covered: a changed threshold is caught.
    manifest = Path(model.path) / "predictor.json"
    manifest.write_text(manifest.read_text().replace('"threshold": 0.5', '"threshold": 0.01'))
    with pytest.raises(ModelIntegrityError, match="predictor.json has sha256 .* registry record"):
        load_registered(model)


@pytest.mark.parametrize("with_model_yaml", [True, False])
def test_a_registration_that_died_mid_copy_is_never_served_and_the_previous_model_is(
    model_store: ModelStore, tmp_path: Path, with_model_yaml: bool
) -> None:
    files = model_files(tmp_path / "files")
    before = register(model_store, files, {STAGE: PROMOTED}, {})

    die_registering(model_store, files, with_model_yaml=with_model_yaml)
    versions = model_store.home / "models" / MODEL_NAME
    (dead,) = {v.name for v in versions.iterdir() if v.is_dir()} - {before.version}
    assert (versions / dead / "weights.bin").stat().st_size == 100

    assert [m.tag for m in models(model_store)] == [before]
    assert [m.tag for m in listed_models()] == [before]
    served = promoted_model(model_store)
    assert served is not None and served.tag == before
    if with_model_yaml:  # asked for by name, it is refused, saying why
        with pytest.raises(ModelIntegrityError, match=f"registration of {MODEL_NAME}:{dead} has"):
            load_registered(get(model_store, f"{MODEL_NAME}:{dead}"))


def test_a_registration_that_died_leaves_deleting_and_registering_working(
    model_store: ModelStore, tmp_path: Path
) -> None:
    """BentoML's delete removes a version, then lists the versions left to move its `latest`
    pointer, and that listing fails on a registration that died before its model.yaml. Before,
    `delete` raised BentoML's "does not contain a 'model.yaml'" (a run whose candidate failed
    to save stopped with it, not with "nothing was registered"), and the pointer left naming the
    deleted version made every later registration fail the same way after BentoML had copied
    its files: each stayed in the store, counted complete (its files verify) though its
    registration had failed."""
    files = model_files(tmp_path / "files")
    kept = register(model_store, files, {STAGE: PROMOTED}, {})
    die_registering(model_store, files, with_model_yaml=False)
    removed = register(model_store, files, {STAGE: PROMOTED}, {})

    delete(model_store, removed)
    assert [m.tag for m in models(model_store)] == [kept]
    added = register(model_store, files, {STAGE: REGISTERED}, {"run": 3})
    assert [m.tag for m in models(model_store)] == [kept, added]
    assert (Path(get(model_store, added).path) / REGISTERED_RECORD).is_file()


def test_a_model_registered_before_the_completion_record_counts_when_its_files_verify(
    model_store: ModelStore, tmp_path: Path
) -> None:
    sklearn_predictor().save(tmp_path / "model")
    older = register(model_store, tmp_path / "model", {STAGE: PROMOTED}, {})
    newer = register(model_store, tmp_path / "model", {STAGE: PROMOTED}, {})
    for model in models(model_store):
        (Path(model.path) / REGISTERED_RECORD).unlink()
    assert [m.tag for m in models(model_store)] == [older, newer]
    served = promoted_model(model_store)
    assert served is not None and served.tag == newer
    assert load_registered(served).kind == "sklearn"
    # A file cut short is a registration that never completed, not the model to serve.
    pipeline = Path(served.path) / "pipeline.joblib"
    pipeline.write_bytes(pipeline.read_bytes()[:-8])
    served = promoted_model(model_store)
    assert served is not None and served.tag == older


def test_registration_records_its_completion_outside_the_hashed_files(
    model_store: ModelStore, tmp_path: Path
) -> None:
    sklearn_predictor().save(tmp_path / "model")
    register(model_store, tmp_path / "model", {STAGE: PROMOTED}, {})
    (model,) = models(model_store)
    assert set(json.loads((Path(model.path) / REGISTERED_RECORD).read_text())) == {"at"}
    assert REGISTERED_RECORD not in recorded_files(model)


def test_the_store_has_one_writer_at_a_time_and_a_second_is_named_when_it_gives_up(
    model_store: ModelStore,
) -> None:
    busy = r"store at .* is busy: .* held by pid \d+"
    with (
        registry_lock(model_store),
        pytest.raises(RegistryError, match=busy),
        registry_lock(model_store, timeout=0),
    ):
        pass
    with registry_lock(model_store, timeout=0):
        pass


def test_a_rollback_waits_for_the_store_lock(model_store: ModelStore, tmp_path: Path) -> None:
    files = tmp_path / "files"
    files.mkdir()
    (files / "weights.bin").write_bytes(b"\x00")
    register(model_store, files, {STAGE: PROMOTED}, {})
    register(model_store, files, {STAGE: PROMOTED}, {})
    with locked_by_another_process(model_store, 2.0) as released:
        roll_back(model_store, "p99 doubled")
        assert released.exists()


@pytest.mark.parametrize(
    ("metadata", "window"),
    [({METADATA_FEATURES_WINDOW_DAYS: 14}, pd.Timedelta(days=14)), ({}, None)],
)
def test_the_trained_window_is_the_one_registration_recorded(
    model_store: ModelStore, tmp_path: Path, metadata: dict[str, int], window: pd.Timedelta | None
) -> None:
    sklearn_predictor().save(tmp_path / "model")
    register(model_store, tmp_path / "model", {STAGE: PROMOTED}, metadata)
    (model,) = models(model_store)
    assert trained_window(model) == window


def test_a_recorded_window_that_is_not_one_is_named(
    model_store: ModelStore, tmp_path: Path
) -> None:
    sklearn_predictor().save(tmp_path / "model")
    tag = register(
        model_store, tmp_path / "model", {STAGE: PROMOTED}, {METADATA_FEATURES_WINDOW_DAYS: "14"}
    )
    (model,) = models(model_store)
    with pytest.raises(RegistryError) as error:
        trained_window(model)
    assert str(error.value) == (
        f"{tag}'s 'features_window_days' must be a whole number of days, got '14'"
    )


def test_a_process_has_one_store_and_a_second_is_refused_by_name(
    model_store: ModelStore, tmp_path: Path
) -> None:
    assert open_store(model_store.home) == model_store
    with pytest.raises(RegistryError, match=f"cannot open the model store at {tmp_path / 'other'}"):
        open_store(tmp_path / "other")


def test_a_store_that_must_exist_is_named_when_it_does_not_and_nothing_is_made(
    tmp_path: Path,
) -> None:
    typo = tmp_path / "bentoml-hmoe"
    with pytest.raises(RegistryError, match=f"^no model store at {typo} "):
        open_store(typo, create=False)
    assert not typo.exists()


def test_a_store_the_filesystem_cannot_look_up_is_named(tmp_path: Path) -> None:
    # Its look-up raised pathlib's OSError: `train rollback --store` ended in a traceback.
    home = name_too_long(tmp_path)
    with pytest.raises(
        RegistryError, match=r"its models/ directory cannot be looked up \(File name too long\)"
    ):
        open_store(home, create=False)


def test_the_store_is_empty_at_the_start_of_every_test(model_store: ModelStore) -> None:
    # The tests above registered models; the fixture deleted them.
    assert models(model_store) == []
