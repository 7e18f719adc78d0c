"""Rolling Sharpe, volatility and drawdown over a trailing window of bars."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics._input import as_returns
from trademl.analytics.periods import resolve_periods_per_year

__all__ = ["rolling_metrics"]


def rolling_metrics(returns, window: int, periods_per_year: float | None = None) -> pd.DataFrame:
    """Trailing-window ``sharpe``, ``volatility`` (both annualised) and ``drawdown``.

    ``drawdown`` is the equity's distance from its highest point inside the window (a
    trailing high-water mark), not the all-time drawdown. The first ``window - 1`` rows
    are NaN; a window with zero volatility has a NaN Sharpe.
    """
    window = int(window)
    if window < 2:
        raise ValueError(f"window must be at least 2 bars, got {window=}")
    r = as_returns(returns)
    ppy = resolve_periods_per_year(r, periods_per_year)
    roll = r.rolling(window, min_periods=window)
    mean = roll.mean()
    std = roll.std(ddof=1)
    # rolling std of a constant window is a tiny float residue, not 0: treat as 0
    flat = (roll.max() - roll.min()) == 0
    std = std.mask(flat | (std <= 0))
    equity = np.exp(np.log1p(r.clip(lower=-1 + 1e-12)).cumsum())
    trailing_high = equity.rolling(window, min_periods=window).max()
    return pd.DataFrame(
        {
            "sharpe": mean / std * np.sqrt(ppy),
            "volatility": std.fillna(0.0).where(mean.notna()) * np.sqrt(ppy),
            "drawdown": equity / trailing_high - 1.0,
        },
        index=r.index,
    )
