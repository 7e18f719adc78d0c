"""Patterns and levels: every TA-Lib candlestick pattern (``cdl_<pattern>``: +100 bullish,
-100 bearish, 0 none; some report +-200 for a confirmed pattern) and rolling
support/resistance from confirmed swing highs and lows."""

from __future__ import annotations

from typing import Any

import numpy as np
import talib

from trademl.features._online_state import SwingState
from trademl.features._registry import Online, feature
from trademl.features._talib import talib_feature

CANDLESTICK_FUNCTIONS: tuple[str, ...] = tuple(talib.get_function_groups()["Pattern Recognition"])

for _function in CANDLESTICK_FUNCTIONS:
    talib_feature(
        "cdl_" + _function.removeprefix("CDL").lower(),
        _function,
        category="pattern",
        inputs=("open", "high", "low", "close"),
    )


def last_confirmed(values: np.ndarray, confirmed: np.ndarray, order: int) -> np.ndarray:
    """At t, values[j] of the latest j with confirmed[j + order] (forward-filled, NaN before)."""
    n = len(values)
    stamp = np.where(confirmed, np.arange(n), -1)
    latest = np.maximum.accumulate(stamp)
    out = np.full(n, np.nan)
    seen = latest >= 0
    out[seen] = values[latest[seen] - order]
    return out


@feature(
    "swing",
    category="pattern",
    inputs=("high", "low", "close"),
    params={"order": 5},
    outputs=("resistance", "support", "resistance_dist", "support_dist"),
    grid={"order": (5, 20)},
    warmup=lambda order: 2 * order,
    online=Online("exact", state=SwingState),
)
def swing(bars: Any, order: int) -> tuple[np.ndarray, ...]:
    """Latest swing high (resistance) and swing low (support): a bar whose high (low) is the
    extreme of the `order` bars on each side. It is only known `order` bars later, so the
    level appears at t = j + order, never at the swing bar j itself."""
    span = 2 * order + 1
    high, low = bars.high, bars.low
    lagged_high = np.full(len(high), np.nan)
    lagged_low = np.full(len(low), np.nan)
    lagged_high[order:] = high[:-order] if order else high
    lagged_low[order:] = low[:-order] if order else low
    is_high = lagged_high == talib.MAX(high, span)
    is_low = lagged_low == talib.MIN(low, span)
    resistance = last_confirmed(high, is_high, order)
    support = last_confirmed(low, is_low, order)
    return resistance, support, bars.close / resistance - 1.0, bars.close / support - 1.0
