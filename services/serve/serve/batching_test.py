import asyncio
import threading

import numpy as np
import pandas as pd
import pytest

from serve.batching import Batcher


class Model:
    """Scores a row by its value x; records the rows of each call."""

    def __init__(self) -> None:
        self.calls: list[list[float]] = []

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        self.calls.append(rows["x"].tolist())
        return rows["x"].to_numpy(dtype="float64") * 10


def _rows(*values: float) -> list[float]:
    """A request: its rows' values of x."""
    return list(values)


def _as_rows(request: list[float]) -> pd.DataFrame:
    if any(value < 0 for value in request):
        raise ValueError(f"negative x in {request}")
    return pd.DataFrame({"x": request})


async def _gather(batcher: Batcher[list[float]], requests: list[list[float]]) -> list[list[float]]:
    results = await asyncio.gather(*(batcher(rows) for rows in requests))
    return [r.tolist() for r in results]


def test_concurrent_requests_are_scored_together_and_answered_in_order() -> None:
    model = Model()
    batcher = Batcher(_as_rows, model, max_rows=10)
    requests = [_rows(1), _rows(2, 3), _rows(4)]
    assert asyncio.run(_gather(batcher, requests)) == [[10.0], [20.0, 30.0], [40.0]]
    # All three arrived before the first call started: one call.
    assert model.calls == [[1, 2, 3, 4]]


def test_a_call_holds_at_most_max_rows_and_never_splits_a_request() -> None:
    model = Model()
    batcher = Batcher(_as_rows, model, max_rows=3)
    requests = [_rows(1, 2), _rows(3, 4), _rows(5, 6, 7, 8)]
    assert asyncio.run(_gather(batcher, requests))[2] == [50.0, 60.0, 70.0, 80.0]
    assert model.calls == [[1, 2], [3, 4], [5, 6, 7, 8]]


def test_every_request_of_a_failed_call_gets_the_error_and_the_next_call_works() -> None:
    def failing(rows: pd.DataFrame) -> np.ndarray:
        raise ValueError("bad rows")

    batcher = Batcher(_as_rows, failing, max_rows=10)

    async def run() -> list[BaseException | np.ndarray]:
        return list(
            await asyncio.gather(batcher(_rows(1)), batcher(_rows(2)), return_exceptions=True)
        )

    assert [str(r) for r in asyncio.run(run())] == ["bad rows", "bad rows"]
    with pytest.raises(ValueError, match="bad rows"):
        asyncio.run(batcher(_rows(3)))


def test_observe_sees_each_call() -> None:
    seen: list[tuple[int, list[float]]] = []
    batcher = Batcher(
        _as_rows,
        Model(),
        10,
        observe=lambda rows, scores: seen.append((len(rows), scores.tolist())),
    )
    asyncio.run(_gather(batcher, [_rows(1), _rows(2)]))
    assert seen == [(2, [10.0, 20.0])]


def test_a_batch_whose_observing_fails_is_answered_and_counted_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Observing runs after the answers (the drift window, the metrics): its failure reaches no
    caller, so it was only logged, and the drift gauges kept their last values unseen."""
    failed: list[None] = []

    def observe(rows: pd.DataFrame, scores: np.ndarray) -> None:
        raise RuntimeError("the drift window is broken")

    batcher = Batcher(
        _as_rows, Model(), 10, observe=observe, observe_failed=lambda: failed.append(None)
    )
    assert asyncio.run(_gather(batcher, [_rows(1), _rows(2)])) == [[10.0], [20.0]]
    assert asyncio.run(_gather(batcher, [_rows(3)])) == [[30.0]]
    assert len(failed) == 2
    assert "observing a batch failed" in caplog.text
    assert "the drift window is broken" in caplog.text


def test_a_request_whose_rows_cannot_be_prepared_gets_its_error_and_its_batch_is_scored() -> None:
    model = Model()
    batcher = Batcher(_as_rows, model, max_rows=10)

    async def run() -> list[BaseException | np.ndarray]:
        requests = [_rows(1), _rows(-2), _rows(3, 4)]
        return list(await asyncio.gather(*map(batcher, requests), return_exceptions=True))

    first, bad, last = asyncio.run(run())
    assert isinstance(bad, ValueError) and str(bad) == "negative x in [-2]"
    assert [np.asarray(first).tolist(), np.asarray(last).tolist()] == [[10.0], [30.0, 40.0]]
    assert model.calls == [[1, 3, 4]]


def test_a_batch_of_requests_that_all_fail_to_prepare_scores_nothing() -> None:
    model = Model()
    batcher = Batcher(_as_rows, model, max_rows=10)
    with pytest.raises(ValueError, match="negative x"):
        asyncio.run(batcher(_rows(-1)))
    assert model.calls == []


def test_a_request_cancelled_while_queued_is_neither_prepared_nor_scored() -> None:
    """Its caller has gone (a timeout): preparing it would only delay the requests behind it."""
    model = Model()
    prepared: list[list[float]] = []
    first_started, release_first = threading.Event(), threading.Event()

    def prepare(request: list[float]) -> pd.DataFrame:
        prepared.append(request)
        if request == [1]:
            first_started.set()
            release_first.wait(60)
        return _as_rows(request)

    batcher = Batcher(prepare, model, max_rows=10)

    async def run() -> list[float]:
        first = asyncio.create_task(batcher(_rows(1)))
        await asyncio.to_thread(first_started.wait, 60)
        # Queued while the first batch is prepared: the next batch's.
        gone = asyncio.create_task(batcher(_rows(2)))
        kept = asyncio.create_task(batcher(_rows(3)))
        await asyncio.sleep(0)
        gone.cancel()
        release_first.set()
        await first
        result: list[float] = (await kept).tolist()
        return result

    assert asyncio.run(run()) == [30.0]
    assert prepared == [[1], [3]] and model.calls == [[1], [3]]
