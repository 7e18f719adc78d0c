"""The tuning objective scores folds through the backtest engine; cv_sharpe pools them."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import optuna
import pandas as pd
import pytest

from trademl.backtest import backtest_predictions, run_backtest
from trademl.config import load_spec
from trademl.config.backtest import BacktestSpec
from trademl.errors import SpecError
from trademl.tuning import CrossValidatedObjective, evaluate_predictions, fit_predict
from trademl.validation.metrics import sharpe

HORIZON = 4  # bars, as in conftest.py
PARAMS = {"num_leaves": 15}


def _model():
    spec = load_spec(
        {"model": {"kind": "lightgbm", "params": {"n_estimators": 15}, "early_stopping_rounds": 5}}
    )
    return spec.model


def _objective(data, metrics, task="classification"):
    space = load_spec(
        {"model": {"kind": "lightgbm",
                   "search_space": {"num_leaves": {"type": "categorical", "choices": [15]}}}}
    ).model.resolved_search_space()  # fmt: skip
    return CrossValidatedObjective(
        _model(), data, task=task, metrics=metrics, space=space, purge=HORIZON, seed=0
    )


def _fold(data, step):
    train, test = data.folds[step]
    pred, _ = fit_predict(_model(), "classification", PARAMS, data, train, test,
                          purge=HORIZON, seed=0)  # fmt: skip
    return test, pred


def test_fold_returns_are_the_engine_on_the_fold_rows(cv_data):
    test, pred = _fold(cv_data, 1)
    _, run = evaluate_predictions(pred, cv_data, test)
    index = cv_data.X.index[test]
    full = run_backtest(
        pd.Series(cv_data.close[test], index=index), pd.Series(pred.signal, index=index),
        kind="signal", fee_bp=10.0, execution_lag=1,
    )  # fmt: skip
    np.testing.assert_allclose(run.returns, full.returns, atol=1e-12, rtol=0)
    # other settings: the spec's lag, fees, slippage and Kelly sizing from P(up)
    spec = BacktestSpec(execution_lag=2, fee_bp=5, slippage_bp=3, sizing="kelly", threshold=0.02)
    data = replace(cv_data, backtest=spec)
    test, pred = _fold(data, 0)
    _, run = evaluate_predictions(pred, data, test)
    oos = pd.DataFrame(
        {"symbol": "BTCUSDT", "close": data.close[test], "signal": pred.signal,
         "proba": pred.p_up},
        index=data.X.index[test].rename("timestamp"),
    )  # fmt: skip
    np.testing.assert_allclose(
        run.returns, backtest_predictions(oos, spec).returns, atol=1e-12, rtol=0
    )
    # the signal follows backtest.threshold: flat while P(up) is within 0.5 +- 0.02
    near = np.abs(pred.p_up - 0.5) <= 0.02
    assert (pred.signal[near] == 0).all() and (pred.signal[~near] != 0).all()


def test_a_fold_with_a_gap_is_backtested_block_by_block(cv_data):
    """CPCV test folds are several blocks: each starts flat, nothing carries over the gap."""
    train = np.arange(0, 600)
    test = np.concatenate([np.arange(800, 1000), np.arange(1300, 1500)])
    pred, _ = fit_predict(_model(), "classification", PARAMS, cv_data, train, test,
                          purge=HORIZON, seed=0)  # fmt: skip
    _, run = evaluate_predictions(pred, cv_data, test)
    parts = []
    for block in (slice(0, 200), slice(200, 400)):
        rows, index = test[block], cv_data.X.index[test[block]]
        parts.append(
            run_backtest(
                pd.Series(cv_data.close[rows], index=index),
                pd.Series(pred.signal[block], index=index), kind="signal",
            ).returns
        )  # fmt: skip
    np.testing.assert_allclose(run.returns, pd.concat(parts), atol=1e-12, rtol=0)


def test_cv_sharpe_pools_the_folds_per_bar(cv_data):
    objective = _objective(cv_data, ["sharpe"])
    trial = optuna.trial.FixedTrial(PARAMS)
    value = objective(trial)
    folds = []
    for step in range(len(cv_data.folds)):
        test, pred = _fold(cv_data, step)
        folds.append(evaluate_predictions(pred, cv_data, test)[1].returns.to_numpy())
    pooled = np.concatenate(folds)
    assert value == pytest.approx(sharpe(pooled, 8760), rel=1e-12)
    attrs = trial.user_attrs
    assert attrs["cv_sharpe"] == value and attrs["n_obs"] == len(pooled)
    # the deflated Sharpe's per-bar Sharpe is the same quantity, un-annualised
    assert attrs["sharpe_per_bar"] == pytest.approx(value / np.sqrt(8760), rel=1e-12)
    per_fold = [sharpe(r, 8760) for r in folds]
    assert attrs["fold_sharpe"] == pytest.approx(per_fold, rel=1e-12)
    assert value != pytest.approx(np.mean(per_fold), rel=1e-6)  # pooled, not a mean
    # every figure of the holdout has its cv_ twin, buy-and-hold included
    for name in ("cv_accuracy", "cv_roc_auc", "cv_ic", "cv_turnover", "cv_n_trades",
                 "cv_time_in_market", "cv_buy_hold_sharpe", "cv_excess_sharpe"):  # fmt: skip
        assert name in attrs, name
    assert attrs["cv_excess_sharpe"] == pytest.approx(value - attrs["cv_buy_hold_sharpe"])


def test_model_metrics_are_the_mean_over_folds(cv_data):
    objective = _objective(cv_data, ["auc", "turnover"])  # an alias is fine here too
    trial = optuna.trial.FixedTrial(PARAMS)
    auc, turnover = objective(trial)
    assert auc == pytest.approx(np.mean(trial.user_attrs["fold_roc_auc"]))
    assert turnover == trial.user_attrs["cv_turnover"]


def test_metrics_the_task_does_not_score_are_refused(cv_data):
    with pytest.raises(SpecError, match="'rmse' is not scored for a classification model"):
        _objective(cv_data, ["rmse"])(optuna.trial.FixedTrial(PARAMS))
    regression = replace(cv_data, y=cv_data.forward_return, backtest=BacktestSpec(sizing="kelly"))
    with pytest.raises(SpecError, match="needs probabilities"):
        _objective(regression, ["sharpe"], task="regression")(optuna.trial.FixedTrial(PARAMS))


def test_the_spec_takes_registry_names_and_aliases():
    tuning = load_spec({"tuning": {"metric": "AUC", "objectives": ["sharpe_ratio", "turnover"]}})
    assert tuning.tuning.metric == "roc_auc"
    assert tuning.tuning.objectives == ["sharpe", "turnover"]
    assert tuning.tuning.directions == ["maximize", "minimize"]
    assert load_spec({"tuning": {"metric": "log_loss"}}).tuning.directions == ["minimize"]
    with pytest.raises(SpecError, match="unknown metric 'profit'; known: accuracy.*sharpe"):
        load_spec({"tuning": {"metric": "profit"}})
    with pytest.raises(SpecError, match="objectives must be distinct"):
        load_spec({"tuning": {"objectives": ["auc", "roc_auc"]}})
