"""What the serving tests share: a small real pipeline output, a real registered model, and the
serve service's artifact running as a real server on a free loopback port."""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
import sys
from collections.abc import Hashable, Iterator, Sequence
from contextlib import closing, contextmanager, suppress
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import yaml
from sklearn.compose import ColumnTransformer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from feature.cli import main as feature_main
from feature.materialize import materialize
from feature_definitions.features import FEATURES
from feature_definitions.labels import LABEL
from feature_definitions.weather import WEATHER_LEAD_HOURS
from ingest.cli import main as ingest_main
from loopback.processes import children, start_server, stop, wait_until
from model_registry.predictor import SklearnPredictor, model_frame
from model_registry.store import (
    CANDIDATE,
    KIND,
    METADATA_FEATURES_WEATHER_LEAD_HOURS,
    METADATA_FEATURES_WINDOW_DAYS,
    PROMOTED,
    ROLE,
    STAGE,
    ModelStore,
    register,
)
from online_store.store import OnlineStore
from serve.bento import PACKAGES
from serve.sources import ONLINE_STORE, STATS
from storage.atomic import atomic_output

TABLES = ("flights", "weather", "planes", "airports")
START, END = "2013-01-01", "2013-01-14"
SPLITS = ("--train-end", "2013-01-07", "--validation-end", "2013-01-10")
WINDOW_DAYS = 7


def params_psi_threshold() -> float:
    """params.yaml's monitor.psi_threshold, which the feature build writes into stats.json."""
    threshold = yaml.safe_load(Path("params.yaml").read_text())["monitor"]["psi_threshold"]
    assert isinstance(threshold, int | float), threshold
    return float(threshold)


def build_data(root: Path) -> tuple[Path, Path, Path]:
    """Land, curate and build features for two weeks of January 2013, and materialise the
    online store; return (curated, features, store file)."""
    landing, curated, features = root / "landing", root / "curated", root / "features"
    days = ["--start", START, "--end", END]
    assert ingest_main(["land", *days, "--landing", str(landing), "--tables", *TABLES]) == 0
    assert ingest_main(["curate", "--landing", str(landing), "--curated", str(curated)]) == 0
    window = ["--window-days", str(WINDOW_DAYS)]
    threshold = ["--psi-threshold", str(params_psi_threshold())]
    build = ["build", "--curated", str(curated), "--output", str(features), *SPLITS]
    assert feature_main([*build, *window, *threshold]) == 0
    store = root / "online_store" / "online.sqlite"
    materialize(curated, store, WINDOW_DAYS)
    return curated, features, store


def register_model(features: Path, store: ModelStore, workdir: Path, stage: str = PROMOTED) -> str:
    """Fit a logistic regression on the train split, save it as a predictor and register it
    with `stage` (promoted, as the train service's gate does when it passes); return its tag."""
    train = pd.read_parquet(features / "train.parquet")
    categorical = [f.name for f in FEATURES if f.kind == "categorical"]
    numeric = [f.name for f in FEATURES if f.kind == "numeric"]
    encode = ColumnTransformer(
        [
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
            ("numeric", StandardScaler(), numeric),
        ]
    )
    pipeline = Pipeline([("encode", encode), ("model", LogisticRegression(max_iter=500))])
    pipeline.fit(model_frame(train, FEATURES), train[LABEL].to_numpy())
    directory = workdir / "predictor"
    SklearnPredictor(pipeline, FEATURES, threshold=0.5).save(directory)
    labels = {ROLE: CANDIDATE, KIND: "sklearn", STAGE: stage}
    # As the evaluate stage records it from the features' statistics.
    metadata = {
        METADATA_FEATURES_WINDOW_DAYS: WINDOW_DAYS,
        METADATA_FEATURES_WEATHER_LEAD_HOURS: WEATHER_LEAD_HOURS,
    }
    return str(register(store, directory, labels, metadata))


