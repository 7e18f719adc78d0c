"""Trailing-window statistics without Python loops.

Sums come from cumulative sums (prefix-stable: the value at t only depends on rows <= t,
and a prefix of the input gives bit-identical results), windows from stride tricks.
Everything returns NaN until the window is full.
"""

from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

__all__ = [
    "rolling_cov",
    "rolling_mean",
    "rolling_rank_pct",
    "rolling_std",
    "rolling_sum",
    "shift",
    "TailLogs",
    "log_tail",
    "tail_returns",
    "window_mean",
    "window_std",
    "windows",
]


def shift(values: np.ndarray, periods: int) -> np.ndarray:
    """``values[t - periods]`` at t (NaN before); ``periods`` must be >= 0 (no look-ahead)."""
    if periods < 0:
        raise ValueError(
            f"shift: periods must be >= 0 (a negative shift looks ahead), got {periods=}"
        )
    out = np.full(len(values), np.nan)
    if periods < len(values):
        out[periods:] = values[: len(values) - periods]
    return out


def rolling_sum(values: np.ndarray, window: int) -> np.ndarray:
    """Sum over the trailing ``window`` rows; NaN inputs make their windows NaN."""
    n = len(values)
    out = np.full(n, np.nan)
    nan = np.isnan(values)
    # leading NaNs (a warm-up upstream) are the common case: sum the clean tail directly
    first = int(np.argmin(nan)) if nan.any() else 0
    if nan[first:].any():
        return _rolling_sum_gaps(values, window, nan)
    tail = values[first:]
    if window > len(tail):
        return out
    csum = np.empty(len(tail) + 1)
    csum[0] = 0.0
    np.cumsum(tail, out=csum[1:])
    out[first + window - 1 :] = csum[window:] - csum[:-window]
    return out


def _rolling_sum_gaps(values: np.ndarray, window: int, nan: np.ndarray) -> np.ndarray:
    n = len(values)
    out = np.full(n, np.nan)
    if window > n:
        return out
    csum = np.concatenate(([0.0], np.cumsum(np.where(nan, 0.0, values))))
    out[window - 1 :] = csum[window:] - csum[:-window]
    count = np.concatenate(([0], np.cumsum(nan)))
    out[window - 1 :][(count[window:] - count[:-window]) > 0] = np.nan
    return out


def rolling_mean(values: np.ndarray, window: int) -> np.ndarray:
    return rolling_sum(values, window) / window


def rolling_cov(x: np.ndarray, y: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    """Sample covariance of x and y over the trailing window (for small-valued x, y: returns)."""
    sx = rolling_sum(x, window)
    sy = sx if y is x else rolling_sum(y, window)
    sxy = rolling_sum(x * y, window)
    return (sxy - sx * sy / window) / (window - ddof)


def rolling_std(values: np.ndarray, window: int, ddof: int = 1) -> np.ndarray:
    var = rolling_cov(values, values, window, ddof)
    return np.sqrt(np.maximum(var, 0.0))


def windows(values: np.ndarray, window: int) -> np.ndarray:
    """View of shape (n - window + 1, window): row i holds values[i : i + window]."""
    return sliding_window_view(values, window)


class TailLogs:
    """Logs of one bar's longest online window, taken once per column and shared by the
    shorter windows (views of its end) that serving hands to the last-value formulas."""

    def __init__(self, columns: dict[str, np.ndarray]):
        self.columns = columns
        self.logs: dict[str, np.ndarray] = {}

    def get(self, column: str) -> np.ndarray:
        logs = self.logs.get(column)
        if logs is None:
            logs = self.logs[column] = np.log(self.columns[column])
        return logs


def log_tail(bars, column: str, n: int) -> np.ndarray:
    """``np.log`` of the last ``n`` values of ``column`` (serving's last-value formulas):
    elementwise, so a slice of the shared window's logs is the same numbers."""
    shared = bars.__dict__.get("tail_logs")
    if shared is None:
        return np.log(bars.columns[column][-n:])
    return shared.get(column)[-n:]


def tail_returns(bars, n: int) -> np.ndarray:
    """The last ``n`` 1-bar log returns of ``bars`` (serving's last-value formulas)."""
    log_close = log_tail(bars, "close", n + 1)
    return log_close[1:] - log_close[:-1]


def window_mean(values: np.ndarray) -> float:
    """Mean of one window (serving's last-value formulas: one C call, no dispatch layers)."""
    return float(values.sum()) / len(values)


def window_std(values: np.ndarray) -> float:
    """Sample standard deviation of one window, two-pass."""
    centred = values - values.sum() / len(values)
    return math.sqrt(float(centred.dot(centred)) / (len(values) - 1))


def rolling_rank_pct(values: np.ndarray, window: int, chunk: int = 65_536) -> np.ndarray:
    """Share of the trailing ``window`` values (the current one included) that are <= the
    current value: 1.0 means the highest of the window. NaN if any value in it is NaN."""
    n = len(values)
    out = np.full(n, np.nan)
    if window > n:
        return out
    view = windows(values, window)
    # chunks bound the temporary (rows x window) comparison matrix on long series
    for start in range(0, len(view), chunk):
        block = view[start : start + chunk]
        ranks = (block <= block[:, -1:]).sum(axis=1) / window
        ranks[np.isnan(block).any(axis=1)] = np.nan
        out[window - 1 + start : window - 1 + start + len(block)] = ranks
    return out
