"""Tables shared by the HTML, PDF and Excel writers (display-ready DataFrames)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics.report._content import Report, format_value

# every figure with its unit: "%" values are fractions of equity shown as percentages;
# "annualised" ratios use the periods per year of the timeframe; per-bar figures say so
LABELS = {
    "periods": "periods (bars)",
    "periods_per_year": "periods per year",
    "total_return": "total return (% of equity)",
    "cagr": "CAGR (% per year)",
    "volatility": "volatility (% annualised)",
    "best_period": "best period (% per bar)",
    "worst_period": "worst period (% per bar)",
    "sharpe": "sharpe (annualised)",
    "sortino": "sortino (annualised)",
    "calmar": "calmar (CAGR / max drawdown)",
    "max_drawdown": "max drawdown (% of equity, peak to trough)",
    "max_drawdown_abs": "max drawdown (currency, from the initial capital)",
    "time_under_water": "time under water (% of bars)",
    "longest_drawdown_bars": "longest drawdown (bars)",
    "kelly": "kelly (fraction of equity)",
    "benchmark_total_return": "benchmark total return (% of equity)",
    "benchmark_sharpe": "benchmark sharpe (annualised)",
    "excess_sharpe": "excess sharpe (annualised)",
    "alpha": "alpha (% per year)",
    "information_ratio": "information ratio (annualised)",
    "trade_avg_duration_bars": "trade avg duration (bars)",
    "trade_avg_duration_hours": "trade avg duration (hours)",
    "trade_exposure": "trade exposure (% of bars)",
    "exposure": "exposure (% of bars)",
    "trade_turnover": "trade turnover (x equity per year)",
    "turnover": "turnover (x equity per year)",
    "trade_win_rate": "trade win rate (% of trades)",
    "trade_avg_win": "trade avg win (% per trade)",
    "trade_avg_loss": "trade avg loss (% per trade)",
    "trade_largest_win": "trade largest win (% per trade)",
    "trade_largest_loss": "trade largest loss (% per trade)",
    "trade_expectancy": "trade expectancy (% per trade)",
}


def label(key: str) -> str:
    """The display name of a summary key, with its unit."""
    text = key
    for prefix, name in (("cvar_", "CVaR "), ("var_", "VaR ")):
        if text.startswith(prefix):
            level, method = text[len(prefix) :].split("_", 1)
            return f"{name}{level}% ({method.replace('_', '-')}, % per bar)"
    return LABELS.get(text, text.replace("_", " "))


def summary_table(report: Report) -> pd.DataFrame:
    rows = [(label(k), format_value(k, v)) for k, v in report.summary.items()]
    return pd.DataFrame(rows, columns=["metric", "value"])


def drawdown_display(report: Report) -> pd.DataFrame:
    table = report.drawdowns.copy()
    if table.empty:
        return table
    for column in ("peak", "trough", "recovery"):
        table[column] = ["-" if pd.isna(v) else str(v)[:16] for v in table[column]]
    table["depth"] = [f"{v:.2%}" for v in table["depth"]]
    table["duration"] = [str(v) for v in table["duration"]]
    table["bars_to_recover"] = [
        "-" if pd.isna(v) else f"{int(v):,}" for v in table["bars_to_recover"]
    ]
    return table


def monthly_display(report: Report) -> pd.DataFrame | None:
    if report.monthly is None:
        return None
    return report.monthly.map(lambda v: "" if pd.isna(v) else f"{v * 100:.1f}")


MONTE_CARLO_ROWS = {
    "final_return": "final return (% of equity)",
    "max_drawdown": "max drawdown (% of equity)",
    "sharpe": "sharpe (annualised)",
}


def montecarlo_table(report: Report) -> pd.DataFrame | None:
    """Percentiles of the simulated paths, each row in its unit (returns as percentages)."""
    mc = report.monte_carlo
    if mc is None:
        return None
    table = mc.percentiles()
    shown = pd.DataFrame(index=[MONTE_CARLO_ROWS.get(i, i) for i in table.index],
                         columns=table.columns, dtype=object)  # fmt: skip
    for name, label_text in zip(table.index, shown.index, strict=True):
        form = "{:.3f}" if name == "sharpe" else "{:.2%}"
        shown.loc[label_text] = [form.format(v) if np.isfinite(v) else "n/a"
                                 for v in table.loc[name]]  # fmt: skip
    return shown


def regime_display(report: Report) -> pd.DataFrame | None:
    if report.regimes is None:
        return None
    table = report.regimes.copy()
    for column in ("share", "total_return", "annual_return", "volatility", "max_drawdown",
                   "hit_rate"):  # fmt: skip
        table[column] = [f"{v:.2%}" if np.isfinite(v) else "n/a" for v in table[column]]
    table["sharpe"] = [f"{v:.2f}" if np.isfinite(v) else "n/a" for v in table["sharpe"]]
    return table


def trades_display(report: Report, limit: int | None = None) -> pd.DataFrame | None:
    if report.trades is None or len(report.trades) == 0:
        return None
    trades = report.trades if limit is None else report.trades.tail(limit)
    return trades.copy()