def serving_data(directory: Path, features: Path, store: Path | None = None) -> Path:
    """`directory` laid out as the service's serving data (serve.sources): the statistics of
    the feature output `features` and, if given, a copy of the online store `store`."""
    (directory / STATS).parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(features / "stats.json", directory / STATS)
    if store is not None:
        deliver_store(store, directory)
    return directory


def store_copy(home: Path, directory: Path) -> Path:
    """A copy of the BentoML home `home`'s model store in `directory`, for a server that runs
    beside one on `home` (serve refuses a store a server runs on: BentoML would empty its
    metrics directory)."""
    shutil.copytree(home / "models", directory / "models", symlinks=True)
    return directory


def deliver_store(store: Path, directory: Path) -> None:
    """Copy the online store `store` into the serving data `directory` as the pipeline's stage
    writes it, aside and renamed: a server waiting for it opens it as soon as it is there, and
    must never see half of it."""
    with atomic_output(directory / ONLINE_STORE) as part:
        shutil.copy(store, part)


def scoring_the_first_week(store: Path, copy: Path) -> Path:
    """A copy of the online store `store` at `copy` that records its data start a window earlier
    than its first flight. The store refuses a flight whose trailing window starts before its
    data (ADR 0018), as every flight of the world's first week, the train split's, does; the
    copy scores them, over windows that run before the data, as the training table counted
    them: traffic like the train split, for the drift tests."""
    shutil.copy(store, copy)
    opened = OnlineStore(copy)
    earlier = int((opened.start - opened.window).value)
    with closing(sqlite3.connect(copy)) as db, db:
        db.execute("UPDATE meta SET value = ? WHERE key = 'start_ns'", (str(earlier),))
    return copy


def without_weather_at(store: Path, copy: Path, origin: str) -> Path:
    """A copy of the online store `store` at `copy` that holds no weather at `origin`, as
    `feature online-store` writes it from curated data with none there: `origin`'s flights are
    still among those it was built from, and it refuses them."""
    shutil.copy(store, copy)
    with closing(sqlite3.connect(copy)) as db, db:
        db.execute("DELETE FROM weather WHERE origin = ?", (origin,))
    assert OnlineStore(copy).weatherless == (origin,)
    return copy


def workers_option(count: int) -> str:
    """BentoML's per-service setting for the number of workers. The service asks for one per
    core, which differs between machines; a test that waits for every worker sets it."""
    return f"services.FlightDelayService.workers={count}"


# For a command that starts a server of its own and needs no second worker: one process less.
ONE_WORKER = {"BENTOML_CONFIG_OPTIONS": workers_option(1)}


# The serve service's artifact (the tests' runtime_package_dependencies), as `./pants package`
# writes it: the servers run it, not the sources beside the tests.
SERVE_ARTIFACT = Path("services.serve/serve.pex").resolve()


def server_env(home: Path, data: Path) -> dict[str, str]:
    """The environment of a server on the model store `home` and the serving data `data`."""
    return {
        **os.environ,
        "BENTOML_HOME": str(home),
        "BENTOML_DO_NOT_TRACK": "true",
        "FLIGHT_DELAY_SERVING_DATA": str(data),
    }


