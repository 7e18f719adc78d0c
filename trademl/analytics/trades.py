"""Trade statistics from a trade list (and, for exposure/turnover, the positions).

A trade list is a DataFrame with at least a ``return`` column (the trade's return on
equity, costs included); ``pnl``, ``duration`` (Timedelta) and ``bars`` are used when
present. :func:`trademl.backtest.run_backtest` produces such a list.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["trade_statistics", "trade_returns_series"]

NAN = float("nan")


def _column(trades: pd.DataFrame, name: str) -> np.ndarray:
    values = pd.to_numeric(trades[name], errors="coerce").to_numpy(dtype="float64")
    if np.isnan(values).any():
        row = int(np.flatnonzero(np.isnan(values))[0])
        raise DataError(f"trades: column {name!r} has a missing or non-numeric value at row {row}")
    return values


def trade_statistics(
    trades: pd.DataFrame,
    positions: pd.Series | pd.DataFrame | None = None,
    periods_per_year: float | None = None,
) -> dict[str, float]:
    """Count, win rate, profit factor, average/largest win and loss, expectancy, duration.

    Wins and losses are judged on ``pnl`` if present, else on ``return``. Profit factor
    is gross profit / gross loss (inf with wins and no losses, NaN without trades).
    ``expectancy`` is the mean trade return. With ``positions``, ``exposure`` is the share
    of bars with a non-zero position and ``turnover`` the sum of absolute position changes
    per year (needs ``periods_per_year`` or a DatetimeIndex).
    """
    if not isinstance(trades, pd.DataFrame):
        raise DataError(f"trades: expected a DataFrame, got {type(trades).__name__}")
    if "return" not in trades.columns:
        raise DataError(
            f"trades: a 'return' column is required, got columns {list(trades.columns)}"
        )
    returns = _column(trades, "return")
    outcome = _column(trades, "pnl") if "pnl" in trades.columns else returns
    n = len(returns)
    wins, losses = outcome > 0, outcome < 0
    gross_profit = float(outcome[wins].sum())
    gross_loss = float(-outcome[losses].sum())
    if n == 0:
        profit_factor = NAN
    elif gross_loss == 0:
        profit_factor = float("inf") if gross_profit > 0 else NAN
    else:
        profit_factor = gross_profit / gross_loss
    stats: dict[str, float] = {
        "trades": float(n),
        "win_rate": float(wins.mean()) if n else NAN,
        "profit_factor": profit_factor,
        "avg_win": float(returns[wins].mean()) if wins.any() else NAN,
        "avg_loss": float(returns[losses].mean()) if losses.any() else NAN,
        "largest_win": float(returns[wins].max()) if wins.any() else NAN,
        "largest_loss": float(returns[losses].min()) if losses.any() else NAN,
        "expectancy": float(returns.mean()) if n else NAN,
    }
    if "bars" in trades.columns and n:
        stats["avg_duration_bars"] = float(_column(trades, "bars").mean())
    if "duration" in trades.columns and n:
        hours = pd.to_timedelta(trades["duration"]).dt.total_seconds().to_numpy() / 3600
        stats["avg_duration_hours"] = float(np.nanmean(hours)) if np.isfinite(hours).any() else NAN
    if positions is not None:
        stats.update(_exposure(positions, periods_per_year))
    return stats


def _exposure(positions, periods_per_year: float | None) -> dict[str, float]:
    from trademl.analytics.periods import periods_per_year as infer

    frame = positions.to_frame() if isinstance(positions, pd.Series) else positions
    if len(frame) == 0:
        return {"exposure": NAN, "turnover": NAN}
    values = frame.fillna(0.0).to_numpy(dtype="float64")
    exposure = float((np.abs(values).sum(axis=1) > 0).mean())
    changes = np.abs(np.diff(np.vstack([np.zeros((1, values.shape[1])), values]), axis=0))
    ppy = float(periods_per_year) if periods_per_year else infer(frame.index)
    turnover = float(changes.sum() / len(values) * ppy)
    return {"exposure": exposure, "turnover": turnover}


def trade_returns_series(trades: pd.DataFrame) -> pd.Series:
    """Trade returns indexed by exit time (entry time if no exit), sorted: for reports."""
    if "return" not in trades.columns:
        raise DataError(
            f"trades: a 'return' column is required, got columns {list(trades.columns)}"
        )
    when_column = next((c for c in ("exit_time", "entry_time") if c in trades.columns), None)
    values = _column(trades, "return")
    if when_column is None:
        return pd.Series(values, name="return")
    when = pd.to_datetime(trades[when_column], utc=True, errors="coerce")
    if when.isna().any():
        row = int(np.flatnonzero(when.isna().to_numpy())[0])
        raise DataError(f"trades: column {when_column!r} has an unreadable time at row {row}")
    series = pd.Series(values, index=pd.DatetimeIndex(when, name="timestamp"), name="return")
    return series.sort_index()
