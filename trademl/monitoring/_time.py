"""Durations and timestamps as the store keeps them (int64 nanoseconds since the epoch, UTC).

Integers rather than DateTime columns: they compare the same way on SQLite and
PostgreSQL, index compactly, and convert from pandas without string formatting,
which is what keeps batched inserts fast.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def parse_duration(value: str | timedelta, *, name: str = "duration") -> timedelta:
    """``"15m"`` -> ``timedelta(minutes=15)``; raise ValueError naming ``name`` otherwise."""
    if isinstance(value, timedelta):
        return value
    match = _DURATION.match(str(value))
    if not match:
        raise ValueError(f"{name}: expected a duration like 30s, 15m, 24h or 7d, got {value!r}")
    return timedelta(seconds=float(match.group(1)) * _UNIT_SECONDS[match.group(2)])


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_ns(value: datetime | pd.Timestamp | str) -> int:
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        stamp = stamp.tz_localize("UTC")
    return int(stamp.tz_convert("UTC").as_unit("ns").value)


def from_ns(value: int) -> pd.Timestamp:
    return pd.Timestamp(int(value), unit="ns", tz="UTC")


def index_to_ns(index: pd.Index | pd.Series) -> np.ndarray:
    """UTC nanoseconds for a datetime index/series (naive values are taken as UTC)."""
    stamps = pd.DatetimeIndex(index)
    if stamps.tz is None:
        stamps = stamps.tz_localize("UTC")
    return stamps.tz_convert("UTC").as_unit("ns").asi8
