"""Timeframe strings ("5m", "1h", "4h", "1d", "1w"): parsing, arithmetic and inference.

A timeframe is a count and a unit: ``s`` seconds, ``m`` minutes, ``h`` hours, ``d`` days,
``w`` weeks (ccxt's spelling, so the same string works for ``data fetch``). Calendar
months are not a fixed duration and are refused rather than approximated.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = [
    "grid_origin",
    "infer_timeframe",
    "parse_timeframe",
    "timeframe_to_seconds",
    "timeframe_to_timedelta",
]

_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_PATTERN = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
# 1970-01-01 was a Thursday; weekly candles (Binance, TradingView) open on Mondays
_MONDAY_ORIGIN = pd.Timestamp("1970-01-05", tz="UTC")
_EPOCH = pd.Timestamp("1970-01-01", tz="UTC")


def parse_timeframe(timeframe: str) -> tuple[int, str]:
    """Split ``"15m"`` into ``(15, "m")``; raise ``DataError`` naming the bad value."""
    match = _PATTERN.match(timeframe) if isinstance(timeframe, str) else None
    if match is None or int(match.group(1)) == 0:
        hint = (
            " (months have no fixed length; use 4w or 30d)" if str(timeframe).endswith("M") else ""
        )
        raise DataError(
            f"invalid timeframe {timeframe!r}: expected a positive count and a unit "
            f"s/m/h/d/w, e.g. 5m, 15m, 1h, 4h, 1d, 1w{hint}"
        )
    return int(match.group(1)), match.group(2)


def timeframe_to_seconds(timeframe: str) -> int:
    count, unit = parse_timeframe(timeframe)
    return count * _UNIT_SECONDS[unit]


def timeframe_to_timedelta(timeframe: str) -> pd.Timedelta:
    """``"4h"`` -> ``Timedelta("4h")``."""
    return pd.Timedelta(seconds=timeframe_to_seconds(timeframe))


def seconds_to_timeframe(seconds: int) -> str:
    """The canonical spelling of a bar length: 3600 -> "1h", 5400 -> "90m"."""
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNIT_SECONDS[unit]
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise DataError(f"bar length of {seconds} seconds is not a whole number of seconds")


def grid_origin(timeframe: str) -> pd.Timestamp:
    """Where the bar grid of ``timeframe`` starts: Monday for weeks, the epoch otherwise."""
    return _MONDAY_ORIGIN if parse_timeframe(timeframe)[1] == "w" else _EPOCH


def infer_timeframe(index: pd.DatetimeIndex) -> str:
    """The bar length of ``index``: the most common positive spacing between timestamps.

    The mode (not the minimum) is used so that a few duplicated or off-grid rows and
    exchange outages do not change the answer.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"cannot infer a timeframe from a {type(index).__name__}; need a DatetimeIndex"
        )
    if len(index) < 2:
        raise DataError(f"cannot infer a timeframe from {len(index)} timestamp(s); need at least 2")
    nanos = index.asi8 if index.unit == "ns" else index.as_unit("ns").asi8
    steps = np.diff(np.sort(nanos))
    steps = steps[steps > 0]
    if steps.size == 0:
        raise DataError("cannot infer a timeframe: all timestamps are identical")
    values, counts = np.unique(steps, return_counts=True)
    step_ns = int(values[np.argmax(counts)])
    if step_ns % 1_000_000_000:
        raise DataError(f"bars are {step_ns} ns apart, not a whole number of seconds")
    return seconds_to_timeframe(step_ns // 1_000_000_000)
