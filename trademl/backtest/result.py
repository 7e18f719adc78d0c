"""What a backtest returns: per-bar series, the trade list and the benchmark."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd


@dataclass(frozen=True)
class BacktestResult:
    """Per-bar ``returns`` (net of costs and funding), ``gross_returns``, ``positions``
    (executed, fraction of equity; one column per symbol for a portfolio), ``equity``
    (currency, starting at ``initial_capital``), ``costs`` (fees + slippage as a fraction
    of the equity at the moment of each trade), ``funding``, ``turnover``, the ``trades`` list and the benchmark's returns.
    """

    returns: pd.Series
    gross_returns: pd.Series
    positions: pd.Series | pd.DataFrame
    equity: pd.Series
    costs: pd.Series
    funding: pd.Series
    turnover: pd.Series
    trades: pd.DataFrame
    benchmark_returns: pd.Series | None
    initial_capital: float

    def summary(self, periods_per_year: float | None = None, risk_free: float = 0.0) -> dict:
        """:func:`trademl.analytics.performance_summary` of this run, trades included."""
        from trademl.analytics import performance_summary

        return performance_summary(
            self.returns,
            periods_per_year,
            benchmark=self.benchmark_returns,
            risk_free=risk_free,
            trades=self.trades,
            positions=self.positions,
            initial_capital=self.initial_capital,
        )
