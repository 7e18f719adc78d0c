"""Answered predictions to the monitoring store: batched, off the request path, flushed on stop.

A request only appends its rows to an in-memory queue (microseconds); one writer thread
sends them to ``MonitorStore.log_predictions`` every ``interval`` seconds or as soon as
``batch_size`` rows wait. ``stop()`` (the server's shutdown, e.g. on SIGTERM) drains the
queue, so nothing that was answered is lost. Writes use ``replace=True``: a batch retried
after a failed write, or a bar replayed after a restart, is stored once per
(model, version, symbol, timestamp).
"""

from __future__ import annotations

import logging
import threading
import time
from collections import deque
from typing import Any

import pandas as pd

__all__ = ["PredictionLogger"]

logger = logging.getLogger(__name__)

_COLUMNS = ("ts", "symbol", "prediction", "proba", "signal", "close", "latency_ms")


class PredictionLogger:
    def __init__(
        self,
        store: Any,  # trademl.monitoring.store.MonitorStore
        *,
        metrics: Any = None,
        batch_size: int = 1_000,
        interval: float = 0.25,
    ):
        self.store = store
        self.metrics = metrics
        self.batch_size = batch_size
        self.interval = interval
        self.written = 0
        self._queue: deque[tuple[str, str, tuple]] = deque()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._run, name="trademl-prediction-log", daemon=True
        )
        self._thread.start()

    @property
    def pending(self) -> int:
        return len(self._queue)

    def submit(self, model: str, version: str, rows: list[tuple]) -> None:
        """Queue rows of ``(ts_ns, symbol, prediction, proba, signal, close, latency_ms)``."""
        self._queue.extend((model, version, row) for row in rows)
        if len(self._queue) >= self.batch_size:
            self._wake.set()

    def _take(self) -> list[tuple[str, str, tuple]]:
        batch = []
        while self._queue and len(batch) < self.batch_size:
            batch.append(self._queue.popleft())
        return batch

    def _write(self, batch: list[tuple[str, str, tuple]]) -> None:
        groups: dict[tuple[str, str], list[tuple]] = {}
        for model, version, row in batch:
            groups.setdefault((model, version), []).append(row)
        for (model, version), rows in groups.items():
            frame = pd.DataFrame(rows, columns=list(_COLUMNS))
            frame["timestamp"] = pd.to_datetime(frame.pop("ts"), unit="ns", utc=True)
            # one row per key within the batch too (the same bar sent twice quickly)
            frame = frame.drop_duplicates(["symbol", "timestamp"], keep="last")
            self.store.log_predictions(frame, model=model, version=version, replace=True)
            self.written += len(frame)
            if self.metrics is not None:
                self.metrics.logged.inc(len(frame))

    def _flush_once(self) -> bool:
        """Write one batch; on failure put it back at the front. False when it failed."""
        batch = self._take()
        if not batch:
            return True
        try:
            self._write(batch)
        except Exception:  # noqa: BLE001 - a store outage must not kill the writer
            logger.exception("writing %d predictions to the monitoring store failed", len(batch))
            self._queue.extendleft(reversed(batch))
            if self.metrics is not None:
                self.metrics.log_errors.inc()
            return False
        finally:
            if self.metrics is not None:
                self.metrics.log_queue.set(len(self._queue))
        return True

    def _run(self) -> None:
        delay = self.interval
        while not self._stopping.is_set():
            self._wake.wait(delay)
            self._wake.clear()
            ok = True
            while ok and self._queue and not self._stopping.is_set():
                ok = self._flush_once()
            delay = self.interval if ok else min(delay * 2, 5.0)

    def stop(self, timeout: float = 30.0) -> int:
        """Stop the writer and write everything still queued; returns the rows left unwritten."""
        self._stopping.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)
        deadline = time.monotonic() + timeout
        while self._queue and time.monotonic() < deadline:
            if not self._flush_once():
                time.sleep(0.2)
        if self._queue:
            logger.error("%d predictions could not be written before shutdown", len(self._queue))
        return len(self._queue)
