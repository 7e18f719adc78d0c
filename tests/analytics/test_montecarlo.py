"""Monte Carlo: seeded, vectorised, chunked; checked against arch and against theory."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import trademl.analytics as ta
from trademl.analytics._block_length import stationary_block_length
from trademl.errors import DataError


def test_block_length_matches_arch(btc_returns):
    from arch.bootstrap import optimal_block_length

    for values in (btc_returns.to_numpy(), np.random.default_rng(5).standard_normal(3000)):
        expected = float(optimal_block_length(values)["stationary"].iloc[0])
        assert stationary_block_length(values) == pytest.approx(expected, rel=1e-9)


def test_block_bootstrap_is_seeded_and_sane(btc_returns):
    first = ta.block_bootstrap(btc_returns, n_paths=400, n_steps=2000, seed=7, block_length=20)
    again = ta.block_bootstrap(btc_returns, n_paths=400, n_steps=2000, seed=7, block_length=20)
    other = ta.block_bootstrap(btc_returns, n_paths=400, n_steps=2000, seed=8, block_length=20)
    np.testing.assert_array_equal(first.final_return, again.final_return)
    assert not np.array_equal(first.final_return, other.final_return)
    assert first.final_return.shape == (400,) and first.bands.shape[1] == 5
    assert (first.max_drawdown <= 0).all() and (first.max_drawdown >= -1).all()
    assert 0 <= first.probability_of_ruin <= 1
    bands = first.bands
    assert (bands["p5"] <= bands["p50"]).all() and (bands["p50"] <= bands["p95"]).all()
    # expected log growth of a path is n_steps times the sample's mean log return
    expected = 2000 * np.log1p(btc_returns).mean()
    simulated = np.log1p(first.final_return)
    assert abs(simulated.mean() - expected) < 4 * simulated.std() / np.sqrt(400)


def test_trade_bootstrap(btc_returns):
    winners = pd.Series(np.linspace(0.001, 0.02, 50))
    result = ta.trade_bootstrap(winners, n_paths=300, seed=1)
    assert result.probability_of_ruin == 0.0
    assert (result.final_return > 0).all() and (result.max_drawdown == 0).all()
    mixed = pd.Series([0.05, -0.04, 0.03, -0.06, 0.02, 0.01])
    result = ta.trade_bootstrap(mixed, n_paths=2000, n_trades=100, seed=1, ruin_level=0.8)
    assert 0 < result.probability_of_ruin < 1
    table = result.percentiles()
    assert list(table.index) == ["final_return", "max_drawdown", "sharpe"]
    assert list(table.columns) == ["p5", "p25", "p50", "p75", "p95"]


def test_chunking_bounds_memory_and_keeps_results(btc_returns):
    small = ta.trade_bootstrap(btc_returns.iloc[:500], n_paths=64, seed=3, chunk_size=64)
    chunked = ta.trade_bootstrap(btc_returns.iloc[:500], n_paths=64, seed=3, chunk_size=8)
    # integer draws fill row by row, so chunks consume the generator identically
    np.testing.assert_allclose(small.final_return, chunked.final_return, rtol=1e-12)


def test_monte_carlo_bad_input():
    with pytest.raises(DataError, match="at least 2"):
        ta.block_bootstrap(pd.Series([0.01]), n_paths=10)
    with pytest.raises(ValueError, match="n_paths"):
        ta.block_bootstrap(pd.Series([0.01, 0.02, 0.0]), n_paths=0)
    with pytest.raises(ValueError, match="ruin_level"):
        ta.trade_bootstrap(pd.Series([0.01, -0.02]), ruin_level=1.5)
    flat = ta.block_bootstrap(pd.Series(np.zeros(100)), n_paths=20, seed=0)
    assert np.isnan(flat.sharpe).all() and (flat.final_return == 0).all()
