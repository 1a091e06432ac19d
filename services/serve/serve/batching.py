"""The model call, batched inside the process: requests that arrive while the model scores one
batch are scored together in the next. No HTTP route, no serialisation, no waiting timer: an idle
server scores a request at once, a busy one in batches as large as the load makes them."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import numpy as np
import pandas as pd

Score = Callable[[pd.DataFrame], np.ndarray]
# Told each batch's rows and their scores, in the scoring thread (metrics, drift).
Observe = Callable[[pd.DataFrame, np.ndarray], None]


class Batcher:
    """Calls `score` (in a thread) on the rows of concurrent `__call__`s, at most `max_rows`
    rows per call; a request is never split, so one larger than `max_rows` is scored alone."""

    def __init__(self, score: Score, max_rows: int, observe: Observe | None = None) -> None:
        self._score = score
        self._max_rows = max_rows
        self._observe = observe
        self._pending: list[tuple[pd.DataFrame, asyncio.Future[np.ndarray]]] = []
        self._draining = False

    async def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    def _take(self) -> list[tuple[pd.DataFrame, asyncio.Future[np.ndarray]]]:
        taken: list[tuple[pd.DataFrame, asyncio.Future[np.ndarray]]] = []
        total = 0
        while self._pending and (not taken or total + len(self._pending[0][0]) <= self._max_rows):
            request = self._pending.pop(0)
            taken.append(request)
            total += len(request[0])
        return taken

    async def _drain(self) -> None:
        try:
            while self._pending:
                batch = self._take()
                frames = [rows for rows, _ in batch]
                try:
                    scores = await asyncio.to_thread(self._score_all, frames)
                except Exception as error:
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
                    continue
                start = 0
                for rows, future in batch:
                    if not future.done():
                        future.set_result(scores[start : start + len(rows)])
                    start += len(rows)
        finally:
            self._draining = False

    def _score_all(self, frames: list[pd.DataFrame]) -> np.ndarray:
        rows = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        scores = np.asarray(self._score(rows), dtype="float64")
        if self._observe is not None:
            self._observe(rows, scores)
        return scores
