"""How many bars make a year: one rule, from a timeframe or from an index.

Two calendars (the spec's ``backtest.calendar``):

- ``"24/7"`` (default; crypto and anything that trades every day): a year is 365 days
  of bars, so 1m -> 525,600, 1h -> 8,760, 4h -> 2,190, 1d -> 365.
- ``"252"`` (exchange trading days): a year is 252 trading days, and a bar shorter than
  a day is assumed to tile the whole trading day (24-hour sessions on weekdays, as FX or
  index futures): 1d -> 252, 1h -> 252 x 24 = 6,048, 1m -> 362,880. A market open only a
  few hours a day (an equity session) has fewer bars per day than that: infer it from
  the bars with :func:`periods_per_year` (252 x the median bars per trading day) or pass
  the number explicitly.

Weekly (and coarser) bars are calendar weeks in both calendars: 1w -> 52. Results are
whole numbers of bars (rounded), so the timeframe rule and the index rule agree.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = [
    "CALENDAR_DAYS_PER_YEAR",
    "TRADING_DAYS_PER_YEAR",
    "Calendar",
    "periods_per_year",
    "periods_per_year_for",
    "resolve_periods_per_year",
]

TRADING_DAYS_PER_YEAR = 252
CALENDAR_DAYS_PER_YEAR = 365
_DAY = 86_400
_WEEK = 7 * _DAY

Calendar = Literal["24/7", "252"]


def _bars_per_year(bar_seconds: float, calendar: Calendar) -> float:
    """The one rule both public functions use."""
    if calendar not in ("24/7", "252"):
        raise ValueError(f"calendar must be '24/7' or '252', got {calendar=}")
    if bar_seconds >= _WEEK:  # calendar weeks, whatever the trading calendar
        return float(round(CALENDAR_DAYS_PER_YEAR * _DAY / bar_seconds))
    days = CALENDAR_DAYS_PER_YEAR if calendar == "24/7" else TRADING_DAYS_PER_YEAR
    return float(round(days * _DAY / bar_seconds))


def periods_per_year_for(timeframe: str, calendar: Calendar = "24/7") -> float:
    """Bars per year of a ``timeframe`` ("1m", "1h", "4h", "1d", "1w") in ``calendar``.

    ``"24/7"``: 365 days of bars (1h -> 8,760). ``"252"``: 252 trading days, bars
    tiling the whole day (1d -> 252, 1h -> 6,048). Weeks are calendar weeks (1w -> 52).
    """
    from trademl.data.timeframe import timeframe_to_seconds

    return _bars_per_year(timeframe_to_seconds(timeframe), calendar)


def periods_per_year(index) -> float:
    """Bars per year implied by a DatetimeIndex (the same rule as ``periods_per_year_for``).

    A market that trades every day (bars on Saturdays and Sundays, like crypto) gets the
    ``"24/7"`` calendar: 8,760 for 1h bars, 365 for daily bars. A market closed at
    weekends gets 252 trading days times the typical number of bars per trading day
    (252 for daily equity data, 252 x 7 for a 7-bar session). Weekly and coarser bars use
    calendar time (52 weekly, 12 monthly). The median spacing is used, so exchange
    outages do not change the answer.
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
    spacing = pd.Timedelta(int(np.median(steps)), unit=index.unit).total_seconds()
    if spacing > _DAY:
        return _bars_per_year(spacing, "24/7")
    spans_a_weekend = (index[-1] - index[0]) >= pd.Timedelta(days=7)
    trades_weekends = bool(np.isin(index.day_of_week, (5, 6)).any())
    if trades_weekends or not spans_a_weekend:
        return _bars_per_year(spacing, "24/7")
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
