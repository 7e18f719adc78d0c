"""How many bars make a year: derived from the index, crypto-aware, overridable."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.errors import DataError

TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365


def periods_per_year(index) -> float:
    """Bars per year implied by a DatetimeIndex.

    A market that trades every day (bars on Saturdays and Sundays, like crypto) gets
    calendar time: 365 days / bar spacing, so 8,760 for 1h bars, 365 for daily bars.
    A market closed at weekends gets 252 trading days times the typical number of bars
    per trading day (252 for daily equity data). Weekly and coarser bars use calendar
    time (52 weekly, 12 monthly). The median spacing is used, so exchange outages do not
    change the answer.
    """
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"cannot infer periods per year: the index is a {type(index).__name__}, not a "
            "DatetimeIndex; pass periods_per_year explicitly"
        )
    if len(index) < 3:
        raise DataError(
            f"cannot infer periods per year from {len(index)} timestamp(s); "
            "pass periods_per_year explicitly"
        )
    steps = np.diff(index.asi8)
    steps = steps[steps > 0]
    if len(steps) == 0:
        raise DataError("cannot infer periods per year: all timestamps are equal")
    spacing = pd.Timedelta(int(np.median(steps)), unit=index.unit)
    day = pd.Timedelta(days=1)
    if spacing > day:
        return float(round(CALENDAR_DAYS_PER_YEAR * day / spacing))
    spans_a_weekend = (index[-1] - index[0]) >= pd.Timedelta(days=7)
    trades_weekends = bool(np.isin(index.day_of_week, (5, 6)).any())
    if trades_weekends or not spans_a_weekend:
        return float(round(CALENDAR_DAYS_PER_YEAR * day / spacing))
    bars_per_day = pd.Series(1, index=index).groupby(index.normalize()).size()
    return float(TRADING_DAYS_PER_YEAR * round(float(bars_per_day.median())))


def resolve_periods_per_year(returns: pd.Series, periods_per_year_: float | None) -> float:
    """``periods_per_year_`` if given (validated), else inferred from the returns' index."""
    if periods_per_year_ is None:
        return periods_per_year(returns.index)
    value = float(periods_per_year_)
    if not np.isfinite(value) or value <= 0:
        raise DataError(f"periods_per_year must be a positive number, got {periods_per_year_!r}")
    return value
