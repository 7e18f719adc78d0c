"""Risk-adjusted ratios: Sharpe, Sortino, Calmar, Omega, tail ratio, stability.

``risk_free`` and ``required_return`` are ANNUAL rates, turned into a per-period rate as
``(1 + rate) ** (1 / periods_per_year) - 1`` (quantstats' convention). empyrical takes
``risk_free`` per period instead; with a zero rate both agree exactly.

Where the ratio's denominator is zero (constant returns, no losses, no drawdown) the
result is NaN, never inf: empyrical returns inf for Sharpe/Sortino there and quantstats
a mixture of inf and NaN.
"""

from __future__ import annotations

import numpy as np

from trademl.analytics._input import as_returns
from trademl.analytics.drawdowns import _equity, _max_drawdown
from trademl.analytics.periods import resolve_periods_per_year
from trademl.analytics.returns import _dot

__all__ = [
    "calmar_ratio",
    "omega_ratio",
    "per_bar_sharpe",
    "per_period_rate",
    "sharpe_ratio",
    "sortino_ratio",
    "stability",
    "tail_ratio",
]

NAN = float("nan")


def per_period_rate(annual_rate: float, ppy: float) -> float:
    """The per-period rate that compounds to ``annual_rate`` over one year."""
    if annual_rate == 0:
        return 0.0
    return (1.0 + annual_rate) ** (1.0 / ppy) - 1.0


def _is_constant(values: np.ndarray, std: float, mean: float) -> bool:
    # identical values leave a ~1e-18 residue in the std, not 0: check them exactly
    return std == 0 or (std < 1e-10 * max(abs(mean), 1e-300) and values.max() == values.min())


def per_bar_sharpe(values: np.ndarray) -> float:
    """Mean over standard deviation (ddof=1) of per-bar returns: trademl's one Sharpe.

    Every Sharpe trademl reports is this number times sqrt(periods per year): the
    analytics ratios here (NaN where undefined) and the metric registry's ``sharpe``
    (``trademl.validation.metrics``: 0.0 where undefined, for tuning and monitoring).
    NaN for fewer than 2 values or constant returns (zero standard deviation).
    """
    values = np.asarray(values, dtype="float64")
    if len(values) < 2:
        return NAN
    mean = float(values.mean())
    centred = values - mean
    std = float(np.sqrt(_dot(centred, centred) / (len(centred) - 1)))
    if _is_constant(values, std, mean):
        return NAN
    return mean / std


def _sharpe(values: np.ndarray, ppy: float, rf_period: float = 0.0) -> float:
    excess = values - rf_period if rf_period else values
    return float(per_bar_sharpe(excess) * np.sqrt(ppy))


def _sortino(values: np.ndarray, ppy: float, mar_period: float = 0.0) -> float:
    if len(values) < 1:
        return NAN
    excess = values - mar_period if mar_period else values
    below = np.minimum(excess, 0.0)
    downside = float(np.sqrt(_dot(below, below) / len(below)))
    if downside == 0:
        return NAN
    return float(excess.mean() / downside * np.sqrt(ppy))


def _calmar(values: np.ndarray, ppy: float) -> float:
    if len(values) == 0:
        return NAN
    equity = _equity(values)
    growth = float(equity[-1])  # the same compounding the CAGR needs: reuse it
    max_dd = _max_drawdown(values, equity)
    if not max_dd < 0:
        return NAN
    cagr = growth ** (ppy / len(values)) - 1.0 if growth > 0 else -1.0
    return cagr / abs(max_dd)


def _omega(values: np.ndarray, threshold: float) -> float:
    if len(values) < 2:
        return NAN
    excess = values - threshold
    losses = -float(excess[excess < 0].sum())
    if losses <= 0:
        return NAN
    return float(excess[excess > 0].sum()) / losses


def _tail(values: np.ndarray) -> float:
    if len(values) < 1:
        return NAN
    upper, lower = np.percentile(values, [95, 5])
    if lower == 0:
        return NAN
    return float(abs(upper) / abs(lower))


def _stability(values: np.ndarray) -> float:
    if len(values) < 2 or (values <= -1).any():
        return NAN
    log_equity = np.cumsum(np.log1p(values))
    time = np.arange(len(values), dtype="float64")
    y = log_equity - log_equity.mean()
    x = time - time.mean()
    syy = float(_dot(y, y))
    if syy == 0:
        return NAN
    return float(_dot(x, y) ** 2 / (_dot(x, x) * syy))


def sharpe_ratio(returns, periods_per_year: float | None = None, risk_free: float = 0.0) -> float:
    """Annualised Sharpe: mean / std (ddof=1) of excess returns times sqrt(periods per year).

    Same as empyrical ``sharpe_ratio`` and quantstats ``sharpe``; NaN for zero volatility.
    """
    r = as_returns(returns)
    ppy = resolve_periods_per_year(r, periods_per_year)
    return _sharpe(r.to_numpy(), ppy, per_period_rate(risk_free, ppy))


def sortino_ratio(
    returns, periods_per_year: float | None = None, required_return: float = 0.0
) -> float:
    """Annualised Sortino: mean excess return over the root-mean-square of its negative part.

    The downside deviation averages over ALL periods (empyrical ``downside_risk`` and
    quantstats ``sortino``), not only the losing ones. NaN when nothing is below target.
    """
    r = as_returns(returns)
    ppy = resolve_periods_per_year(r, periods_per_year)
    return _sortino(r.to_numpy(), ppy, per_period_rate(required_return, ppy))


def calmar_ratio(returns, periods_per_year: float | None = None) -> float:
    """CAGR divided by the absolute maximum drawdown (NaN without a drawdown)."""
    r = as_returns(returns)
    return _calmar(r.to_numpy(), resolve_periods_per_year(r, periods_per_year))


def omega_ratio(
    returns,
    periods_per_year: float | None = None,
    required_return: float = 0.0,
    risk_free: float = 0.0,
) -> float:
    """Sum of gains over sum of losses relative to a threshold (annual ``required_return``).

    Matches empyrical ``omega_ratio`` with ``annualization=periods_per_year`` (empyrical's
    ``risk_free`` is per period, ours annual).
    """
    r = as_returns(returns)
    ppy = resolve_periods_per_year(r, periods_per_year) if required_return or risk_free else 1.0
    threshold = per_period_rate(required_return, ppy) + per_period_rate(risk_free, ppy)
    return _omega(r.to_numpy(), threshold)


def tail_ratio(returns) -> float:
    """|95th percentile| / |5th percentile| (linear interpolation, as both libraries)."""
    return _tail(as_returns(returns).to_numpy())


def stability(returns) -> float:
    """R² of a straight-line fit to log equity (empyrical ``stability_of_timeseries``)."""
    return _stability(as_returns(returns).to_numpy())
