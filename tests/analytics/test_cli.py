"""`trademl analytics metrics|montecarlo` and `trademl report` from files."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

import trademl.analytics as ta


@pytest.fixture(scope="module")
def returns_csv(btc_returns, tmp_path_factory):
    path = tmp_path_factory.mktemp("returns") / "returns.csv"
    btc_returns.iloc[:6000].to_frame("returns").to_csv(path, index_label="timestamp")
    return path


def test_metrics_json_equals_the_library(cli, returns_csv, btc_returns):
    code, out, err = cli("analytics", "metrics", returns_csv, "--json")
    assert code == 0, err
    printed = json.loads(out)
    expected = ta.performance_summary(btc_returns.iloc[:6000])
    assert printed["periods_per_year"] == 8760
    assert printed["sharpe"] == pytest.approx(expected["sharpe"], rel=1e-12)
    assert printed["max_drawdown"] == pytest.approx(expected["max_drawdown"], rel=1e-12)


def test_metrics_table_and_override(cli, returns_csv):
    code, out, err = cli("analytics", "metrics", returns_csv, "--periods-per-year", "365")
    assert code == 0, err
    assert "sharpe" in out and "365" in out


def test_metrics_bad_files(cli, tmp_path, btc_close):
    code, _, err = cli("analytics", "metrics", tmp_path / "nope.csv")
    assert code == 2 and "not found" in err
    prices = tmp_path / "prices.csv"
    btc_close.iloc[:500].to_frame("close").to_csv(prices, index_label="timestamp")
    with pytest.warns(ta.PricesAsReturnsWarning):
        code, out, err = cli("analytics", "metrics", prices, "--json")
    assert code == 0
    two = tmp_path / "two.csv"
    pd.DataFrame({"a": [0.1, 0.2], "b": [0.0, 0.1]}).to_csv(two, index=False)
    code, _, err = cli("analytics", "metrics", two)
    assert code == 2 and "--column" in err
    code, _, err = cli("analytics", "metrics", two, "--column", "a")
    assert code == 2 and "periods_per_year" in err  # no timestamps: say what to pass
    code, out, err = cli("analytics", "metrics", two, "--column", "a", "--periods-per-year", "12")
    assert code == 0, err


def test_montecarlo_command(cli, returns_csv):
    code, out, err = cli("analytics", "montecarlo", returns_csv, "--paths", "300",
                         "--steps", "1000", "--json")  # fmt: skip
    assert code == 0, err
    payload = json.loads(out)
    assert payload["paths"] == 300 and 0 <= payload["probability_of_ruin"] <= 1
    assert set(payload["percentiles"]) == {"final_return", "max_drawdown", "sharpe"}


def test_report_from_returns_and_trades(cli, returns_csv, tmp_path, btc_returns, eth_returns):
    regimes = pd.Series(
        np.where(btc_returns.index.hour < 12, "asia", "west"), index=btc_returns.index
    )
    regimes_csv = tmp_path / "regimes.csv"
    regimes.to_frame("regime").to_csv(regimes_csv, index_label="timestamp")
    bench_csv = tmp_path / "bench.csv"
    eth_returns.to_frame("returns").to_csv(bench_csv, index_label="timestamp")
    code, out, err = cli("report", "--returns", returns_csv, "--format", "html",
                         "-o", tmp_path / "r.html", "--mc-paths", "200",
                         "--regimes", regimes_csv, "--benchmark", bench_csv)  # fmt: skip
    assert code == 0, err
    assert "wrote html" in out
    html = (tmp_path / "r.html").read_text()
    assert "asia" in html and "west" in html and "benchmark" in html
    trades = pd.DataFrame(
        {
            "exit_time": btc_returns.index[::200][:60],
            "return": np.random.default_rng(0).normal(0.002, 0.02, 60),
        }
    )
    trades_csv = tmp_path / "trades.csv"
    trades.to_csv(trades_csv, index=False)
    code, out, err = cli("report", "--trades", trades_csv, "-o", tmp_path / "t.xlsx",
                         "--mc-paths", "200")  # fmt: skip
    assert code == 0, err
    code, _, err = cli("report", "--returns", returns_csv, "-o", tmp_path / "r.docx")
    assert code == 2 and "--format" in err
