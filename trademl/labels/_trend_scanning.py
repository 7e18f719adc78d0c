"""Trend-scanning labels (López de Prado, *Machine Learning for Asset Managers*, 5.4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from trademl.labels._base import Labels, check_horizon, close_prices, end_timestamps

__all__ = ["trend_scanning"]


def trend_scanning(
    ohlcv: pd.DataFrame | pd.Series,
    horizon: int = 24,
    *,
    min_horizon: int = 3,
) -> Labels:
    """Sign of the most significant linear trend starting at bar t.

    For every forward window of L bars, L = ``min_horizon`` .. ``horizon``, an OLS line is
    fitted to log close over bars t .. t+L; the window with the largest |t-value| of the
    slope wins and the label is the sign of that t-value (1 up, -1 down, 0 flat). ``end``
    is t+L of the winning window; ``details`` has ``t_value`` and ``bars`` (L).
    Rows without ``horizon`` future bars are NaN, so every row scans the same windows.
    """
    horizon = check_horizon(horizon)
    min_horizon = check_horizon(min_horizon, "min_horizon")
    if min_horizon < 2 or min_horizon > horizon:
        raise ValueError(
            "min_horizon must be >= 2 (a t-value needs 3 points) and <= horizon, "
            f"but got {min_horizon=} and {horizon=}"
        )
    close = close_prices(ohlcv)
    log_close = np.log(close.to_numpy())
    y = log_close - log_close.mean()  # centring keeps the prefix sums well conditioned
    n = len(y)
    n_full = max(n - horizon, 0)
    best_t = np.zeros(n_full)
    best_bars = np.full(n_full, min_horizon, dtype=np.int64)
    if n_full:
        prefix = np.concatenate([[0.0], np.cumsum(y)])
        prefix_sq = np.concatenate([[0.0], np.cumsum(y * y)])
        starts = np.arange(n_full)
        for bars in range(min_horizon, horizon + 1):
            m = bars + 1  # points t .. t+bars
            sum_y = prefix[starts + m] - prefix[starts]
            sum_yy = prefix_sq[starts + m] - prefix_sq[starts]
            # sum_k k*y[t+k] via a matrix-vector product: exact per window, no global drift
            sum_ky = sliding_window_view(y, m)[:n_full] @ np.arange(m, dtype=np.float64)
            x_mean = (m - 1) / 2
            sxx = m * (m * m - 1) / 12
            sxy = sum_ky - x_mean * sum_y
            syy = sum_yy - sum_y * sum_y / m
            slope = sxy / sxx
            sse = np.maximum(syy - slope * sxy, 0.0)
            with np.errstate(divide="ignore", invalid="ignore"):
                t_value = slope / np.sqrt(sse / (m - 2) / sxx)
            t_value = np.where(np.isnan(t_value), 0.0, t_value)
            better = np.abs(t_value) > np.abs(best_t)
            best_t = np.where(better, t_value, best_t)
            best_bars = np.where(better, bars, best_bars)

    values = np.full(n, np.nan)
    values[:n_full] = np.sign(best_t)
    t_col = np.full(n, np.nan)
    t_col[:n_full] = best_t
    bars_col = np.full(n, -1, dtype=np.int64)
    bars_col[:n_full] = best_bars
    end_pos = np.full(n, -1, dtype=np.int64)
    end_pos[:n_full] = np.arange(n_full) + best_bars
    details = pd.DataFrame({"t_value": t_col, "bars": bars_col}, index=close.index)
    return Labels(
        values=pd.Series(values, index=close.index, name=f"trend_scanning_{horizon}"),
        end=end_timestamps(close.index, end_pos),
        kind="trend_scanning",
        horizon=horizon,
        details=details,
    )
