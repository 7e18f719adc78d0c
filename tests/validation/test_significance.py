"""Significance tests checked against papers' worked examples and independent libraries."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest
from scipy import stats

from trademl.validation.significance import (
    benjamini_hochberg,
    block_bootstrap_difference,
    deflated_sharpe_ratio,
    diebold_mariano,
    effect_size,
    expected_max_sharpe,
    holm,
    minimum_track_record_length,
    paired_t_test,
    probabilistic_sharpe_ratio,
    probability_of_backtest_overfitting,
    sharpe_moments,
    wilcoxon_test,
)


def test_deflated_sharpe_ratio_paper_example():
    """Bailey & López de Prado (2014), "The Deflated Sharpe Ratio", numerical example:
    N = 100 trials, V[SR] = 1/2 (annualised), T = 1250 daily observations, best annualised
    SR = 2.5, skewness -3, kurtosis 10  ->  E[max SR] ≈ 0.1132 per day and DSR ≈ 0.9004.
    """
    var = 0.5 / 250
    assert expected_max_sharpe(100, var) == pytest.approx(0.1132, abs=1e-4)
    dsr = deflated_sharpe_ratio(2.5 / np.sqrt(250), 100, var, 1250, skew=-3, kurtosis=10)
    assert dsr == pytest.approx(0.9004, abs=2e-4)
    # one trial: no deflation, DSR is PSR against zero
    assert deflated_sharpe_ratio(0.1, 1, var, 250) == probabilistic_sharpe_ratio(0.1, 250)


def test_psr_is_calibrated_and_mintrl_inverts_it():
    """Bailey & López de Prado (2012), "The Sharpe Ratio Efficient Frontier": under the
    null SR = SR*, PSR(SR*) is ~uniform, so P(PSR > 0.95) ≈ 5%; MinTRL is the n at which
    PSR reaches the confidence level (eq. for MinTRL solves PSR = 1 - alpha)."""
    rng = np.random.default_rng(7)
    true_sr, n = 0.1, 500
    returns = rng.normal(true_sr, 1.0, size=(4000, n))
    sharpe = returns.mean(axis=1) / returns.std(axis=1, ddof=1)
    psr = np.array([probabilistic_sharpe_ratio(s, n, benchmark=true_sr) for s in sharpe])
    assert np.mean(psr > 0.95) == pytest.approx(0.05, abs=0.012)
    mintrl = minimum_track_record_length(0.12, skew=-0.5, kurtosis=5, benchmark=0.02)
    assert probabilistic_sharpe_ratio(
        0.12, mintrl, skew=-0.5, kurtosis=5, benchmark=0.02
    ) == pytest.approx(0.95, abs=1e-9)
    # fat left tails lengthen the track record needed
    assert mintrl > minimum_track_record_length(0.12, benchmark=0.02)
    with pytest.raises(ValueError, match="benchmark"):
        minimum_track_record_length(0.01, benchmark=0.02)
    m = sharpe_moments(returns[0])
    assert m["n_obs"] == n and m["kurtosis"] == pytest.approx(3, abs=0.6)


def test_pbo_separates_noise_from_skill():
    """Bailey, Borwein, López de Prado & Zhu (2015): with trials that are pure noise the
    in-sample winner is a coin flip out of sample (PBO ≈ 0.5); a trial with a real edge
    stays on top out of sample (PBO ≈ 0)."""
    rng = np.random.default_rng(3)
    noise = rng.normal(0, 0.01, size=(1600, 40))
    res = probability_of_backtest_overfitting(noise, n_blocks=10)
    assert res.n_splits == comb(10, 5)
    assert 0.3 < res.pbo < 0.7
    skilled = noise.copy()
    skilled[:, 0] += 0.004
    res = probability_of_backtest_overfitting(skilled, n_blocks=10)
    assert res.pbo < 0.05 and res.prob_oos_loss < 0.05
    assert np.all(res.logits > 0)
    with pytest.raises(ValueError, match="even"):
        probability_of_backtest_overfitting(noise, n_blocks=5)


def test_paired_t_matches_scipy_and_effect_size():
    """scipy.stats.ttest_rel is the independent reference; d_z = t / sqrt(n)."""
    rng = np.random.default_rng(1)
    a, b = rng.normal(0.1, 1, 200), rng.normal(0, 1, 200)
    ours = paired_t_test(a, b)
    ref = stats.ttest_rel(a, b)
    assert ours.statistic == pytest.approx(ref.statistic) and ours.pvalue == pytest.approx(
        ref.pvalue
    )
    greater = paired_t_test(a, b, alternative="greater")
    assert greater.pvalue == pytest.approx(stats.ttest_rel(a, b, alternative="greater").pvalue)
    assert effect_size(a, b, hedges=False) == pytest.approx(ref.statistic / np.sqrt(200))
    assert abs(effect_size(a, b)) < abs(effect_size(a, b, hedges=False))


def test_wilcoxon_scipy_documentation_example():
    """scipy.stats.wilcoxon docs (Fisher's data, 15 paired differences):
    statistic 24, exact two-sided p = 0.041259765625."""
    d = np.array([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75])
    res = wilcoxon_test(d, np.zeros(len(d)))
    assert res.statistic == 24 and res.pvalue == pytest.approx(0.041259765625)


def test_diebold_mariano_against_t_test_and_statsmodels_hac():
    """Harvey, Leybourne & Newbold (1997): for h = 1 the corrected DM statistic equals the
    paired t statistic (scipy). For h > 1 the long-run variance must equal the uniform-
    kernel HAC variance of the mean (statsmodels OLS on a constant, h-1 lags)."""
    import statsmodels.api as sm

    rng = np.random.default_rng(5)
    e_a = rng.normal(0, 1, 300)
    e_b = rng.normal(0, 1.1, 300)
    loss_a, loss_b = e_a**2, e_b**2
    dm1 = diebold_mariano(loss_a, loss_b, horizon=1)
    ref = stats.ttest_rel(loss_a, loss_b)
    assert dm1.statistic == pytest.approx(ref.statistic) and dm1.pvalue == pytest.approx(ref.pvalue)
    h, t = 4, 300
    d = loss_a - loss_b
    fit = sm.OLS(d, np.ones(t)).fit(
        cov_type="HAC", cov_kwds={"maxlags": h - 1, "kernel": "uniform", "use_correction": False}
    )
    dm_plain = d.mean() / fit.bse[0]
    hln = np.sqrt((t + 1 - 2 * h + h * (h - 1) / t) / t)
    dm4 = diebold_mariano(loss_a, loss_b, horizon=h)
    assert dm4.statistic == pytest.approx(dm_plain * hln, rel=1e-9)
    assert dm4.pvalue == pytest.approx(2 * stats.t(t - 1).sf(abs(dm_plain * hln)))


def test_holm_and_bh_match_statsmodels():
    """statsmodels.stats.multitest.multipletests is the independent reference."""
    from statsmodels.stats.multitest import multipletests

    p = np.array([0.01, 0.04, 0.03, 0.005, 0.2, 0.04, 0.8, 0.0001])
    for ours, method in ((holm, "holm"), (benjamini_hochberg, "fdr_bh")):
        reject, adjusted = ours(p, alpha=0.05)
        ref_reject, ref_adjusted, _, _ = multipletests(p, alpha=0.05, method=method)
        np.testing.assert_allclose(adjusted, ref_adjusted)
        np.testing.assert_array_equal(reject, ref_reject)
    with pytest.raises(ValueError, match="entry 1"):
        holm([0.1, 1.5])


def test_block_bootstrap_matches_arch():
    """arch.bootstrap.CircularBlockBootstrap (percentile interval) is the independent
    reference; both resample the same circular blocks, so the intervals agree up to
    Monte Carlo noise."""
    from arch.bootstrap import CircularBlockBootstrap

    rng = np.random.default_rng(11)
    n = 600
    y = np.cumsum(rng.normal(size=n)) * 0.1 + rng.normal(size=n)
    a = y + rng.normal(0, 0.8, n)
    b = y + rng.normal(0, 1.0, n)

    def mse(t, p):
        return float(np.mean((t - p) ** 2))

    ours = block_bootstrap_difference(y, a, b, mse, block_size=20, n_boot=2000, seed=1)
    bs = CircularBlockBootstrap(20, y, a, b, seed=2)
    ref = bs.conf_int(
        lambda t, p, q: np.array([mse(t, p) - mse(t, q)]), reps=2000, method="percentile"
    )
    assert ours.estimate == pytest.approx(mse(y, a) - mse(y, b))
    assert ours.low == pytest.approx(ref[0, 0], abs=0.03)
    assert ours.high == pytest.approx(ref[1, 0], abs=0.03)
    assert ours.low < ours.estimate < ours.high < 0  # model a really is better


def test_paired_inputs_must_align():
    import pandas as pd

    idx = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    a = pd.Series([1.0, 2, 3, 4, 5], index=idx)
    b = pd.Series([1.0, 2, 3, 4, 5], index=idx + pd.Timedelta(hours=1))
    with pytest.raises(ValueError, match="misaligned"):
        paired_t_test(a, b)
    with pytest.raises(ValueError, match="horizon"):
        diebold_mariano(a, a * 2, horizon=0)
