"""The model call, batched inside the process: requests that arrive while the model scores one
batch are scored together in the next. No HTTP route, no serialisation, no waiting timer: an idle
server scores a request at once, a busy one in batches as large as the load makes them."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

import numpy as np
import pandas as pd

Score = Callable[[pd.DataFrame], np.ndarray]
# Told each batch's rows and their scores, in the scoring thread (metrics, drift).
Observe = Callable[[pd.DataFrame, np.ndarray], None]
Batch = list[tuple[pd.DataFrame, "asyncio.Future[np.ndarray]"]]
log = logging.getLogger("serve")


class Batcher:
    """Calls `score` (in a thread) on the rows of concurrent `__call__`s, at most `max_rows`
    rows per call; a request is never split, so one larger than `max_rows` is scored alone."""

    def __init__(self, score: Score, max_rows: int, observe: Observe | None = None) -> None:
        self._score = score
        self._max_rows = max_rows
        self._observe = observe
        self._pending: Batch = []
        self._draining = False

    async def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._pending.append((rows, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    def _take(self) -> Batch:
        taken: Batch = []
        total = 0
        while self._pending and (not taken or total + len(self._pending[0][0]) <= self._max_rows):
            request = self._pending.pop(0)
            taken.append(request)
            total += len(request[0])
        return taken

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._take()
                frames = [rows for rows, _ in batch]

                def answer(scores: np.ndarray, batch: Batch = batch) -> None:
                    loop.call_soon_threadsafe(self._answer, batch, scores)

                try:
                    await asyncio.to_thread(self._score_all, frames, answer)
                except Exception as error:
                    if all(future.done() for _, future in batch):
                        # Answered: what failed is observe (metrics, drift), not the scores.
                        log.exception("observing a batch failed")
                    for _, future in batch:
                        if not future.done():
                            future.set_exception(error)
        finally:
            self._draining = False

    @staticmethod
    def _answer(batch: Batch, scores: np.ndarray) -> None:
        start = 0
        for rows, future in batch:
            if not future.done():
                future.set_result(scores[start : start + len(rows)])
            start += len(rows)

    def _score_all(self, frames: list[pd.DataFrame], answer: Callable[[np.ndarray], None]) -> None:
        """Score the rows, answer the requests, then observe: the drift update and the
        metrics are not part of a request's latency."""
        rows = frames[0] if len(frames) == 1 else pd.concat(frames, ignore_index=True)
        scores = np.asarray(self._score(rows), dtype="float64")
        answer(scores)
        if self._observe is not None:
            self._observe(rows, scores)
