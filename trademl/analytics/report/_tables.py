"""Tables shared by the HTML, PDF and Excel writers (display-ready DataFrames)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics.report._content import Report, format_value

LABELS = {
    "cagr": "CAGR", "var_": "VaR ", "cvar_": "CVaR ", "max_drawdown_abs": "max drawdown (equity units)",
}  # fmt: skip


def label(key: str) -> str:
    text = key
    for prefix, name in (("cvar_", "CVaR "), ("var_", "VaR ")):
        if text.startswith(prefix):
            level, method = text[len(prefix) :].split("_", 1)
            return f"{name}{level}% ({method.replace('_', '-')})"
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


def montecarlo_table(report: Report) -> pd.DataFrame | None:
    mc = report.monte_carlo
    if mc is None:
        return None
    return mc.percentiles()


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
