"""Periods per year from real indexes; drawdown tables checked by hand."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import trademl.analytics as ta
from trademl.errors import DataError


def test_periods_per_year_from_real_indexes(btc_returns, btc_close, shared_data):
    assert ta.periods_per_year(btc_returns.index) == 8760  # 1h, 24/7, with real outages
    assert ta.periods_per_year(btc_close.resample("4h").last().index) == 2190
    assert ta.periods_per_year(btc_close.resample("1D").last().index) == 365
    assert ta.periods_per_year(btc_close.resample("W").last().index) == 52
    five = pd.read_csv(shared_data / "binance_intraday" / "BTCUSDT_5m_2024-2026.csv.gz", nrows=5000)
    assert ta.periods_per_year(pd.DatetimeIndex(pd.to_datetime(five["timestamp"]))) == 105120
    business = pd.bdate_range("2020-01-01", "2023-12-31", tz="UTC")  # equity market days
    assert ta.periods_per_year(business) == 252
    session = pd.DatetimeIndex(
        [d + pd.Timedelta(hours=h) for d in business[:300] for h in range(14, 21)]
    )  # 7 hourly bars per trading day
    assert ta.periods_per_year(session) == 252 * 7
    with pytest.raises(DataError, match="RangeIndex"):
        ta.periods_per_year(pd.RangeIndex(10))


@pytest.mark.parametrize(
    ("timeframe", "crypto", "trading_days"),
    [("1m", 525_600, 362_880), ("5m", 105_120, 72_576), ("1h", 8760, 6048),
     ("4h", 2190, 1512), ("1d", 365, 252), ("1w", 52, 52)],
)  # fmt: skip
def test_periods_per_year_from_the_timeframe(timeframe, crypto, trading_days):
    from trademl.analytics.periods import periods_per_year_for

    assert periods_per_year_for(timeframe) == crypto  # "24/7": 365 days of bars
    assert periods_per_year_for(timeframe, "252") == trading_days  # 252 days x bars per day


def test_the_timeframe_rule_and_the_index_rule_agree(btc_close):
    from trademl.analytics.periods import periods_per_year_for

    for timeframe, rule in (("1h", "1h"), ("4h", "4h"), ("1d", "1D")):
        index = btc_close.resample(rule).last().index
        assert ta.periods_per_year(index) == periods_per_year_for(timeframe)
    business = pd.bdate_range("2020-01-01", "2023-12-31", tz="UTC")
    assert ta.periods_per_year(business) == periods_per_year_for("1d", "252")
    with pytest.raises(ValueError, match="calendar must be"):
        periods_per_year_for("1h", "360")
    with pytest.raises(DataError, match="invalid timeframe"):
        periods_per_year_for("1M")


def test_drawdown_table_by_hand():
    index = pd.date_range("2024-01-01", periods=8, freq="1D", tz="UTC")
    # equity: 1.1, 0.99, 1.089, 1.21 (new high), 0.968, 1.0648, 1.21 (recovered? no: below)
    r = pd.Series([0.1, -0.1, 0.1, 0.111111111111, -0.2, 0.1, 0.05, 0.0], index=index)
    table = ta.drawdown_table(r, top=5)
    assert list(table["depth"].round(6)) == [-0.2, -0.1]
    deepest = table.iloc[0]
    assert deepest["peak"] == index[3] and deepest["trough"] == index[4]
    assert not deepest["recovered"] and pd.isna(deepest["recovery"])
    second = table.iloc[1]
    assert second["peak"] == index[0] and second["trough"] == index[1]
    assert second["recovery"] == index[3] and second["bars_underwater"] == 2
    assert second["bars_to_recover"] == 2
    under = ta.time_under_water(r)
    assert under["fraction"] == pytest.approx(6 / 8)
    assert under["longest_bars"] == 4


def test_first_bar_loss_is_a_drawdown():
    r = pd.Series([-0.1, 0.05, 0.06])
    assert ta.max_drawdown(r) == pytest.approx(-0.1)
    assert ta.drawdown_table(r).iloc[0]["recovered"]


def test_monthly_returns_compound(btc_returns):
    table = ta.monthly_returns(btc_returns)
    january = btc_returns.loc["2022-01"]
    assert table.loc[2022, "Jan"] == pytest.approx(np.prod(1 + january) - 1, rel=1e-9)
    assert table.loc[2023, "Year"] == pytest.approx(
        np.prod(1 + btc_returns.loc["2023"]) - 1, rel=1e-9
    )


def test_rolling_metrics_match_direct_computation(btc_returns):
    window = 720
    rolling = ta.rolling_metrics(btc_returns, window, 8760)
    assert rolling["sharpe"].iloc[: window - 1].isna().all()
    end = 5000
    chunk = btc_returns.iloc[end - window + 1 : end + 1]
    assert rolling["sharpe"].iloc[end] == pytest.approx(ta.sharpe_ratio(chunk, 8760), rel=1e-6)
    assert rolling["volatility"].iloc[end] == pytest.approx(
        ta.annual_volatility(chunk, 8760), rel=1e-6
    )
    assert (rolling["drawdown"].dropna() <= 1e-12).all()


def test_performance_by_regime(btc_returns):
    regimes = ta.volatility_regimes(btc_returns, 168)
    table = ta.performance_by_regime(btc_returns, regimes)
    assert list(table.index) == ["calm", "normal", "turbulent"]
    assert table["bars"].sum() == regimes.notna().sum()
    calm = btc_returns[regimes == "calm"]
    assert table.loc["calm", "sharpe"] == pytest.approx(ta.sharpe_ratio(calm.to_numpy(), 8760))
    assert table.loc["turbulent", "volatility"] > table.loc["calm", "volatility"]
    # the labels are causal: a prefix gets the same trailing volatility
    prefix = btc_returns.iloc[:3000].rolling(168).std()
    full = btc_returns.rolling(168).std().iloc[:3000]
    pd.testing.assert_series_equal(prefix, full)


def test_trade_statistics_by_hand():
    trades = pd.DataFrame(
        {
            "return": [0.10, -0.05, 0.02, -0.01, 0.0],
            "pnl": [100.0, -50.0, 20.0, -10.0, 0.0],
            "bars": [10, 5, 3, 2, 1],
            "duration": pd.to_timedelta([10, 5, 3, 2, 1], unit="h"),
        }
    )
    stats = ta.trade_statistics(trades)
    assert stats["trades"] == 5
    assert stats["win_rate"] == pytest.approx(2 / 5)
    assert stats["profit_factor"] == pytest.approx(120 / 60)
    assert stats["avg_win"] == pytest.approx(0.06)
    assert stats["avg_loss"] == pytest.approx(-0.03)
    assert stats["largest_win"] == 0.10 and stats["largest_loss"] == -0.05
    assert stats["expectancy"] == pytest.approx(0.012)
    assert stats["avg_duration_hours"] == pytest.approx(4.2)
    with pytest.raises(DataError, match="'return' column"):
        ta.trade_statistics(pd.DataFrame({"pnl": [1.0]}))
