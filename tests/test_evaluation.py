"""score_predictions: every reported figure of a predictions frame, on real BTC/ETH rows."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, log_loss, roc_auc_score

from trademl.backtest import backtest_predictions
from trademl.config.backtest import BacktestSpec
from trademl.evaluation import Scores, score_predictions
from trademl.validation.metrics import metric_names, sharpe

HORIZON = 4
PPY = 8760.0


def _oos(close: pd.Series, symbol: str, seed: int = 0) -> pd.DataFrame:
    """The oos.parquet contract from a causal momentum score on real closes."""
    rng = np.random.default_rng(seed)
    forward = close.shift(-HORIZON) / close - 1
    momentum = close.pct_change(24)
    keep = forward.notna() & momentum.notna()
    close, forward, momentum = close[keep], forward[keep], momentum[keep]
    proba = np.clip(1 / (1 + np.exp(-momentum * 30)) + rng.normal(0, 0.03, len(close)), 0, 1)
    y_pred = np.where(proba > 0.5, 1.0, -1.0)
    return pd.DataFrame(
        {"symbol": pd.array([symbol] * len(close), dtype="string"), "close": close,
         "y_true": np.where(forward > 0, 1.0, -1.0), "y_pred": y_pred, "proba": proba,
         "signal": y_pred.astype(np.int8), "forward_return": forward},
        index=close.index.rename("timestamp"),
    )  # fmt: skip


@pytest.fixture(scope="module")
def btc(btc_1h_path) -> pd.Series:
    bars = pd.read_csv(btc_1h_path, parse_dates=["timestamp"], index_col="timestamp")
    return bars["close"].loc["2023-01":"2023-03"]


@pytest.fixture(scope="module")
def pair(btc, shared_data) -> pd.DataFrame:
    eth = pd.read_csv(
        shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz",
        parse_dates=["timestamp"], index_col="timestamp",
    )["close"].loc["2022-01":"2022-03"]  # fmt: skip
    btc22 = pd.read_csv(
        shared_data / "BTCUSDT_1h_2017-2026.csv.gz", parse_dates=["timestamp"],
        index_col="timestamp",
    )["close"].loc["2022-01":"2022-03"]  # fmt: skip
    frame = pd.concat([_oos(btc22, "BTCUSDT"), _oos(eth, "ETHUSDT", seed=1)]).reset_index()
    return frame.sort_values(["timestamp", "symbol"], kind="stable").set_index("timestamp")


def test_every_figure_of_a_classifier(btc):
    oos = _oos(btc, "BTCUSDT")
    spec = BacktestSpec(fee_bp=10, slippage_bp=2)
    scores = score_predictions(oos, task="classification", backtest=spec, periods_per_year=PPY)
    assert isinstance(scores, Scores)
    m = scores.metrics
    assert set(m) == set(metric_names("classification"))  # nothing undefined here
    up = oos["y_true"] > 0
    assert m["accuracy"] == pytest.approx(accuracy_score(oos["y_true"], oos["y_pred"]))
    assert m["balanced_accuracy"] == pytest.approx(
        balanced_accuracy_score(oos["y_true"], oos["y_pred"])
    )
    assert m["roc_auc"] == pytest.approx(roc_auc_score(up, oos["proba"]))
    assert m["log_loss"] == pytest.approx(log_loss(up, oos["proba"]))
    # the strategy figures are the full engine's, on the same rows with the same settings
    full = backtest_predictions(oos, spec)
    np.testing.assert_allclose(scores.returns, full.returns, atol=1e-12, rtol=0)
    assert m["sharpe"] == pytest.approx(sharpe(full.returns, PPY), rel=1e-12)
    summary = full.summary(periods_per_year=PPY)
    for name in ("sortino", "max_drawdown", "total_return", "volatility", "calmar"):
        assert m[name] == pytest.approx(summary[name], rel=1e-12), name
    assert m["annual_return"] == pytest.approx(summary["cagr"], rel=1e-12)
    assert m["turnover"] == pytest.approx(float(full.turnover.mean()), rel=1e-12)
    assert m["n_trades"] == float((full.turnover > 0).sum())
    assert m["time_in_market"] == pytest.approx(float((full.positions != 0).mean()))
    assert m["max_drawdown"] <= 0 and m["total_return"] > -1
    assert m["excess_sharpe"] == pytest.approx(m["sharpe"] - m["buy_hold_sharpe"], abs=1e-12)


def test_always_long_is_buy_and_hold(btc):
    """A model that is always long IS the buy-and-hold: one entry, in the market from the
    fill on, the same fees, so the excess Sharpe is zero."""
    oos = _oos(btc, "BTCUSDT").assign(signal=1, y_pred=1.0, proba=0.9)
    scores = score_predictions(
        oos, task="classification", backtest=BacktestSpec(fee_bp=25), periods_per_year=PPY
    )
    m = scores.metrics
    assert m["n_trades"] == 1
    assert m["time_in_market"] == pytest.approx((len(oos) - 1) / len(oos))  # filled next bar
    assert m["excess_sharpe"] == pytest.approx(0.0, abs=1e-12)
    assert m["buy_hold_sharpe"] == pytest.approx(m["sharpe"], abs=1e-12)
    asset = oos["close"].pct_change().to_numpy()[2:]
    np.testing.assert_allclose(scores.returns.to_numpy()[2:], asset, atol=1e-15)
    assert scores.returns.iloc[1] == pytest.approx(1 / (1 + 25e-4) - 1)  # the one fee


def test_two_symbols_and_a_regressor(pair):
    spec = BacktestSpec(weights={"BTCUSDT": 2, "ETHUSDT": 1}, execution_lag=2)
    scores = score_predictions(pair, task="classification", backtest=spec, periods_per_year=PPY)
    full = backtest_predictions(pair, spec)
    np.testing.assert_allclose(scores.returns, full.returns, atol=1e-12, rtol=0)
    regression = pair.assign(y_true=pair["forward_return"], y_pred=pair["proba"] - 0.5)
    regression["proba"] = np.nan
    scored = score_predictions(
        regression, task="regression", backtest=spec, periods_per_year=PPY
    ).metrics
    assert {"rmse", "mae", "r2", "ic", "hit_rate", "sharpe"} <= set(scored)
    assert "accuracy" not in scored and "roc_auc" not in scored
    with pytest.raises(ValueError, match="task must be"):
        score_predictions(pair, task="ranking", backtest=spec, periods_per_year=PPY)


def test_undefined_metrics_are_left_out_with_a_warning(btc, caplog):
    oos = _oos(btc, "BTCUSDT").iloc[:300].assign(y_true=1.0, signal=0, proba=0.5)
    with caplog.at_level(logging.WARNING, logger="trademl.evaluation"):
        m = score_predictions(
            oos, task="classification", backtest=BacktestSpec(), periods_per_year=PPY
        ).metrics
    # one class in y_true: no AUC; constant score: no IC; never in the market: no hit rate
    for name in ("roc_auc", "ic", "hit_rate"):
        assert name not in m
        assert any(name in r.message for r in caplog.records), name
    assert all(np.isfinite(v) for v in m.values())
    assert m["sharpe"] == 0.0 and m["n_trades"] == 0 and m["time_in_market"] == 0.0


def test_the_contract_is_checked(btc):
    oos = _oos(btc, "BTCUSDT")
    spec = BacktestSpec()
    with pytest.raises(Exception, match=r"missing column\(s\) \['close'\]"):
        score_predictions(oos.drop(columns="close"), task="classification", backtest=spec,
                          periods_per_year=PPY)  # fmt: skip
    bad = oos.copy()
    bad.iloc[3, bad.columns.get_loc("y_true")] = np.nan
    with pytest.raises(Exception, match="'y_true' has 1 missing"):
        score_predictions(bad, task="classification", backtest=spec, periods_per_year=PPY)
    with pytest.raises(ValueError, match="periods_per_year"):
        score_predictions(oos, task="classification", backtest=spec, periods_per_year=0)
