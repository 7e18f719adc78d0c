"""Live tests from logged predictions: the sequential verdict and automatic rollback."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl import tracking
from trademl.config import load_spec
from trademl.config.tracking import TrackingSpec
from trademl.lifecycle.journal import Journal
from trademl.lifecycle.online import check_rollback, online_test, paired_live
from trademl.lifecycle.scheduler import tick
from trademl.monitoring import open_store
from trademl.tracking import registry

BACKTEST = load_spec({}).backtest


def _log(store, model, version, close, signal):
    frame = pd.DataFrame(
        {"prediction": signal.astype(float), "signal": signal.astype(float),
         "proba": (signal > 0).astype(float), "close": close, "symbol": "BTCUSDT"},
        index=close.index,
    )  # fmt: skip
    store.log_predictions(frame, model=model, version=version)


@pytest.fixture
def market(btc_1h_path):
    from trademl.data.io import load_ohlcv

    candles = load_ohlcv(btc_1h_path).iloc[-3000:]
    close = candles["close"].astype(float)
    future = np.sign(close.shift(-2) / close.shift(-1) - 1).fillna(0).to_numpy()
    return close, future


def test_a_clairvoyant_challenger_wins_early_and_an_equal_one_never(tmp_path, market):
    close, future = market
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    _log(store, "m", "1", close, np.ones(len(close)))  # buy and hold
    _log(store, "m", "2", close, future)  # knows the next bar: must win quickly
    _log(store, "m", "3", close, np.ones(len(close)))  # the champion's twin
    win = online_test(store, "m", "1", "2", BACKTEST, min_samples=240)
    assert win.decision == "challenger" and win.n < len(close) and win.p_value <= 0.05
    tie = online_test(store, "m", "1", "3", BACKTEST, min_samples=240, max_samples=2400)
    assert tie.decision == "no difference"
    assert len(paired_live(store, "m", "1", "2", BACKTEST)) == len(close)
    store.close()


def test_rollback_restores_the_predecessor_when_the_champion_trails(
    tmp_path, market, two_versions, monkeypatch
):
    folder, spec, name = two_versions
    tracking.configure(
        TrackingSpec(uri=spec["tracking"]["uri"], artifact_root=spec["tracking"]["artifact_root"])
    )
    close, future = market
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    tracking.promote(name, 2, reason="test: v2 replaces v1")
    assert registry.champion_version(name) == 2
    _log(store, name, "2", close, -future)  # the new champion is always wrong
    _log(store, name, "1", close, np.ones(len(close)))
    early = check_rollback(store, name, BACKTEST, min_samples=5000, since=close.index[0])
    assert not early.rolled_back and "of 5000 shared live bars" in early.reason
    # the scheduler's tick applies the spec's rollback rule, records it and notifies
    spec_obj = load_spec({**spec, "retraining": {"rollback": {"margin": 0.05, "min_bars": 500}}})
    result = tick(spec_obj, store, rollback_since=close.index[0])
    decision = result.rollback
    assert decision.rolled_back and decision.restored == 1 and decision.shortfall > 0.05
    [recorded] = Journal(store).decisions(name).query("trigger == 'rollback'").itertuples()
    assert recorded.fired and "trails its predecessor v1" in recorded.reason
    assert registry.champion_version(name) == 1
    assert registry.champion_history(name)[-1]["event"] == "rollback"
    store.close()
