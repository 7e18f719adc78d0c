"""Every metric at once, as a flat dict of floats (JSON-ready, NaN where undefined)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics._input import aligned, as_returns
from trademl.analytics.benchmark import _alpha_beta, _capture, _correlation, _information_ratio
from trademl.analytics.drawdowns import _episodes, _underwater
from trademl.analytics.kelly import _kelly
from trademl.analytics.periods import resolve_periods_per_year
from trademl.analytics.ratios import (
    _omega,
    _sharpe,
    _sortino,
    _stability,
    _tail,
    per_period_rate,
)
from trademl.analytics.returns import _cagr, _shape, _total, _volatility
from trademl.analytics.trades import trade_statistics
from trademl.analytics.var import _cvar, _var, moments
from trademl.errors import DataError

__all__ = ["performance_summary"]


def performance_summary(
    returns,
    periods_per_year: float | None = None,
    *,
    benchmark=None,
    risk_free: float = 0.0,
    trades: pd.DataFrame | None = None,
    positions=None,
    var_level: float = 0.95,
    initial_capital: float = 1.0,
) -> dict[str, float]:
    """All return, risk, drawdown, tail and (optionally) benchmark and trade metrics.

    ``periods_per_year`` is inferred from the returns' DatetimeIndex when not given
    (8,760 for 1h crypto bars, 252 for daily equity bars). ``risk_free`` is an annual
    rate. Metrics whose denominator is zero are NaN (e.g. Sharpe of constant returns).
    Raises ``DataError`` for empty returns. Prices passed by mistake get a
    ``PricesAsReturnsWarning`` and figures that overflow to inf instead of numpy warnings.
    See the metric modules for each convention.
    """
    r = as_returns(returns)
    # after the prices warning, compounding values like 43,000 overflows: say it once, not
    # again as numpy RuntimeWarnings
    with np.errstate(over="ignore", invalid="ignore"):
        return _summary(
            r, periods_per_year, benchmark, risk_free, trades, positions, var_level, initial_capital
        )


def _summary(
    r, periods_per_year, benchmark, risk_free, trades, positions, var_level, initial_capital
) -> dict[str, float]:
    if len(r) == 0:
        raise DataError("returns are empty: nothing to summarise")
    ppy = resolve_periods_per_year(r, periods_per_year)
    values = r.to_numpy()
    rf = per_period_rate(risk_free, ppy)
    dd = _underwater(values)
    equity = np.cumprod(1.0 + values) * initial_capital
    peak = np.maximum.accumulate(np.concatenate(([initial_capital], equity)))[1:]
    starts, ends = _episodes(dd)
    max_dd = float(min(dd.min(), 0.0))
    cagr = _cagr(values, ppy)
    alpha = 1.0 - var_level
    skew, kurtosis = _shape(values)
    shape = moments(values)  # computed once for the Gaussian and Cornish-Fisher figures
    cutoff = _var(values, alpha, "historical")
    level = int(round(var_level * 100))
    summary: dict[str, float] = {
        "periods": float(len(values)),
        "periods_per_year": ppy,
        "total_return": _total(values),
        "cagr": cagr,
        "volatility": _volatility(values, ppy),
        "best_period": float(values.max()),
        "worst_period": float(values.min()),
        "skew": skew,
        "kurtosis": kurtosis,
        "sharpe": _sharpe(values, ppy, rf),
        "sortino": _sortino(values, ppy, rf),
        "calmar": cagr / abs(max_dd) if max_dd < 0 else float("nan"),
        "omega": _omega(values, rf),
        "tail_ratio": _tail(values),
        "stability": _stability(values),
        "max_drawdown": max_dd,
        "max_drawdown_abs": float((peak - equity).max(initial=0.0)),
        "time_under_water": float((dd < 0).mean()),
        "longest_drawdown_bars": float((ends - starts + 1).max()) if len(starts) else 0.0,
        f"var_{level}_historical": cutoff,
        f"var_{level}_gaussian": _var(values, alpha, "gaussian", shape),
        f"var_{level}_cornish_fisher": _var(values, alpha, "cornish_fisher", shape),
        f"cvar_{level}_historical": _cvar(values, alpha, "historical", cutoff=cutoff),
        f"cvar_{level}_gaussian": _cvar(values, alpha, "gaussian", shape),
        f"cvar_{level}_cornish_fisher": _cvar(values, alpha, "cornish_fisher", shape),
        "kelly": _kelly(values, "binary"),
    }
    if benchmark is not None:
        bench, bvalues = aligned(r, as_returns(benchmark, "benchmark"))
        alpha_value, beta = _alpha_beta(bench, bvalues, ppy, rf)
        benchmark_sharpe = _sharpe(bvalues, ppy, rf)
        summary.update(
            {
                "benchmark_total_return": _total(bvalues),
                # the same bars held long: a strategy's Sharpe means little without it
                "benchmark_sharpe": benchmark_sharpe,
                "excess_sharpe": summary["sharpe"] - benchmark_sharpe,
                "alpha": alpha_value,
                "beta": beta,
                "information_ratio": _information_ratio(bench, bvalues, ppy),
                "up_capture": _capture(bench, bvalues, up=True),
                "down_capture": _capture(bench, bvalues, up=False),
                "correlation": _correlation(bench, bvalues),
            }
        )
    if trades is not None:
        stats = trade_statistics(trades, positions, periods_per_year=ppy)
        summary.update({f"trade_{k}" if k != "trades" else k: v for k, v in stats.items()})
    elif positions is not None:
        from trademl.analytics.trades import _exposure

        summary.update(_exposure(positions, ppy))
    return summary
