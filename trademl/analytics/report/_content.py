"""Everything a tearsheet shows, computed once: the same content feeds HTML, PDF and Excel."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trademl.analytics._input import as_returns
from trademl.analytics.drawdowns import drawdown_series, drawdown_table
from trademl.analytics.montecarlo import MonteCarloResult, block_bootstrap, trade_bootstrap
from trademl.analytics.periods import resolve_periods_per_year
from trademl.analytics.regimes import performance_by_regime, volatility_regimes
from trademl.analytics.returns import monthly_returns
from trademl.analytics.rolling import rolling_metrics
from trademl.analytics.summary import performance_summary
from trademl.analytics.trades import trade_statistics
from trademl.errors import DataError

logger = logging.getLogger(__name__)

# metrics shown as percentages; everything else as a plain number
PERCENT_KEYS = {
    "total_return", "cagr", "volatility", "best_period", "worst_period", "max_drawdown",
    "time_under_water", "benchmark_total_return", "alpha", "kelly", "trade_win_rate",
    "trade_avg_win", "trade_avg_loss", "trade_largest_win", "trade_largest_loss",
    "trade_expectancy", "trade_exposure", "exposure",
}  # fmt: skip


def is_percent(key: str) -> bool:
    return key in PERCENT_KEYS or key.startswith(("var_", "cvar_"))


def format_value(key: str, value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)):
        return "n/a"
    if isinstance(value, float) and np.isinf(value):
        return "inf" if value > 0 else "-inf"
    if key in ("periods", "periods_per_year", "trades", "longest_drawdown_bars"):
        if float(value) != int(value):
            return f"{value:,.2f}"
        return f"{int(value):,}"
    if "duration" in key or key.endswith("_bars"):
        return f"{value:,.1f}"
    if is_percent(key):
        return f"{value:.2%}"
    return f"{value:,.3f}"


@dataclass
class Report:
    """The numbers and tables of one tearsheet (charts are drawn from these)."""

    title: str
    returns: pd.Series
    periods_per_year: float
    summary: dict[str, float]
    drawdowns: pd.DataFrame
    underwater: pd.Series
    monthly: pd.DataFrame | None
    rolling: pd.DataFrame
    rolling_window: int
    monte_carlo: MonteCarloResult | None
    regimes: pd.DataFrame | None
    regime_source: str
    benchmark: pd.Series | None = None
    trades: pd.DataFrame | None = None
    trade_stats: dict[str, float] = field(default_factory=dict)
    log_scale: bool = False
    var_level: float = 0.95
    # what the reader must know before trusting a figure (e.g. a degenerate model)
    warnings: list[str] = field(default_factory=list)
    # the model's explanation page (trademl.explain.report_page.ExplanationPage), if any
    explanation: Any = None


def build_report(
    returns=None,
    *,
    trades: pd.DataFrame | None = None,
    benchmark: pd.Series | None = None,
    positions=None,
    regimes: pd.Series | None = None,
    periods_per_year: float | None = None,
    title: str = "trademl tearsheet",
    mc_paths: int = 10_000,
    mc_steps: int | None = None,
    seed: int = 0,
    log_scale: bool = False,
    var_level: float = 0.95,
    rolling_window: int | None = None,
    progress: bool = False,
    warnings: list[str] | None = None,
) -> Report:
    """Compute a tearsheet from per-period ``returns`` or, failing that, a ``trades`` list.

    With trades only, the return series is the trades' returns stamped at their exit
    times and "periods per year" becomes trades per year. Without a ``regimes`` series
    the regime table uses causal volatility terciles of the benchmark (or the strategy).
    The Monte Carlo is a stationary block bootstrap of the returns over one year
    (``mc_steps``, at most the sample length), or a trade bootstrap for trade lists.
    """
    from_trades = returns is None
    if from_trades:
        if trades is None:
            raise DataError("a report needs returns or trades")
        from trademl.analytics.trades import trade_returns_series

        r = trade_returns_series(trades)
        if periods_per_year is None:
            span_years = (r.index[-1] - r.index[0]) / pd.Timedelta(days=365) if len(r) > 1 else 0
            if not span_years > 0:
                raise DataError("trades span no time: pass periods_per_year (trades per year)")
            periods_per_year = len(r) / span_years
    else:
        r = as_returns(returns)
    if len(r) < 2:
        raise DataError(f"a report needs at least 2 returns, got {len(r)}")
    ppy = resolve_periods_per_year(r, periods_per_year)
    bench = None if benchmark is None else as_returns(benchmark, "benchmark").reindex(r.index)
    summary = performance_summary(
        r,
        ppy,
        benchmark=bench,
        trades=None if from_trades else trades,
        positions=positions,
        var_level=var_level,
    )
    stats = trade_statistics(trades, periods_per_year=ppy) if trades is not None else {}
    window = int(rolling_window) if rolling_window else max(2, min(int(ppy / 4), len(r) // 5))
    mc = None
    if mc_paths:
        if from_trades:
            mc = trade_bootstrap(
                r, n_paths=mc_paths, seed=seed, trades_per_year=ppy, progress=progress
            )
        else:
            steps = mc_steps or int(min(len(r), ppy))
            mc = block_bootstrap(
                r, n_paths=mc_paths, n_steps=steps, seed=seed, periods_per_year=ppy,
                progress=progress,
            )  # fmt: skip
    if regimes is not None:
        regime_table, source = performance_by_regime(r, regimes, ppy), "given regimes"
    else:
        base = bench if bench is not None else r
        labels = volatility_regimes(base.fillna(0.0), window)
        if labels.notna().sum():
            regime_table = performance_by_regime(r, labels, ppy)
            who = "benchmark" if bench is not None else "strategy"
            source = f"terciles of trailing {window}-bar {who} volatility"
        else:
            regime_table, source = None, "not enough data for volatility regimes"
    monthly = monthly_returns(r) if isinstance(r.index, pd.DatetimeIndex) else None
    return Report(
        title=title,
        returns=r,
        periods_per_year=ppy,
        summary=summary,
        drawdowns=drawdown_table(r, top=10),
        underwater=drawdown_series(r),
        monthly=monthly,
        rolling=rolling_metrics(r, window, ppy),
        rolling_window=window,
        monte_carlo=mc,
        regimes=regime_table,
        regime_source=source,
        benchmark=bench,
        trades=trades,
        trade_stats=stats,
        log_scale=log_scale,
        var_level=var_level,
        warnings=list(warnings or []),
    )
