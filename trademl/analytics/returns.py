"""Return statistics: total, annualised (CAGR), volatility, best/worst, skew, kurtosis.

Conventions (checked against empyrical-reloaded and quantstats in tests/analytics):
- ``cagr`` counts years as ``n_periods / periods_per_year`` (empyrical ``annual_return``
  and quantstats ``cagr`` do the same), not calendar time between first and last stamp.
- ``annual_volatility`` uses the sample standard deviation (ddof=1), like both libraries.
- ``skewness`` / ``excess_kurtosis`` are the bias-corrected estimators pandas uses
  (quantstats calls pandas); they are NaN for fewer than 3 / 4 values or zero variance,
  where pandas returns 0.
Empty input gives NaN everywhere.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics._input import as_returns
from trademl.analytics.periods import resolve_periods_per_year

__all__ = [
    "annual_volatility",
    "best_period",
    "cagr",
    "excess_kurtosis",
    "monthly_returns",
    "skewness",
    "total_return",
    "worst_period",
]


def _dot(a: np.ndarray, b: np.ndarray) -> float:
    # einsum, not np.dot: BLAS would start threads that spin on a busy machine and cost
    # more than the sum itself
    return float(np.einsum("i,i->", a, b))


def _total(values: np.ndarray) -> float:
    if len(values) == 0:
        return float("nan")
    return float(np.prod(1.0 + values) - 1.0)


def _cagr(values: np.ndarray, ppy: float) -> float:
    if len(values) == 0:
        return float("nan")
    growth = float(np.prod(1.0 + values))
    if growth <= 0:
        return -1.0  # the account was wiped out; a fractional power of a loss is undefined
    return growth ** (ppy / len(values)) - 1.0


def _volatility(values: np.ndarray, ppy: float) -> float:
    if len(values) < 2:
        return float("nan")
    return float(np.std(values, ddof=1) * np.sqrt(ppy))


def _shape(values: np.ndarray) -> tuple[float, float]:
    """(skew, excess kurtosis), bias-corrected as pandas does, from one set of moments."""
    n = len(values)
    if n < 3 or values.max() == values.min():
        return float("nan"), float("nan")
    centred = values - values.mean()
    squared = centred * centred
    s2 = float(squared.sum())
    if s2 <= 0:
        return float("nan"), float("nan")
    s3 = float(_dot(squared, centred))
    m2, m3 = s2 / n, s3 / n
    skew = float(np.sqrt(n * (n - 1)) / (n - 2) * m3 / m2**1.5)
    if n < 4:
        return skew, float("nan")
    s4 = float(_dot(squared, squared))
    first = (n + 1) * n * (n - 1) / ((n - 2) * (n - 3)) * s4 / s2**2
    return skew, float(first - 3.0 * (n - 1) ** 2 / ((n - 2) * (n - 3)))


def _skew(values: np.ndarray) -> float:
    return _shape(values)[0]


def _kurtosis(values: np.ndarray) -> float:
    return _shape(values)[1]


def total_return(returns) -> float:
    """Compounded return over the whole series: prod(1 + r) - 1."""
    return _total(as_returns(returns).to_numpy())


def cagr(returns, periods_per_year: float | None = None) -> float:
    """Compound annual growth rate; -1.0 if the equity reached zero or below."""
    r = as_returns(returns)
    return _cagr(r.to_numpy(), resolve_periods_per_year(r, periods_per_year))


def annual_volatility(returns, periods_per_year: float | None = None) -> float:
    """Sample standard deviation (ddof=1) times sqrt(periods per year)."""
    r = as_returns(returns)
    return _volatility(r.to_numpy(), resolve_periods_per_year(r, periods_per_year))


def best_period(returns) -> float:
    """Largest single-period return (NaN if empty)."""
    values = as_returns(returns).to_numpy()
    return float(values.max()) if len(values) else float("nan")


def worst_period(returns) -> float:
    """Smallest single-period return (NaN if empty)."""
    values = as_returns(returns).to_numpy()
    return float(values.min()) if len(values) else float("nan")


def skewness(returns) -> float:
    """Bias-corrected sample skewness (pandas ``Series.skew``); NaN for zero variance."""
    return _skew(as_returns(returns).to_numpy())


def excess_kurtosis(returns) -> float:
    """Bias-corrected excess kurtosis (pandas ``Series.kurt``); NaN for zero variance."""
    return _kurtosis(as_returns(returns).to_numpy())


def monthly_returns(returns) -> pd.DataFrame:
    """Compounded returns per calendar month: one row per year, columns Jan..Dec and Year."""
    r = as_returns(returns)
    if not isinstance(r.index, pd.DatetimeIndex):
        from trademl.errors import DataError

        raise DataError("monthly returns need a DatetimeIndex on the returns")
    months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    if len(r) == 0:
        return pd.DataFrame(columns=[*months, "Year"], dtype="float64")
    growth = np.log1p(r.clip(lower=-1 + 1e-12))
    keys = [r.index.year, r.index.month]
    by_month = np.expm1(growth.groupby(keys).sum())
    table = by_month.unstack().reindex(columns=range(1, 13))
    table.columns = months
    table["Year"] = np.expm1(growth.groupby(r.index.year).sum())
    table.index.name = "year"
    return table
