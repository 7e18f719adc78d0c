"""Every figure of the backtest table and the tearsheet names its unit."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.analytics.report._content import format_value
from trademl.analytics.report._tables import label, montecarlo_table


def test_labels_carry_units():
    assert label("max_drawdown") == "max drawdown (% of equity, peak to trough)"
    assert label("max_drawdown_abs") == "max drawdown (currency, from the initial capital)"
    assert label("trade_turnover") == "trade turnover (x equity per year)"
    assert label("sharpe") == "sharpe (annualised)"
    assert label("var_95_historical") == "VaR 95% (historical, % per bar)"
    assert format_value("max_drawdown", -0.3334) == "-33.34%"


def test_monte_carlo_rows_are_percentages_and_annualised_sharpe():
    from trademl.analytics.report import build_report

    rng = np.random.default_rng(0)
    returns = pd.Series(rng.normal(0.0002, 0.01, 600),
                        index=pd.date_range("2026-01-01", periods=600, freq="h", tz="UTC"))  # fmt: skip
    report = build_report(returns, mc_paths=200, seed=1, warnings=["DEGENERATE MODEL: long"])
    table = montecarlo_table(report)
    assert list(table.index) == [
        "final return (% of equity)",
        "max drawdown (% of equity)",
        "sharpe (annualised)",
    ]
    assert all(v.endswith("%") for v in table.loc["max drawdown (% of equity)"])
    from trademl.analytics.report.html import render_html

    assert "<div class='warning'>DEGENERATE MODEL: long</div>" in render_html(report)
