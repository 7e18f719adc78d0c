"""Performance by regime: the same metrics computed on the bars of each regime."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics._input import as_returns
from trademl.analytics.drawdowns import _max_drawdown
from trademl.analytics.periods import resolve_periods_per_year
from trademl.analytics.ratios import _sharpe
from trademl.analytics.returns import _volatility
from trademl.errors import DataError

__all__ = ["performance_by_regime", "volatility_regimes"]


def performance_by_regime(
    returns, regimes: pd.Series, periods_per_year: float | None = None
) -> pd.DataFrame:
    """One row per regime label: bars, share of time, total and annualised return,
    volatility, Sharpe, max drawdown (of that regime's bars chained together), hit rate.

    ``regimes`` is aligned to the returns by index; bars without a regime are left out.
    Annualised return is the mean return times periods per year (arithmetic, because a
    regime's bars are not contiguous in time).
    """
    r = as_returns(returns)
    if not isinstance(regimes, pd.Series):
        raise DataError(f"regimes: expected a pandas Series, got {type(regimes).__name__}")
    ppy = resolve_periods_per_year(r, periods_per_year)
    labels = regimes.reindex(r.index)
    if labels.notna().sum() == 0:
        raise DataError("regimes: no regime label matches the returns' timestamps")
    rows = {}
    total_bars = int(labels.notna().sum())
    for label, part in r.groupby(labels, sort=True):
        values = part.to_numpy()
        nonzero = values[values != 0]
        rows[label] = {
            "bars": len(values),
            "share": len(values) / total_bars,
            "total_return": float(np.prod(1 + values) - 1),
            "annual_return": float(values.mean() * ppy),
            "volatility": _volatility(values, ppy),
            "sharpe": _sharpe(values, ppy),
            "max_drawdown": _max_drawdown(values),
            "hit_rate": float((nonzero > 0).mean()) if len(nonzero) else float("nan"),
        }
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "regime"
    return table


def volatility_regimes(returns, window: int, labels=("calm", "normal", "turbulent")) -> pd.Series:
    """Causal volatility regimes: terciles of trailing ``window``-bar volatility.

    The tercile cut points come from the whole sample (a description, not a signal), but
    each bar's volatility uses past bars only. Used by reports when no regime series is
    given. Bars before the first full window get no label.
    """
    r = as_returns(returns)
    vol = r.rolling(int(window), min_periods=int(window)).std()
    valid = vol.dropna()
    if valid.nunique() < 3:
        return pd.Series(pd.NA, index=r.index, dtype="object", name="regime")
    cuts = pd.qcut(valid, 3, labels=list(labels))
    return cuts.astype("object").reindex(r.index).rename("regime")