class Server:
    def __init__(self, process: subprocess.Popen[bytes], url: str, log: Path, workers: int) -> None:
        self.process, self.url, self.log, self.workers = process, url, log, workers

    def client(self) -> httpx.Client:
        return httpx.Client(base_url=self.url, timeout=60)

    def wait(self, path: str, status: int, timeout: float = 120, *lines: str) -> None:
        """Until `path` answers `status` with each of `lines` in its text."""

        def answers() -> bool:
            answer = httpx.get(self.url + path, timeout=5)
            text = f"\n{answer.text}\n"
            assert answer.status_code == status, answer.status_code
            missing = [line for line in lines if f"\n{line}\n" not in text]
            # What the page says instead: its lines of the same series.
            instead = [
                seen
                for seen in text.splitlines()
                if any(seen.startswith(f"{line.rsplit(' ', 1)[0]} ") for line in missing)
            ]
            assert not missing, (missing, instead)
            return True

        wait_until(
            answers,
            what=f"{path} answering {status} {lines!r}",
            timeout=timeout,
            process=self.process,
            log=self.log,
            retry_on=(httpx.TransportError, AssertionError),
        )

    def worker_pids(self) -> list[int]:
        """The pids of the server's workers: `bentoml serve` runs each as a child process."""
        return children(self.process.pid)

    def worker_answering(self, response: httpx.Response) -> int:
        """The pid of the worker that answered `response`: the one holding the server's end of
        its connection (Linux's /proc)."""
        host, port = response.extensions["network_stream"].get_extra_info("client_addr")
        assert host == "127.0.0.1", host
        server_port = int(self.url.rsplit(":", 1)[1])
        # Lines of /proc/net/tcp: index, local address, remote address, ..., inode (the 10th).
        ours = f"0100007F:{server_port:04X} 0100007F:{port:04X}"
        inodes = [
            line.split()[9]
            for line in Path("/proc/net/tcp").read_text().splitlines()[1:]
            if " ".join(line.split()[1:3]) == ours
        ]
        assert len(inodes) == 1, f"{len(inodes)} server ends of port {port}'s connection"
        socket = f"socket:[{inodes[0]}]"
        holders = [pid for pid in self.worker_pids() if socket in open_files(pid)]
        assert len(holders) == 1, f"workers {holders} hold the connection's server end"
        return holders[0]

    @contextmanager
    def client_on(self, worker: int, tries: int = 100) -> Iterator[httpx.Client]:
        """A client whose one kept-alive connection the worker `worker` answers: the kernel
        hands each new connection to one worker, so the test cannot choose, only try again."""
        for _ in range(tries):
            with httpx.Client(
                base_url=self.url, timeout=60, limits=httpx.Limits(max_connections=1)
            ) as client:
                if self.worker_answering(client.get("/livez")) == worker:
                    yield client
                    return
        raise AssertionError(f"no connection of {tries} was answered by worker {worker}")

    def wait_ready(self, timeout: float = 120) -> None:
        """Until every worker is ready. /readyz is answered by whichever worker takes the
        request, so one 200 does not say the others have loaded; the ready gauge is the lowest
        over the workers that have started, so it says so once the workers gauge counts all."""
        self.wait("/readyz", 200, timeout)
        self.wait(
            "/metrics",
            200,
            timeout,
            f"flight_delay_workers {float(self.workers)}",
            "flight_delay_ready 1.0",
        )


def open_files(pid: int) -> set[str]:
    """What the process `pid`'s file descriptors point at (`socket:[<inode>]` for a socket)."""
    found = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        with suppress(FileNotFoundError):  # closed since the listing
            found.add(os.readlink(fd))
    return found


@contextmanager
def serving(
    command: Sequence[str], env: dict[str, str], log: Path, cwd: Path, workers: int = 2
) -> Iterator[Server]:
    """Run `command` + host and port as a server with `workers` workers (added to the BentoML
    options `env` holds), started again if a port it binds was taken (start_server); always
    stop it."""
    options = [env.get("BENTOML_CONFIG_OPTIONS", ""), workers_option(workers)]
    process, port = start_server(
        lambda port: [*command, "--host", "127.0.0.1", "--port", str(port)],
        # BentoML binds its sockets before it starts the first worker.
        started=lambda process, _: bool(children(process.pid)),
        what=" ".join(command),
        log=log,
        timeout=120,
        env={**env, "BENTOML_CONFIG_OPTIONS": " ".join(filter(None, options))},
        cwd=cwd,
        start_new_session=True,
    )
    try:
        yield Server(process, f"http://127.0.0.1:{port}", log, workers)
    finally:
        stop(process)


