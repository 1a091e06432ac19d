import asyncio

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


def _rows(*values: float) -> pd.DataFrame:
    return pd.DataFrame({"x": list(values)})


async def _gather(batcher: Batcher, requests: list[pd.DataFrame]) -> list[list[float]]:
    results = await asyncio.gather(*(batcher(rows) for rows in requests))
    return [r.tolist() for r in results]


def test_concurrent_requests_are_scored_together_and_answered_in_order() -> None:
    model = Model()
    batcher = Batcher(model, max_rows=10)
    requests = [_rows(1), _rows(2, 3), _rows(4)]
    assert asyncio.run(_gather(batcher, requests)) == [[10.0], [20.0, 30.0], [40.0]]
    # All three arrived before the first call started: one call.
    assert model.calls == [[1, 2, 3, 4]]


def test_a_call_holds_at_most_max_rows_and_never_splits_a_request() -> None:
    model = Model()
    batcher = Batcher(model, max_rows=3)
    requests = [_rows(1, 2), _rows(3, 4), _rows(5, 6, 7, 8)]
    assert asyncio.run(_gather(batcher, requests))[2] == [50.0, 60.0, 70.0, 80.0]
    assert model.calls == [[1, 2], [3, 4], [5, 6, 7, 8]]


def test_every_request_of_a_failed_call_gets_the_error_and_the_next_call_works() -> None:
    def failing(rows: pd.DataFrame) -> np.ndarray:
        raise ValueError("bad rows")

    batcher = Batcher(failing, max_rows=10)

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
        Model(), 10, observe=lambda rows, scores: seen.append((len(rows), scores.tolist()))
    )
    asyncio.run(_gather(batcher, [_rows(1), _rows(2)]))
    assert seen == [(2, [10.0, 20.0])]
