"""Bad input gives a clear error or a documented value, never a crash or a numpy warning."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

import trademl.analytics as ta
from trademl.errors import DataError

pytestmark = pytest.mark.filterwarnings("error")

SCALARS = [
    lambda r: ta.total_return(r),
    lambda r: ta.cagr(r, 8760),
    lambda r: ta.annual_volatility(r, 8760),
    lambda r: ta.sharpe_ratio(r, 8760),
    lambda r: ta.sortino_ratio(r, 8760),
    lambda r: ta.calmar_ratio(r, 8760),
    lambda r: ta.omega_ratio(r, 8760),
    lambda r: ta.tail_ratio(r),
    lambda r: ta.stability(r),
    lambda r: ta.max_drawdown(r),
    lambda r: ta.skewness(r),
    lambda r: ta.excess_kurtosis(r),
    lambda r: ta.kelly_fraction(r),
    lambda r: ta.kelly_fraction(r, "continuous"),
    *[
        lambda r, m=m: ta.value_at_risk(r, 0.95, m)
        for m in ("historical", "gaussian", "cornish_fisher")
    ],
    *[
        lambda r, m=m: ta.conditional_value_at_risk(r, 0.95, m)
        for m in ("historical", "gaussian", "cornish_fisher")
    ],
]


def hourly(values) -> pd.Series:
    index = pd.date_range("2024-01-01", periods=len(values), freq="1h", tz="UTC")
    return pd.Series(values, index=index, dtype="float64")


@pytest.mark.parametrize("metric", SCALARS)
def test_empty_returns_give_nan(metric):
    assert math.isnan(metric(hourly([])))


def test_summary_of_empty_returns_is_a_clear_error():
    with pytest.raises(DataError, match="empty"):
        ta.performance_summary(hourly([]), 8760)


@pytest.mark.parametrize("metric", SCALARS)
def test_all_zero_returns_are_quiet(metric):
    value = metric(hourly(np.zeros(500)))
    assert value == 0.0 or math.isnan(value)


def test_constant_equity_documented_values():
    summary = ta.performance_summary(hourly(np.zeros(500)))
    assert math.isnan(summary["sharpe"])  # zero volatility: Sharpe is NaN, not inf
    assert math.isnan(summary["sortino"]) and math.isnan(summary["calmar"])
    assert summary["max_drawdown"] == 0.0 and summary["total_return"] == 0.0
    assert summary["volatility"] == 0.0
    constant = hourly(np.full(500, 0.001))  # steady gains: no downside, no drawdown
    summary = ta.performance_summary(constant)
    assert math.isnan(summary["sharpe"]) and math.isnan(summary["sortino"])
    assert summary["max_drawdown"] == 0.0


def test_nans_are_dropped(btc_returns):
    holes = btc_returns.copy()
    holes.iloc[::50] = np.nan
    assert ta.sharpe_ratio(holes, 8760) == pytest.approx(ta.sharpe_ratio(holes.dropna(), 8760))
    assert math.isnan(ta.sharpe_ratio(hourly([np.nan] * 10), 8760))


def test_non_datetime_index_needs_periods_per_year(btc_returns):
    plain = btc_returns.reset_index(drop=True)
    with pytest.raises(DataError, match="not a DatetimeIndex.*periods_per_year"):
        ta.sharpe_ratio(plain)
    assert ta.sharpe_ratio(plain, 8760) == pytest.approx(ta.sharpe_ratio(btc_returns))
    assert ta.performance_summary(plain.to_numpy(), 8760)["periods"] == len(plain)


def test_prices_passed_as_returns_warn(btc_close):
    with pytest.warns(ta.PricesAsReturnsWarning, match="look like prices"):
        ta.performance_summary(btc_close.iloc[:1000])


def test_infinite_and_text_values_are_named():
    with pytest.raises(DataError, match="infinite value at row 2"):
        ta.sharpe_ratio(hourly([0.01, 0.02, np.inf, 0.0]), 8760)
    with pytest.raises(DataError, match="non-numeric value 'abc'"):
        ta.sharpe_ratio(pd.Series([0.01, "abc", 0.02], dtype=object), 8760)


def test_bad_parameters_name_themselves(btc_returns):
    with pytest.raises(ValueError, match="level"):
        ta.value_at_risk(btc_returns, 1.5)
    with pytest.raises(ValueError, match="method"):
        ta.value_at_risk(btc_returns, 0.95, "monte")
    with pytest.raises(DataError, match="periods_per_year"):
        ta.sharpe_ratio(btc_returns, -1)
    with pytest.raises(ValueError, match="window"):
        ta.rolling_metrics(btc_returns, 1)


def test_total_loss_is_reported_not_crashed():
    wiped = hourly([0.1, -1.0, 0.0, 0.05])
    assert ta.max_drawdown(wiped) == -1.0
    assert ta.cagr(wiped, 8760) == -1.0
    assert math.isnan(ta.stability(wiped))
    ta.performance_summary(wiped)


def test_single_value():
    one = hourly([0.01])
    assert math.isnan(ta.sharpe_ratio(one, 8760))
    assert ta.total_return(one) == pytest.approx(0.01)
    ta.performance_summary(one, 8760)
