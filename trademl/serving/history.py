"""The bars the service has seen per symbol: warm-up history plus every accepted live bar.

A new model (hot swap, rollback) warms up from this history, so it starts from exactly the
bars the old one saw. New bars are checked here, all of a request before any is kept:
in order, no duplicate, no gap (unless the client says so), closed, OHLC consistent.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["OHLCV", "BarRejected", "SymbolHistory", "check_bars"]

OHLCV = ("open", "high", "low", "close", "volume")


class BarRejected(DataError):
    """A new bar breaks the stream; ``field`` is the request path of the offending value."""

    def __init__(self, message: str, *, field: str, status: int = 422):
        super().__init__(message)
        self.field = field
        self.status = status


@dataclass
class NewBar:
    """A bar that passed the checks: its open time in ns and its OHLCV values."""

    ts: int
    values: tuple[float, float, float, float, float]

    @property
    def timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.ts, unit="ns", tz="UTC")

    def as_mapping(self) -> dict[str, float]:
        return dict(zip(OHLCV, self.values, strict=True))


class SymbolHistory:
    """One symbol's kept bars (at most ``max_bars``, oldest dropped first)."""

    def __init__(self, symbol: str, candles: pd.DataFrame, *, max_bars: int):
        if candles.empty:
            raise DataError(f"{symbol}: the warm-up history has no bars")
        missing = [c for c in OHLCV if c not in candles.columns]
        if missing:
            raise DataError(f"{symbol}: the warm-up history lacks column(s) {missing}")
        index = pd.DatetimeIndex(candles.index)
        if not index.is_monotonic_increasing or index.has_duplicates:
            raise DataError(f"{symbol}: the warm-up history is not in strictly increasing time")
        tail = candles.iloc[-max_bars:]
        self.symbol = symbol
        self.max_bars = max_bars
        self._ts: list[int] = pd.DatetimeIndex(tail.index).tz_convert("UTC").asi8.tolist()
        self._rows: list[tuple] = list(tail[list(OHLCV)].astype(float).itertuples(index=False))

    def __len__(self) -> int:
        return len(self._ts)

    @property
    def last_ts(self) -> int:
        return self._ts[-1]

    @property
    def last_timestamp(self) -> pd.Timestamp:
        return pd.Timestamp(self.last_ts, unit="ns", tz="UTC")

    def frame(self, since_ts: int | None = None) -> pd.DataFrame:
        """The kept bars (after ``since_ts`` when given) as an OHLCV frame."""
        start = 0 if since_ts is None else int(np.searchsorted(self._ts, since_ts, side="right"))
        index = pd.DatetimeIndex(pd.to_datetime(self._ts[start:], unit="ns", utc=True))
        index.name = "timestamp"
        return pd.DataFrame(self._rows[start:], index=index, columns=list(OHLCV))

    def bars_after(self, ts: int) -> list[NewBar]:
        start = int(np.searchsorted(self._ts, ts, side="right"))
        return [
            NewBar(t, tuple(r)) for t, r in zip(self._ts[start:], self._rows[start:], strict=True)
        ]

    def extend(self, bars: Sequence[NewBar]) -> None:
        self._ts.extend(b.ts for b in bars)
        self._rows.extend(b.values for b in bars)
        extra = len(self._ts) - self.max_bars
        if extra > 0:
            del self._ts[:extra], self._rows[:extra]


def check_bars(
    history: SymbolHistory,
    bars: Sequence,
    *,
    step_ns: int,
    now_ns: int,
    allow_gap: bool = False,
) -> list[NewBar]:
    """The request's bars as ``NewBar``s, or ``BarRejected`` naming the first bad one.

    ``bars`` are pydantic ``Bar`` models (types, finiteness and signs already checked).
    Nothing is changed here: the caller keeps the bars only if all of them pass.
    """
    previous = history.last_ts
    checked = []
    for i, bar in enumerate(bars):
        where = f"bars[{i}]"
        ts = _epoch_ns(bar.timestamp)
        if ts - previous != step_ns or ts + step_ns > now_ns:
            # not simply the next closed bar of the grid (the usual case, which builds no
            # message): refused with the reason, unless a gap the client allows
            _check_time(history.symbol, where, ts, previous, step_ns, now_ns, allow_gap)
        o, h, low, c, v = (float(getattr(bar, k)) for k in OHLCV)
        if low > min(o, c):
            raise BarRejected(
                f"{where}.low: {low} is above the bar's open or close", field=f"{where}.low"
            )
        if h < max(o, c):
            raise BarRejected(
                f"{where}.high: {h} is below the bar's open or close",
                field=f"{where}.high",
            )
        checked.append(NewBar(ts, (o, h, low, c, v)))
        previous = ts
    return checked


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


def _epoch_ns(stamp) -> int:
    """Nanoseconds since the epoch of an aware datetime (a pandas Timestamp keeps its
    nanoseconds); exact integer arithmetic, a tenth of ``pd.Timestamp(...).value``."""
    if isinstance(stamp, pd.Timestamp):
        return stamp.tz_convert("UTC").value
    return (stamp - _EPOCH) // _MICROSECOND * 1000


def _check_time(symbol, where, ts, previous, step_ns, now_ns, allow_gap) -> None:
    """BarRejected naming why a bar opened at ``ts`` cannot follow ``previous``."""
    stamp = pd.Timestamp(ts, unit="ns", tz="UTC").isoformat()
    last = pd.Timestamp(previous, unit="ns", tz="UTC").isoformat()
    if ts == previous:
        raise BarRejected(
            f"{where}.timestamp: {stamp} duplicates the last bar of {symbol}",
            field=f"{where}.timestamp",
            status=409,
        )
    if ts < previous:
        raise BarRejected(
            f"{where}.timestamp: {stamp} is before the last bar of {symbol} ({last})",
            field=f"{where}.timestamp",
            status=409,
        )
    if (ts - previous) % step_ns:
        raise BarRejected(
            f"{where}.timestamp: {stamp} is not on the {step_ns // 10**9}s bar grid of "
            f"the last bar ({last})",
            field=f"{where}.timestamp",
        )
    if ts + step_ns > now_ns:
        closes = pd.Timestamp(ts + step_ns, unit="ns", tz="UTC").isoformat()
        raise BarRejected(
            f"{where}.timestamp: the bar opened at {stamp} is not closed yet (closes at {closes})",
            field=f"{where}.timestamp",
        )
    if ts - previous > step_ns and not allow_gap:
        missing = (ts - previous) // step_ns - 1
        raise BarRejected(
            f"{where}.timestamp: {stamp} leaves a gap of {missing} bar(s) after {last} "
            "(send the missing bars, or allow_gap: true for a real outage)",
            field=f"{where}.timestamp",
            status=409,
        )
