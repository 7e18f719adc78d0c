"""Relative to a benchmark: alpha/beta, information ratio, up/down capture, correlation.

Both series are aligned on their common index and rows with a NaN in either are
dropped. Conventions:
- ``alpha_beta`` follows empyrical: beta = cov/var with population moments, alpha is the
  mean per-period residual compounded over a year, ``(1 + mean(r - beta*b)) ** ppy - 1``.
- ``information_ratio`` is ANNUALISED (times sqrt(periods per year)); quantstats
  ``information_ratio`` and empyrical ``excess_sharpe`` report it per period.
- ``up_capture``/``down_capture`` are Morningstar's: the ratio of the GEOMETRIC MEAN
  per-period returns of strategy and benchmark over the periods where the benchmark
  rose / fell. empyrical annualises both means with ``periods_per_year / n_selected``
  first; on hourly bars that turns the benchmark's up-period mean into astronomically
  large numbers (BTC 1h: 4e7) and the ratio into noise, so we do not.
"""

from __future__ import annotations

import numpy as np

from trademl.analytics._input import aligned, as_returns
from trademl.analytics.periods import resolve_periods_per_year
from trademl.analytics.ratios import per_period_rate

__all__ = ["alpha_beta", "correlation", "down_capture", "information_ratio", "up_capture"]

NAN = float("nan")


def _alpha_beta(r: np.ndarray, b: np.ndarray, ppy: float, rf: float = 0.0) -> tuple[float, float]:
    if len(r) < 2:
        return NAN, NAN
    r = r - rf
    b = b - rf
    centred = b - b.mean()
    variance = float(np.mean(centred**2))
    if variance < 1e-30:
        return NAN, NAN
    beta = float(np.mean(centred * r)) / variance
    alpha = (1.0 + float(np.mean(r - beta * b))) ** ppy - 1.0
    return float(alpha), beta


def _information_ratio(r: np.ndarray, b: np.ndarray, ppy: float) -> float:
    active = r - b
    if len(active) < 2 or active.max() == active.min():
        return NAN
    return float(active.mean() / np.std(active, ddof=1) * np.sqrt(ppy))


def _geometric_mean(values: np.ndarray) -> float:
    growth = float(np.prod(1.0 + values))
    return growth ** (1.0 / len(values)) - 1.0 if growth > 0 else -1.0


def _capture(r: np.ndarray, b: np.ndarray, up: bool) -> float:
    mask = b > 0 if up else b < 0
    if not mask.any():
        return NAN
    bench = _geometric_mean(b[mask])
    if bench == 0:
        return NAN
    return _geometric_mean(r[mask]) / bench


def _correlation(r: np.ndarray, b: np.ndarray) -> float:
    if len(r) < 2 or r.max() == r.min() or b.max() == b.min():
        return NAN
    return float(np.corrcoef(r, b)[0, 1])


def alpha_beta(
    returns, benchmark, periods_per_year: float | None = None, risk_free: float = 0.0
) -> tuple[float, float]:
    """(annualised alpha, beta) of ``returns`` against ``benchmark`` returns."""
    series = as_returns(returns)
    ppy = resolve_periods_per_year(series, periods_per_year)
    r, b = aligned(series, as_returns(benchmark, "benchmark"))
    return _alpha_beta(r, b, ppy, per_period_rate(risk_free, ppy))


def information_ratio(returns, benchmark, periods_per_year: float | None = None) -> float:
    """Annualised mean active return over its standard deviation (ddof=1)."""
    series = as_returns(returns)
    ppy = resolve_periods_per_year(series, periods_per_year)
    r, b = aligned(series, as_returns(benchmark, "benchmark"))
    return _information_ratio(r, b, ppy)


def up_capture(returns, benchmark) -> float:
    """Geometric-mean strategy return over that of the benchmark, benchmark-up periods."""
    r, b = aligned(as_returns(returns), as_returns(benchmark, "benchmark"))
    return _capture(r, b, up=True)


def down_capture(returns, benchmark) -> float:
    """Same as :func:`up_capture` over the periods where the benchmark fell."""
    r, b = aligned(as_returns(returns), as_returns(benchmark, "benchmark"))
    return _capture(r, b, up=False)


def correlation(returns, benchmark) -> float:
    """Pearson correlation of per-period returns (NaN if either is constant)."""
    series = as_returns(returns)
    r, b = aligned(series, as_returns(benchmark, "benchmark"))
    return _correlation(r, b)
