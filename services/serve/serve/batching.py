"""The model call, batched inside the process: requests that arrive while the model scores one
batch are scored together in the next. No HTTP route, no serialisation, no waiting timer: an idle
server scores a request at once, a busy one in batches as large as the load makes them.

A request reaches the scoring thread as it came (for serve, its flights), and its rows are
prepared there (the features), so a request costs one hop to a thread, not one to prepare it and
another to score it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sized
from typing import Generic, TypeVar

import numpy as np
import pandas as pd

Request = TypeVar("Request", bound=Sized)
Pending = list[tuple[Request, "asyncio.Future[np.ndarray]"]]
Score = Callable[[pd.DataFrame], np.ndarray]
# Told each batch's rows and their scores, in the scoring thread (metrics, drift).
Observe = Callable[[pd.DataFrame, np.ndarray], None]
log = logging.getLogger("serve")


class Batcher(Generic[Request]):
    """Calls `score` (in a thread) on the rows `prepare` makes of concurrent `__call__`s'
    requests, at most `max_rows` rows (a request's `len`) per call; a request is never split,
    so one larger than `max_rows` is scored alone. A request whose `prepare` raises gets that
    error; the others of its batch are scored."""

    def __init__(
        self,
        prepare: Callable[[Request], pd.DataFrame],
        score: Score,
        max_rows: int,
        observe: Observe | None = None,
        observe_failed: Callable[[], None] | None = None,
    ) -> None:
        self._prepare = prepare
        self._score = score
        self._max_rows = max_rows
        self._observe = observe
        self._observe_failed = observe_failed
        self._pending: Pending[Request] = []
        self._draining = False

    async def __call__(self, request: Request) -> np.ndarray:
        future: asyncio.Future[np.ndarray] = asyncio.get_running_loop().create_future()
        self._pending.append((request, future))
        if not self._draining:
            self._draining = True
            asyncio.get_running_loop().create_task(self._drain())
        return await future

    def _take(self) -> Pending[Request]:
        taken: Pending[Request] = []
        total = 0
        while self._pending and (not taken or total + len(self._pending[0][0]) <= self._max_rows):
            request = self._pending.pop(0)
            if request[1].done():
                continue  # cancelled: its caller has gone (a timeout), nothing to answer
            taken.append(request)
            total += len(request[0])
        return taken

    async def _drain(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            while self._pending:
                batch = self._take()
                requests = [request for request, _ in batch]
                futures = [future for _, future in batch]

                def answer(
                    results: list[np.ndarray | BaseException],
                    futures: list[asyncio.Future[np.ndarray]] = futures,
                ) -> None:
                    loop.call_soon_threadsafe(self._answer, futures, results)

                try:
                    await asyncio.to_thread(self._score_all, requests, answer)
                except Exception as error:
                    for future in futures:
                        if not future.done():
                            future.set_exception(error)
        finally:
            self._draining = False

    @staticmethod
    def _answer(
        futures: list[asyncio.Future[np.ndarray]], results: list[np.ndarray | BaseException]
    ) -> None:
        for future, result in zip(futures, results, strict=True):
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)

    def _score_all(
        self,
        requests: list[Request],
        answer: Callable[[list[np.ndarray | BaseException]], None],
    ) -> None:
        """Prepare and score the requests' rows, answer the requests, then observe: the drift
        update and the metrics are not part of a request's latency."""
        prepared: list[pd.DataFrame | BaseException] = []
        for request in requests:
            try:
                prepared.append(self._prepare(request))
            except Exception as error:
                prepared.append(error)
        frames = [frame for frame in prepared if isinstance(frame, pd.DataFrame)]
        rows = pd.concat(frames, ignore_index=True) if len(frames) > 1 else next(iter(frames), None)
        scores = np.zeros(0) if rows is None else np.asarray(self._score(rows), dtype="float64")
        per_frame = iter(np.split(scores, np.cumsum([len(frame) for frame in frames])[:-1]))
        answer([p if isinstance(p, BaseException) else next(per_frame) for p in prepared])
        if rows is not None and self._observe is not None:
            # Answered: the failure reaches no caller, so it is logged and counted
            # (`observe_failed`), else the drift gauges would keep their last values unseen.
            try:
                self._observe(rows, scores)
            except Exception:
                log.exception("observing a batch failed")
                if self._observe_failed is not None:
                    self._observe_failed()
