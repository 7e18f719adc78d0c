"""Our metrics against empyrical-reloaded and quantstats on real returns (1e-9 relative).

Where a convention differs (documented in the metric's docstring) the test converts one
into the other explicitly instead of skipping the comparison.
"""

from __future__ import annotations

import numpy as np
import pytest

import trademl.analytics as ta

ep = pytest.importorskip("empyrical")
qs = pytest.importorskip("quantstats")

PPY = 8760
TOL = 1e-9


def close(ours, theirs):
    assert np.isfinite(ours) and np.isfinite(theirs), (ours, theirs)
    assert ours == pytest.approx(float(theirs), rel=TOL, abs=1e-15)


def test_sharpe_sortino_volatility_cagr(btc_returns):
    r = btc_returns
    close(ta.sharpe_ratio(r, PPY), ep.sharpe_ratio(r.to_numpy(), annualization=PPY))
    close(ta.sharpe_ratio(r, PPY), qs.stats.sharpe(r, periods=PPY))
    close(ta.sortino_ratio(r, PPY), ep.sortino_ratio(r.to_numpy(), annualization=PPY))
    close(ta.sortino_ratio(r, PPY), qs.stats.sortino(r, periods=PPY))
    close(ta.annual_volatility(r, PPY), ep.annual_volatility(r.to_numpy(), annualization=PPY))
    close(ta.annual_volatility(r, PPY), qs.stats.volatility(r, periods=PPY))
    close(ta.cagr(r, PPY), ep.annual_return(r.to_numpy(), annualization=PPY))
    close(ta.cagr(r, PPY), qs.stats.cagr(r, periods=PPY))


def test_sharpe_with_annual_risk_free_matches_quantstats(btc_returns):
    # quantstats de-annualises rf as (1 + rf) ** (1 / periods) - 1, as we do
    close(
        ta.sharpe_ratio(btc_returns, PPY, risk_free=0.04),
        qs.stats.sharpe(btc_returns, rf=0.04, periods=PPY),
    )
    # empyrical takes a per-period rate: give it the converted one
    per_period = (1.04) ** (1 / PPY) - 1
    close(
        ta.sharpe_ratio(btc_returns, PPY, risk_free=0.04),
        ep.sharpe_ratio(btc_returns.to_numpy(), risk_free=per_period, annualization=PPY),
    )


def test_drawdown_calmar_omega_tail_stability(btc_returns):
    r = btc_returns
    values = r.to_numpy()
    close(ta.max_drawdown(r), ep.max_drawdown(values))
    close(ta.max_drawdown(r), qs.stats.max_drawdown(r))
    close(ta.calmar_ratio(r, PPY), ep.calmar_ratio(values, annualization=PPY))
    close(ta.omega_ratio(r, PPY), ep.omega_ratio(values, annualization=PPY))
    close(
        ta.omega_ratio(r, PPY, required_return=0.1),
        ep.omega_ratio(values, required_return=0.1, annualization=PPY),
    )
    close(ta.tail_ratio(r), ep.tail_ratio(values))
    close(ta.tail_ratio(r), qs.stats.tail_ratio(r))
    close(ta.stability(r), ep.stability_of_timeseries(values))
    np.testing.assert_allclose(
        ta.drawdown_series(r).to_numpy(),
        ep.stats.drawdown_series(r).to_numpy(),
        rtol=TOL,
        atol=1e-15,
    )


def test_moments_var_cvar_kelly(btc_returns):
    r = btc_returns
    close(ta.skewness(r), qs.stats.skew(r))
    close(ta.excess_kurtosis(r), qs.stats.kurtosis(r))
    close(ta.value_at_risk(r, 0.95, "historical"), ep.value_at_risk(r.to_numpy(), cutoff=0.05))
    close(ta.value_at_risk(r, 0.99, "gaussian"), qs.stats.value_at_risk(r, confidence=0.99))
    close(
        ta.conditional_value_at_risk(r, 0.95, "historical"),
        qs.stats.conditional_value_at_risk(r, confidence=0.95, method="historical"),
    )
    close(
        ta.conditional_value_at_risk(r, 0.95, "gaussian"),
        qs.stats.conditional_value_at_risk(r, confidence=0.95, method="parametric"),
    )
    close(ta.kelly_fraction(r), qs.stats.kelly_criterion(r))


def test_cornish_fisher_by_hand(btc_returns):
    from scipy import stats

    values = btc_returns.to_numpy()
    z = stats.norm.ppf(0.05)
    s = stats.skew(values, bias=False)
    k = stats.kurtosis(values, bias=False)
    z_cf = z + (z**2 - 1) * s / 6 + (z**3 - 3 * z) * k / 24 - (2 * z**3 - 5 * z) * s**2 / 36
    expected = values.mean() + z_cf * values.std(ddof=1)
    close(ta.value_at_risk(btc_returns, 0.95, "cornish_fisher"), expected)
    # with no skew and no excess kurtosis Cornish-Fisher is the Gaussian answer
    normal = np.random.default_rng(3).standard_normal(200_000) * 0.01
    assert ta.conditional_value_at_risk(normal, 0.95, "cornish_fisher") == pytest.approx(
        ta.conditional_value_at_risk(normal, 0.95, "gaussian"), rel=2e-3
    )


def test_benchmark_metrics(btc_returns, eth_returns):
    r, b = eth_returns.align(btc_returns, join="inner")
    alpha, beta = ta.alpha_beta(r, b, PPY)
    ep_alpha, ep_beta = ep.alpha_beta(r.to_numpy(), b.to_numpy(), annualization=PPY)
    close(alpha, ep_alpha)
    close(beta, ep_beta)
    # quantstats / empyrical report the information ratio per period; ours is annualised
    # (quantstats cannot align time-zone-aware indexes: hand it naive UTC copies)
    naive_r, naive_b = r.tz_localize(None), b.tz_localize(None)
    close(
        ta.information_ratio(r, b, PPY), qs.stats.information_ratio(naive_r, naive_b) * np.sqrt(PPY)
    )
    close(
        ta.information_ratio(r, b, PPY), ep.excess_sharpe(r.to_numpy(), b.to_numpy()) * np.sqrt(PPY)
    )
    close(ta.correlation(r, b), np.corrcoef(r, b)[0, 1])
    up = b > 0
    geo = lambda x: np.prod(1 + x) ** (1 / len(x)) - 1  # noqa: E731
    close(ta.up_capture(r, b), geo(r[up]) / geo(b[up]))
    close(ta.down_capture(r, b), geo(r[b < 0]) / geo(b[b < 0]))


def test_summary_uses_the_same_numbers(btc_returns, eth_returns):
    r, b = eth_returns.align(btc_returns, join="inner")
    summary = ta.performance_summary(r, benchmark=b)
    assert summary["periods_per_year"] == PPY
    close(summary["sharpe"], ep.sharpe_ratio(r.to_numpy(), annualization=PPY))
    close(summary["max_drawdown"], ep.max_drawdown(r.to_numpy()))
    close(summary["beta"], ep.beta(r.to_numpy(), b.to_numpy()))
    close(summary["var_95_historical"], ep.value_at_risk(r.to_numpy()))
