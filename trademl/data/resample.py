"""Resampling candles to a higher timeframe: first open, max high, min low, last close, summed volume.

Bars are labelled by their open time and aligned to the exchange grid (the epoch for
minutes to days, Mondays for weeks), so 5m -> 1h reproduces the exchange's own 1h
candles. A higher bar built from fewer source bars than it should hold is *incomplete*:
the trailing one is still forming and is dropped by default; ones inside the series
come from exchange outages and are kept (they did trade) unless asked otherwise.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trademl.data.io import OHLCV_COLUMNS
from trademl.data.timeframe import grid_origin, infer_timeframe, timeframe_to_timedelta
from trademl.errors import DataError

__all__ = ["resample_ohlcv"]

Incomplete = Literal["drop_trailing", "drop", "flag", "keep"]
_AGGREGATION = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


def resample_ohlcv(
    frame: pd.DataFrame,
    to: str,
    *,
    source_timeframe: str | None = None,
    incomplete: Incomplete = "drop_trailing",
) -> pd.DataFrame:
    """Aggregate ``frame`` (standard OHLCV, sorted) into ``to`` bars.

    ``incomplete``: ``"drop_trailing"`` (default) drops the last bar if it is not yet
    complete; ``"drop"`` drops every incomplete bar; ``"flag"`` keeps all and adds a
    bool column ``complete``; ``"keep"`` keeps all silently. An ``is_filled`` column is
    carried over as "any source bar was filled".
    """
    if incomplete not in ("drop_trailing", "drop", "flag", "keep"):
        raise ValueError(
            f"incomplete must be 'drop_trailing', 'drop', 'flag' or 'keep', got {incomplete=}"
        )
    missing = [c for c in OHLCV_COLUMNS if c not in frame.columns]
    if missing or not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(
            f"resample_ohlcv needs a frame with a DatetimeIndex and columns {list(OHLCV_COLUMNS)}; "
            f"missing {missing}"
            + ("" if isinstance(frame.index, pd.DatetimeIndex) else ", no DatetimeIndex")
        )
    if not frame.index.is_monotonic_increasing:
        raise DataError("resample_ohlcv needs sorted timestamps; run repair_ohlcv first")
    source = source_timeframe or infer_timeframe(frame.index)
    source_step, target_step = timeframe_to_timedelta(source), timeframe_to_timedelta(to)
    if target_step < source_step or target_step % source_step != pd.Timedelta(0):
        raise DataError(
            f"cannot resample {source} bars to {to}: the target must be a whole multiple of {source}"
        )
    per_bar = int(target_step / source_step)
    rules = dict(_AGGREGATION)
    if "is_filled" in frame.columns:
        rules["is_filled"] = "max"
    columns = list(rules)
    data = frame[columns]
    if "is_filled" in rules:
        data = data.astype({"is_filled": bool})
    grouped = data.resample(target_step, origin=grid_origin(to), label="left", closed="left")
    out = grouped.agg(rules)
    counts = grouped["close"].count()
    if "is_filled" in rules:
        out["is_filled"] = out["is_filled"].astype(bool)
    has_bars = counts.to_numpy() > 0
    out, counts = out[has_bars], counts[has_bars]
    complete = counts.to_numpy() == per_bar
    if incomplete == "drop":
        out = out[complete]
    elif incomplete == "drop_trailing":
        if len(out) and not complete[-1]:
            out = out.iloc[:-1]
    elif incomplete == "flag":
        out = out.assign(complete=complete)
    out.index.name = "timestamp"
    out.index.freq = None
    return out.astype({c: np.float64 for c in OHLCV_COLUMNS})
