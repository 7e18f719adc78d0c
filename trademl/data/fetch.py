"""Downloading candles from an exchange into a local Parquet cache, resumably.

The exchange is anything with ccxt's one method
``fetch_ohlcv(symbol, timeframe, since=None, limit=None) -> [[ms, o, h, l, c, v], ...]``
(and optionally ``rateLimit``, the milliseconds to wait between calls, and ``id``), so
a ccxt exchange works as is and tests use a small in-memory stand-in.

Cache layout: ``<cache>/<exchange id>/<symbol, "/" and ":" -> "-">/<timeframe>.parquet``,
one standard OHLCV frame per file. A call downloads only what the cache lacks (the
head before its first bar and the tail after its last), and writes what it got even
when interrupted, so the next call resumes where this one stopped.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import pandas as pd

from trademl._io import atomic_path
from trademl.data.io import OHLCV_COLUMNS, load_ohlcv
from trademl.data.timeframe import grid_origin, timeframe_to_timedelta
from trademl.errors import DataError

__all__ = ["OHLCVExchange", "cache_path", "download_ohlcv", "make_exchange"]

logger = logging.getLogger(__name__)


@runtime_checkable
class OHLCVExchange(Protocol):
    """The one method trademl needs from an exchange (ccxt's own signature)."""

    def fetch_ohlcv(
        self, symbol: str, timeframe: str = "1m", since: int | None = None, limit: int | None = None
    ) -> list[list[float]]: ...


def make_exchange(name: str) -> OHLCVExchange:
    """A ccxt exchange by id (``"binance"``); trademl paces the calls itself."""
    import ccxt  # heavy: only when actually downloading

    exchange_class = getattr(ccxt, name, None) if name in ccxt.exchanges else None
    if exchange_class is None:
        close = [e for e in ccxt.exchanges if e.startswith(name[:3].lower())][:8]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise DataError(f"unknown exchange {name!r}: not a ccxt exchange id{hint}")
    # ccxt's built-in throttle would sleep a second time on top of download_ohlcv's pacing
    return exchange_class({"enableRateLimit": False})


def cache_path(cache_dir: str | Path, exchange_id: str, symbol: str, timeframe: str) -> Path:
    safe_symbol = symbol.replace("/", "-").replace(":", "-")
    return Path(cache_dir).expanduser() / exchange_id / safe_symbol / f"{timeframe}.parquet"


def _to_ms(value: str | pd.Timestamp | int | None) -> int | None:
    if value is None:
        return None
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        stamp = pd.Timestamp(value)
    except ValueError:
        raise DataError(f"cannot read {value!r} as a date/time (use e.g. 2024-01-01)") from None
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    return stamp.value // 1_000_000


class _Pacer:
    """Keeps at least ``interval_s`` between the starts of consecutive calls."""

    def __init__(self, interval_s: float, sleep: Callable[[float], None]):
        self.interval_s = interval_s
        self.sleep = sleep
        self.last_call: float | None = None

    def wait(self) -> None:
        if self.last_call is not None:
            remaining = self.interval_s - (time.monotonic() - self.last_call)
            if remaining > 0:
                self.sleep(remaining)
        self.last_call = time.monotonic()


def _download_range(
    exchange: OHLCVExchange,
    symbol: str,
    timeframe: str,
    start_ms: int,
    end_ms: int,
    limit: int,
    pacer: _Pacer,
    pages: list[list[list[float]]],
    on_page: Callable[[int], None],
) -> None:
    """Page through ``[start_ms, end_ms)``, appending each page's candles to ``pages``."""
    step_ms = int(timeframe_to_timedelta(timeframe).total_seconds() * 1000)
    cursor = start_ms
    while cursor < end_ms:
        pacer.wait()
        page = exchange.fetch_ohlcv(symbol, timeframe, since=cursor, limit=limit)
        if not page:
            break
        rows = [row for row in page if cursor <= row[0] < end_ms]
        if rows:
            pages.append(rows)
            on_page(len(rows))
        newest = max(row[0] for row in page)
        if newest < cursor:
            break  # the exchange has nothing at or after the cursor
        cursor = int(newest) + step_ms


def _frame(pages: list[list[list[float]]]) -> pd.DataFrame:
    rows = [row[:6] for page in pages for row in page]
    if not rows:
        return pd.DataFrame(
            columns=list(OHLCV_COLUMNS),
            index=pd.DatetimeIndex([], tz="UTC", name="timestamp"),
            dtype="float64",
        )
    raw = pd.DataFrame(rows, columns=["timestamp", *OHLCV_COLUMNS])
    frame = load_ohlcv(raw, timestamp_unit="ms")
    # pages overlap at their boundaries on many exchanges: keep the newest copy of a bar
    return frame[~frame.index.duplicated(keep="last")].sort_index()


def download_ohlcv(
    exchange: OHLCVExchange,
    symbol: str,
    timeframe: str,
    *,
    since: str | pd.Timestamp | int,
    until: str | pd.Timestamp | int | None = None,
    cache_dir: str | Path = "~/.cache/trademl/ohlcv",
    exchange_id: str | None = None,
    limit: int = 1000,
    sleep: Callable[[float], None] = time.sleep,
    progress: bool = False,
) -> pd.DataFrame:
    """Candles of ``symbol`` from ``since`` (inclusive) to ``until`` (exclusive, default now).

    Only completed bars are kept (a bar still forming is not cached). Bars already in
    the cache are not downloaded again. ``limit`` is the page size asked for; the
    exchange may return fewer. Returns the requested range from the updated cache.
    """
    if limit < 1:
        raise ValueError(f"limit must be >= 1, got {limit=}")
    step = timeframe_to_timedelta(timeframe)
    step_ms = int(step.total_seconds() * 1000)
    start_ms = _to_ms(since)
    now_ms = int(time.time() * 1000)
    origin_ms = grid_origin(timeframe).value // 1_000_000  # weekly bars open on Mondays
    # the bar opening here is still forming: it is never cached
    last_complete_open = origin_ms + (now_ms - origin_ms) // step_ms * step_ms
    end_ms = min(_to_ms(until) or last_complete_open, last_complete_open)
    if start_ms >= end_ms:
        raise DataError(f"nothing to download: since={since!r} is not before until={until!r}")
    exchange_id = exchange_id or getattr(exchange, "id", None) or type(exchange).__name__.lower()
    path = cache_path(cache_dir, exchange_id, symbol, timeframe)
    cached = load_ohlcv(path) if path.exists() else None

    wanted: list[tuple[int, int]] = []
    if cached is None or len(cached) == 0:
        wanted.append((start_ms, end_ms))
    else:
        first_ms = cached.index[0].value // 1_000_000
        last_ms = cached.index[-1].value // 1_000_000
        # extend the cached span without leaving holes: a hole would never be refetched,
        # since later calls only look before the first and after the last cached bar
        if start_ms < first_ms:
            wanted.append((start_ms, first_ms))
        if end_ms > last_ms + step_ms:
            wanted.append((last_ms + step_ms, end_ms))
    interval_s = float(getattr(exchange, "rateLimit", 0) or 0) / 1000.0
    pacer = _Pacer(interval_s, sleep)
    pages: list[list[list[float]]] = []
    expected = sum((b - a) // step_ms for a, b in wanted)
    logger.info(
        "downloading %d %s bar(s) of %s from %s into %s",
        expected,
        timeframe,
        symbol,
        exchange_id,
        path,
    )

    bar = None
    if progress and expected:
        from rich.progress import Progress

        bar = Progress(transient=True)
        task = bar.add_task(f"{exchange_id} {symbol} {timeframe}", total=expected)
        bar.start()
    try:
        for a, b in wanted:
            _download_range(
                exchange,
                symbol,
                timeframe,
                a,
                b,
                limit,
                pacer,
                pages,
                on_page=(lambda n: bar.advance(task, n)) if bar else (lambda n: None),
            )
    finally:
        if bar is not None:
            bar.stop()
        if pages:
            fresh = _frame(pages)
            merged = fresh if cached is None else pd.concat([cached, fresh])
            merged = merged[~merged.index.duplicated(keep="last")].sort_index()
            # atomic and fsynced: an interrupted write never corrupts the cache
            with atomic_path(path) as temporary:
                merged.to_parquet(temporary)
            cached = merged
            logger.info("cached %d new bar(s); %d in %s", len(fresh), len(merged), path)
    if cached is None:
        return _frame([])
    start, end = (
        pd.Timestamp(start_ms, unit="ms", tz="UTC"),
        pd.Timestamp(end_ms, unit="ms", tz="UTC"),
    )
    return cached[(cached.index >= start) & (cached.index < end)]
