"""The paired tests hold their level under no difference and find a real one."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.multitest import multipletests

from trademl.errors import DataError
from trademl.lifecycle.stats import (
    MixtureSPRT,
    benjamini_hochberg,
    block_bootstrap_ci,
    diebold_mariano,
    effect_size,
    false_promotion_rate,
    holm,
)


def _ar1(rng, n, phi=0.3, mean=0.0):
    shocks = rng.standard_t(5, size=n)
    out = np.empty(n)
    previous = 0.0
    for i, shock in enumerate(shocks):
        previous = phi * previous + shock
        out[i] = previous
    return out + mean


def test_diebold_mariano_holds_its_level_on_autocorrelated_differences():
    rng = np.random.default_rng(3)
    p = np.array([diebold_mariano(_ar1(rng, 400)).p_value for _ in range(400)])
    assert 0.02 <= (p < 0.05).mean() <= 0.09  # a plain t-test rejects ~10% here


def test_diebold_mariano_finds_a_real_difference():
    rng = np.random.default_rng(4)
    result = diebold_mariano(_ar1(rng, 2000, mean=0.3))
    assert result.p_value < 1e-3 and result.statistic > 0 and result.mean > 0


def test_identical_models_give_no_difference():
    result = diebold_mariano(np.zeros(300))
    assert result.statistic == 0.0 and result.p_value == 1.0


def test_bootstrap_interval_covers_the_mean_and_excludes_zero_for_a_real_gap():
    rng = np.random.default_rng(5)
    d = _ar1(rng, 1500, mean=0.4)
    ci = block_bootstrap_ci(d, seed=1)
    assert ci.low < d.mean() < ci.high and ci.low > 0 and ci.block_length >= 1
    assert block_bootstrap_ci(d, seed=1) == ci  # seeded
    null = block_bootstrap_ci(_ar1(rng, 1500), seed=2)
    assert null.low < 0 < null.high or null.p_value >= 0.01


def test_multiple_testing_adjustments_match_statsmodels():
    p = np.array([0.001, 0.04, 0.03, 0.2, 0.011])
    assert np.allclose(holm(p), multipletests(p, method="holm")[1])
    assert np.allclose(benjamini_hochberg(p), multipletests(p, method="fdr_bh")[1])


def test_effect_size_is_mean_over_sd():
    d = np.array([1.0, 2.0, 3.0, 4.0])
    assert effect_size(d) == pytest.approx(2.5 / d.std(ddof=1))


def test_sequential_test_false_promotion_rate_is_below_alpha():
    rate = false_promotion_rate(alpha=0.05, n_simulations=300, max_samples=3000, seed=7)
    assert rate <= 0.05


def test_sequential_test_stops_early_on_a_clear_winner_and_waits_for_min_samples():
    rng = np.random.default_rng(8)
    test = MixtureSPRT(alpha=0.05, batch_size=24, min_samples=480, max_samples=20_000)
    decision = None
    for _ in range(0, 20_000, 24):
        decision = test.update(_ar1(rng, 24, mean=0.5))
        if decision.decision != "continue":
            break
    assert decision.decision == "challenger"
    assert 480 <= decision.n < 20_000 and decision.p_value <= 0.05


def test_bad_inputs_are_named():
    with pytest.raises(DataError, match="not finite"):
        diebold_mariano([0.1, np.nan] * 10)
    with pytest.raises(DataError, match="at least 10"):
        diebold_mariano([0.1, 0.2])
    with pytest.raises(DataError, match="min_samples"):
        MixtureSPRT(batch_size=100, min_samples=100)
    with pytest.raises(DataError, match="alpha"):
        MixtureSPRT(alpha=1.5)
