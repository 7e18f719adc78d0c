"""Performance and risk analytics: returns in, the full picture out.

Annualisation is explicit and crypto-aware: ``periods_per_year`` is inferred from the
index (8,760 for 1h bars of a 24/7 market, 252 for daily equity bars) and can always be
passed. Every metric agrees with empyrical-reloaded / quantstats where their conventions
match; each module's docstring lists where they differ. Reports (HTML, PDF, Excel) live
in :mod:`trademl.analytics.report`, which imports matplotlib lazily.
"""

from __future__ import annotations

from trademl.analytics._input import PricesAsReturnsWarning, as_returns
from trademl.analytics.benchmark import (
    alpha_beta,
    correlation,
    down_capture,
    information_ratio,
    up_capture,
)
from trademl.analytics.drawdowns import (
    drawdown_series,
    drawdown_table,
    max_drawdown,
    time_under_water,
)
from trademl.analytics.io import read_regimes, read_returns, read_trades
from trademl.analytics.kelly import kelly_fraction
from trademl.analytics.montecarlo import MonteCarloResult, block_bootstrap, trade_bootstrap
from trademl.analytics.periods import periods_per_year
from trademl.analytics.ratios import (
    calmar_ratio,
    omega_ratio,
    sharpe_ratio,
    sortino_ratio,
    stability,
    tail_ratio,
)
from trademl.analytics.regimes import performance_by_regime, volatility_regimes
from trademl.analytics.returns import (
    annual_volatility,
    best_period,
    cagr,
    excess_kurtosis,
    monthly_returns,
    skewness,
    total_return,
    worst_period,
)
from trademl.analytics.rolling import rolling_metrics
from trademl.analytics.summary import performance_summary
from trademl.analytics.trades import trade_returns_series, trade_statistics
from trademl.analytics.var import conditional_value_at_risk, value_at_risk

__all__ = [
    "MonteCarloResult",
    "PricesAsReturnsWarning",
    "alpha_beta",
    "annual_volatility",
    "as_returns",
    "best_period",
    "block_bootstrap",
    "cagr",
    "calmar_ratio",
    "conditional_value_at_risk",
    "correlation",
    "down_capture",
    "drawdown_series",
    "drawdown_table",
    "excess_kurtosis",
    "information_ratio",
    "kelly_fraction",
    "max_drawdown",
    "monthly_returns",
    "omega_ratio",
    "performance_by_regime",
    "performance_summary",
    "periods_per_year",
    "read_regimes",
    "read_returns",
    "read_trades",
    "rolling_metrics",
    "sharpe_ratio",
    "skewness",
    "sortino_ratio",
    "stability",
    "tail_ratio",
    "time_under_water",
    "total_return",
    "trade_bootstrap",
    "trade_returns_series",
    "trade_statistics",
    "up_capture",
    "value_at_risk",
    "volatility_regimes",
    "worst_period",
]
