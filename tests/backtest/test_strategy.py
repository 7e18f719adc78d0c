"""The engine's cheap path returns exactly (1e-12) what run_backtest returns, on real data."""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from trademl.backtest import (
    StrategyRun,
    backtest_predictions,
    run_backtest,
    run_strategy,
    strategy_returns,
)
from trademl.config.backtest import BacktestSpec
from trademl.errors import DataError


def _rows(candles: dict[str, pd.DataFrame], seed: int = 0) -> pd.DataFrame:
    """Long rows (timestamp, symbol), sorted by timestamp then symbol, with noisy P(up)."""
    rng = np.random.default_rng(seed)
    parts = []
    for symbol, frame in candles.items():
        close = frame["close"]
        momentum = close.pct_change(12).fillna(0).to_numpy()
        proba = np.clip(1 / (1 + np.exp(-momentum * 40)) + rng.normal(0, 0.05, len(close)), 0, 1)
        parts.append(
            pd.DataFrame(
                {"symbol": symbol, "close": close.to_numpy(), "high": frame["high"].to_numpy(),
                 "low": frame["low"].to_numpy(), "proba": proba,
                 "signal": np.where(proba > 0.55, 1, np.where(proba < 0.45, -1, 0))},
                index=close.index.rename("timestamp"),
            )
        )  # fmt: skip
    frame = pd.concat(parts).reset_index()
    return frame.sort_values(["timestamp", "symbol"], kind="stable").set_index("timestamp")


@pytest.fixture(scope="module")
def pair(btc, eth) -> pd.DataFrame:
    # different spans: ETH starts later and ends earlier, so sleeves have their own bars
    return _rows({"BTCUSDT": btc.loc["2022-01":"2022-04"], "ETHUSDT": eth.loc["2022-02":"2022-05"]})


def _cheap(frame: pd.DataFrame, spec: BacktestSpec, **extra) -> StrategyRun:
    return run_strategy(
        frame["close"], frame["signal"].to_numpy(), proba=frame["proba"].to_numpy(),
        symbols=frame["symbol"].to_numpy(), backtest=spec, **extra,
    )  # fmt: skip


# every sizing x lag x weighting, with shorting, threshold and leverage cap varied across
# them (the full product takes ten times longer and finds nothing more)
SETTINGS = [
    dict(sizing=sizing, execution_lag=lag, weights=weights, allow_short=i % 2 == 0,
         threshold=(0.0, 0.04)[i // 2 % 2], max_leverage=(1.0, 0.5)[i // 4 % 2],
         fee_bp=7.0, slippage_bp=3.0, fraction=0.6)
    for i, (sizing, lag, weights) in enumerate(
        itertools.product(["sign", "fixed", "probability", "kelly"], [0, 1, 3],
                          [None, {"BTCUSDT": 3.0, "ETHUSDT": 1.0}])
    )
]  # fmt: skip


def test_equals_backtest_predictions_for_every_setting(pair):
    """Sizing x lag x shorting x threshold x leverage x weights, one and two symbols."""
    btc_only = pair[pair["symbol"] == "BTCUSDT"]
    for settings in SETTINGS:
        spec = BacktestSpec(**settings)
        for frame in (pair, btc_only):
            full = backtest_predictions(frame, spec)
            cheap = _cheap(frame, spec)
            assert cheap.returns.index.equals(full.returns.index)
            np.testing.assert_allclose(cheap.returns, full.returns, rtol=0, atol=1e-12)
            np.testing.assert_allclose(cheap.turnover, full.turnover, rtol=0, atol=1e-12)
            # the same executed positions: exposure and fills come from them
            positions = full.positions if isinstance(full.positions, pd.DataFrame) else None
            if positions is not None:
                held = (positions != 0).astype(float)
                share = pd.Series(spec.weights or {"BTCUSDT": 1.0, "ETHUSDT": 1.0})
                share = share / share.sum()
                np.testing.assert_allclose(cheap.exposure, (held * share).sum(axis=1), atol=1e-12)
            changes = (full.turnover > 0).sum() if positions is None else None
            if changes is not None:
                assert cheap.fills.sum() == changes


def test_equals_run_backtest_with_range_slippage(btc):
    bars = btc.loc["2022-03"]
    frame = _rows({"BTCUSDT": bars})
    spec = BacktestSpec(fee_bp=5, slippage_bp=1, slippage_range_fraction=0.3, execution_lag=2)
    full = run_backtest(
        bars["close"], frame["signal"].set_axis(bars.index), high=bars["high"], low=bars["low"],
        fee_bp=5, slippage_bp=1, slippage_range_fraction=0.3, execution_lag=2, kind="signal",
    )  # fmt: skip
    cheap = _cheap(frame, spec, high=frame["high"].to_numpy(), low=frame["low"].to_numpy())
    np.testing.assert_allclose(cheap.returns, full.returns, rtol=0, atol=1e-12)
    with pytest.raises(DataError, match="needs high and low"):
        _cheap(frame, spec)


def test_buy_and_hold_is_one_entry_fee(btc):
    bars = btc.loc["2022-06"]
    close = bars["close"]
    spec = BacktestSpec(fee_bp=10, execution_lag=1)
    run = run_strategy(close, np.ones(len(close)), backtest=spec)
    asset = close.pct_change().fillna(0).to_numpy()
    expected = asset.copy()
    expected[0] = 0.0  # flat on the signal's bar
    expected[1] = 1 / (1 + 1e-3) - 1  # bought at bar 1's close: the only fee
    np.testing.assert_allclose(run.returns, expected, atol=1e-15)
    assert run.fills.sum() == 1 and run.exposure.iloc[0] == 0 and run.exposure.iloc[1:].eq(1).all()


def test_strategy_returns_and_concat(pair):
    spec = BacktestSpec()
    returns = strategy_returns(
        pair["close"], pair["signal"].to_numpy(), symbols=pair["symbol"].to_numpy(), backtest=spec
    )
    assert returns.index.is_unique and len(returns) == pair.index.nunique()
    halves = StrategyRun.concat([_cheap(pair.iloc[:1000], spec), _cheap(pair.iloc[1000:], spec)])
    assert (
        len(halves.returns) == pair.iloc[:1000].index.nunique() + pair.iloc[1000:].index.nunique()
    )


def test_bad_rows_are_named(pair):
    spec = BacktestSpec()
    with pytest.raises(DataError, match="sorted by timestamp"):
        _cheap(pair.iloc[::-1], spec)
    doubled = pd.concat([pair.iloc[:3], pair.iloc[:1]]).sort_index(kind="stable")
    with pytest.raises(DataError, match="duplicate row for symbol BTCUSDT"):
        _cheap(doubled, spec)
    with pytest.raises(DataError, match="unknown symbol"):
        _cheap(pair, BacktestSpec(weights={"SOLUSDT": 1.0}))
    with pytest.raises(DataError, match="needs probabilities"):
        run_strategy(pair["close"], pair["signal"], backtest=BacktestSpec(sizing="kelly"))
    bad = pair.copy()
    bad.iloc[4, bad.columns.get_loc("close")] = -1.0
    with pytest.raises(DataError, match="positive and finite.*row 4"):
        _cheap(bad, spec)