def third_party_path() -> str:
    """sys.path without the first-party source roots, for a server that runs a built Bento:
    the Bento must bring its own code."""
    return os.pathsep.join(
        os.path.abspath(p)
        for p in sys.path
        if p and not any((Path(p) / name).is_dir() for name in PACKAGES)
    )


# Names of the server's own packages and of libraries it imports (bentoml first, to run it).
DECOYS = ("serve", "feature_definitions", "pandas", "bentoml")


def plant_decoys(directory: Path) -> None:
    """Packages named DECOYS in `directory`, each failing on import: a server started there (or
    with it on PYTHONPATH) that imported code from it, not from its artifact, fails to start."""
    for name in DECOYS:
        (directory / name).mkdir()
        (directory / name / "__init__.py").write_text(
            f"raise ImportError({f'{name} imported from {directory}, not the artifact'!r})\n"
        )


def service_command() -> list[str]:
    """The serve artifact's command that runs the server; `serving()` adds the host and port,
    passed on to `bentoml serve`."""
    return [str(SERVE_ARTIFACT / "__main__.py"), "serve"]


def request_flights(features: Path, curated: Path, split: str = "test") -> pd.DataFrame:
    """The flights of a split with the fields a request carries, joined back from curated."""
    from contracts.flights import NATURAL_KEY

    table = pd.read_parquet(features / f"{split}.parquet")
    flights = pd.concat(
        [pd.read_parquet(p) for p in sorted((curated / "flights").glob("*.parquet"))],
        ignore_index=True,
    )
    keys = list(NATURAL_KEY)
    joined = table[keys].merge(flights, on=keys, how="left", validate="one_to_one")
    joined.index = table.index
    return joined


def as_request(flights: pd.DataFrame) -> list[dict[str, Any]]:
    """The flights as /predict's JSON objects (time_hour with its UTC offset)."""
    rows: list[dict[Hashable, Any]] = flights.to_dict("records")
    return [
        {
            "carrier": str(row["carrier"]),
            "flight": int(row["flight"]),
            "tailnum": None if pd.isna(row["tailnum"]) else str(row["tailnum"]),
            "origin": str(row["origin"]),
            "dest": str(row["dest"]),
            "time_hour": row["time_hour"].isoformat(),
            "sched_dep_time": int(row["sched_dep_time"]),
            "sched_arr_time": int(row["sched_arr_time"]),
            "distance": float(row["distance"]),
        }
        for row in rows
    ]


def metric_total(metrics: str, name: str, label: str = "") -> float:
    """The sum of the samples on a /metrics page whose line starts with `name` and contains
    `label` (a histogram's `_sum` or `_count`, a counter over its label sets)."""
    return sum(
        float(line.split()[-1])
        for line in metrics.splitlines()
        if line.startswith(name) and label in line
    )


def wait_for_rows(server: Server, client: httpx.Client, before: str, rows: int) -> str:
    """The /metrics page once `server` has counted `rows` more scored rows than on the page
    `before`. It observes a batch (drift, probabilities, then the row count) after answering
    it, so a page read right after the last answer may lack that batch. Failing, it names the
    page's status and shows the server log's tail, where a batch whose observing failed is."""
    wanted = metric_total(before, "flight_delay_batch_rows_sum") + rows

    def counted() -> str:
        answer = client.get("/metrics")
        assert answer.status_code == 200, f"/metrics answered {answer.status_code}: {answer.text}"
        total = metric_total(answer.text, "flight_delay_batch_rows_sum")
        failed = metric_total(answer.text, "flight_delay_observe_failures_total")
        assert total >= wanted, f"{total} rows counted, expected {wanted} ({failed} not observed)"
        return answer.text

    return wait_until(
        counted,
        what="the scored rows",
        timeout=30,
        interval=0.05,
        process=server.process,
        log=server.log,
        retry_on=(AssertionError,),
    )
