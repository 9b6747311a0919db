"""Micro-batching: concurrent callers queue work items and one worker thread runs them in batches.

A batch starts with the oldest waiting item and takes the items that arrive within ``max_wait_ms``, up to
``max_batch``, in arrival order. The queue is bounded: one item more is refused at once with
:class:`~contextsieve.errors.OverloadedError`, and an accepted item is always answered. A caller that cancels its
future before its batch starts is skipped; one that gives up later has its result discarded.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from contextsieve.config import BatchingConfig
from contextsieve.errors import OverloadedError

__all__ = ["BatchListener", "BatchStats", "MicroBatcher"]

logger = logging.getLogger(__name__)

Item = TypeVar("Item")

BatchListener = Callable[[int, float], None]
"""Called after every batch with its size and the seconds it took."""

_STOP = object()


@dataclass(frozen=True)
class BatchStats:
    """Counters of a :class:`MicroBatcher`: batches run, items answered, items refused, items waiting now."""

    batches: int
    items: int
    refused: int
    waiting: int

    @property
    def mean_batch(self) -> float:
        """Mean items per batch."""
        return self.items / self.batches if self.batches else 0.0


class MicroBatcher(Generic[Item]):
    """Run items in batches with ``run_batch(items) -> outcomes`` on one worker thread.

    ``run_batch`` returns one outcome per item, in order; an outcome that is an exception is set on that item's
    future. If ``run_batch`` itself raises, every item of the batch gets the error and the worker keeps serving.
    """

    def __init__(
        self, run_batch: Callable[[Sequence[Item]], Sequence[Any]], config: BatchingConfig, *, name: str = "batcher"
    ) -> None:
        self.config = config
        self._run_batch = run_batch
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=config.max_queue)
        self._listeners: list[BatchListener] = []
        self._lock = threading.Lock()
        self._batches = self._items = self._refused = 0
        self._name = name
        self._worker: threading.Thread | None = None
        self._closed = False

    def submit(self, item: Item) -> Future[Any]:
        """Queue ``item``; the future holds its outcome. A full queue raises :class:`OverloadedError`."""
        future: Future[Any] = Future()
        with self._lock:
            if self._closed:
                msg = f"the {self._name} is closed"
                raise OverloadedError(msg)
            self._start()
            try:
                self._queue.put_nowait((item, future))
            except queue.Full:
                self._refused += 1
                waited = max(self.config.max_wait_ms / 1000.0, 0.05)
                msg = f"the {self._name} queue is full ({self.config.max_queue} waiting); retry shortly"
                raise OverloadedError(msg, retry_after=round(waited * 10, 2)) from None
        return future

    def add_listener(self, listener: BatchListener) -> None:
        """Call ``listener(size, seconds)`` after every batch (metrics)."""
        self._listeners.append(listener)

    def stats(self) -> BatchStats:
        """Return the counters so far."""
        with self._lock:
            return BatchStats(self._batches, self._items, self._refused, self._queue.qsize())

    def close(self, *, wait: bool = True) -> None:
        """Answer what is queued, then stop the worker (new items are refused)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            worker = self._worker
        if worker is not None:
            self._queue.put(_STOP)
            if wait:
                worker.join()

    def _start(self) -> None:
        if self._worker is None:
            self._worker = threading.Thread(target=self._serve, name=f"contextsieve-{self._name}", daemon=True)
            self._worker.start()

    def _serve(self) -> None:
        stopping = False
        while not stopping:
            first = self._queue.get()
            if first is _STOP:
                return
            batch = [first]
            deadline = time.monotonic() + self.config.max_wait_ms / 1000.0
            while len(batch) < self.config.max_batch:
                try:
                    left = deadline - time.monotonic()
                    nxt = self._queue.get(timeout=left) if left > 0 else self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                    break
                batch.append(nxt)
            self._run(batch)

    def _run(self, batch: list[tuple[Item, Future[Any]]]) -> None:
        live = [(item, future) for item, future in batch if future.set_running_or_notify_cancel()]
        if not live:
            return
        started = time.perf_counter()
        try:
            outcomes = list(self._run_batch([item for item, _ in live]))
            if len(outcomes) != len(live):
                msg = f"run_batch answered {len(outcomes)} outcomes for {len(live)} items"
                raise RuntimeError(msg)
        except Exception as exc:  # every caller must hear of it, and the worker must live on
            logger.exception("a batch of %d failed", len(live))
            outcomes = [exc] * len(live)
        seconds = time.perf_counter() - started
        # Counted and reported before any caller hears back, so stats and metrics read after a result include it.
        with self._lock:
            self._batches += 1
            self._items += len(live)
        for listener in self._listeners:
            try:
                listener(len(live), seconds)
            except Exception:
                logger.exception("a batch listener failed")
        for (_, future), outcome in zip(live, outcomes, strict=True):
            if isinstance(outcome, BaseException):
                future.set_exception(outcome)
            else:
                future.set_result(outcome)
