"""Drawdowns: the underwater curve, the maximum, the top-N table and time under water.

Equity starts at 1 before the first return, so a loss on the very first bar is a
drawdown (empyrical anchors at a starting value the same way; quantstats adds a phantom
baseline row for the same reason). Drawdowns are negative fractions (-0.25 = 25 % below
the running peak).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics._input import as_returns

__all__ = ["drawdown_series", "drawdown_table", "max_drawdown", "time_under_water"]


def _equity(values: np.ndarray) -> np.ndarray:
    equity = values + 1.0
    np.cumprod(equity, out=equity)  # in place: one array, not two (large inputs are memory-bound)
    return equity


def _equity_over_peak(values: np.ndarray, equity: np.ndarray | None = None) -> np.ndarray:
    equity = _equity(values) if equity is None else equity
    peak = np.maximum.accumulate(equity)
    np.maximum(peak, 1.0, out=peak)  # the starting capital is the first peak (never 0)
    np.divide(equity, peak, out=peak)
    return peak


def _underwater(values: np.ndarray) -> np.ndarray:
    ratio = _equity_over_peak(values)
    ratio -= 1.0
    return ratio


def _max_drawdown(values: np.ndarray, equity: np.ndarray | None = None) -> float:
    if len(values) == 0:
        return float("nan")
    return float(min(_equity_over_peak(values, equity).min() - 1.0, 0.0))


def drawdown_series(returns) -> pd.Series:
    """Drawdown from the running peak at every bar (0 at a new high)."""
    r = as_returns(returns)
    return pd.Series(_underwater(r.to_numpy()), index=r.index, name="drawdown")


def max_drawdown(returns) -> float:
    """Deepest drawdown as a negative fraction; 0.0 if equity never falls, NaN if empty."""
    return _max_drawdown(as_returns(returns).to_numpy())


def _episodes(dd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """First and last bar (inclusive) of each run of consecutive bars under water."""
    under = dd < 0
    edges = np.diff(np.concatenate(([0], under.astype(np.int8), [0])))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1) - 1
    return starts, ends


def drawdown_table(returns, top: int = 5) -> pd.DataFrame:
    """The ``top`` deepest drawdowns, deepest first.

    Columns: ``peak`` (last high before the fall), ``trough``, ``recovery`` (first bar back
    at the peak, NaT if not yet recovered), ``depth`` (negative fraction), ``bars_to_trough``,
    ``bars_to_recover`` and ``bars_underwater`` (NaN/ongoing count if not recovered),
    ``duration`` (peak to recovery, or to the last bar if ongoing) and ``recovered``.
    """
    if int(top) < 1:
        raise ValueError(f"top must be at least 1, got {top=}")
    r = as_returns(returns)
    columns = [
        "peak", "trough", "recovery", "depth", "bars_to_trough", "bars_to_recover",
        "bars_underwater", "duration", "recovered",
    ]  # fmt: skip
    if len(r) == 0:
        return pd.DataFrame(columns=columns)
    dd = _underwater(r.to_numpy())
    starts, ends = _episodes(dd)
    if len(starts) == 0:
        return pd.DataFrame(columns=columns)
    # reduceat runs up to the next start; the bars in between are at a peak (0), so the
    # minimum of each segment is the episode's own trough
    depths = np.minimum.reduceat(dd, starts)
    order = np.argsort(depths, kind="stable")[: int(top)]
    index = r.index
    rows = []
    n = len(dd)
    for k in order:
        start, end = int(starts[k]), int(ends[k])
        trough = start + int(np.argmin(dd[start : end + 1]))
        recovered = end + 1 < n
        peak_pos = start - 1  # -1: the peak is the starting capital before the first bar
        peak_time = index[peak_pos] if peak_pos >= 0 else index[0]
        recovery_time = index[end + 1] if recovered else pd.NaT
        last = end + 1 if recovered else n - 1
        duration = (
            index[last] - peak_time if isinstance(index, pd.DatetimeIndex) else last - peak_pos
        )
        rows.append(
            {
                "peak": peak_time,
                "trough": index[trough],
                "recovery": recovery_time,
                "depth": float(dd[trough]),
                "bars_to_trough": trough - peak_pos,
                "bars_to_recover": (end + 1 - trough) if recovered else np.nan,
                "bars_underwater": end - start + 1,
                "duration": duration,
                "recovered": recovered,
            }
        )
    table = pd.DataFrame(rows, columns=columns)
    table.index = pd.RangeIndex(1, len(table) + 1, name="rank")
    return table


def time_under_water(returns) -> dict[str, float]:
    """Share of bars below the running peak and the longest run under water (in bars)."""
    r = as_returns(returns)
    if len(r) == 0:
        return {"fraction": float("nan"), "longest_bars": float("nan")}
    dd = _underwater(r.to_numpy())
    starts, ends = _episodes(dd)
    longest = float((ends - starts + 1).max()) if len(starts) else 0.0
    return {"fraction": float((dd < 0).mean()), "longest_bars": longest}
