"""Metrics against scikit-learn / scipy, and their refusal of misaligned or NaN input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from sklearn import metrics as skm

from trademl.labels import direction, forward_return
from trademl.validation import metrics


@pytest.fixture(scope="module")
def realised(btc):
    frame = btc.iloc[-3000:]
    ret = forward_return(frame, 1).values.dropna()
    # a real, weak predictor: the previous bar's return (momentum), aligned by index
    pred = np.log(frame["close"]).diff().reindex(ret.index).fillna(0.0)
    return ret, pred


def test_classification_metrics_match_sklearn(btc):
    frame = btc.iloc[-2000:]
    y = direction(frame, 1).values.dropna()
    rng = np.random.default_rng(0)
    proba = pd.Series(np.clip(0.5 + rng.normal(0, 0.1, len(y)), 0.01, 0.99), index=y.index)
    pred = (proba > 0.5).astype(float)
    out = metrics.classification_metrics(y, pred, proba)
    assert out["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert out["balanced_accuracy"] == pytest.approx(skm.balanced_accuracy_score(y, pred))
    assert out["f1"] == pytest.approx(skm.f1_score(y, pred))
    assert out["roc_auc"] == pytest.approx(skm.roc_auc_score(y, proba))
    assert out["log_loss"] == pytest.approx(skm.log_loss(y, proba))
    ternary = pd.Series(rng.integers(-1, 2, 300).astype(float))
    assert metrics.precision(ternary, ternary) == 1.0


def test_regression_metrics_and_information_coefficient(realised):
    ret, pred = realised
    out = metrics.regression_metrics(ret, pred)
    assert out["rmse"] == pytest.approx(np.sqrt(skm.mean_squared_error(ret, pred)))
    assert out["mae"] == pytest.approx(skm.mean_absolute_error(ret, pred))
    assert out["r2"] == pytest.approx(skm.r2_score(ret, pred))
    rho = stats.spearmanr(pred, ret)
    assert out["ic"] == pytest.approx(rho.statistic)
    # scipy's p-value comes from the same t statistic with n-2 degrees of freedom
    t = out["ic_tstat"]
    assert 2 * stats.t(len(ret) - 2).sf(abs(t)) == pytest.approx(rho.pvalue, rel=1e-6)
    hits = np.sign(pred) == np.sign(ret)
    active = (pred != 0) & (ret != 0)
    assert out["hit_rate"] == pytest.approx(hits[active].mean())
    assert metrics.mape(pd.Series([1.0, 2.0]), pd.Series([1.1, 1.8])) == pytest.approx(0.1)


def test_misaligned_nan_and_undefined_inputs_are_refused(realised):
    ret, pred = realised
    with pytest.raises(ValueError, match="misaligned"):
        metrics.rmse(ret, pred.shift(1, freq="h"))
    with pytest.raises(ValueError, match="different lengths"):
        metrics.mae(ret.to_numpy(), pred.to_numpy()[:-1])
    broken = pred.copy()
    broken.iloc[7] = np.nan
    with pytest.raises(ValueError, match=r"prediction has 1 NaN/inf values, first at row 7 \(20"):
        metrics.information_coefficient(broken, ret)
    with pytest.raises(ValueError, match="y_true is 0"):
        metrics.mape(pd.Series([0.0, 1.0]), pd.Series([1.0, 1.0]))
    with pytest.raises(ValueError, match="both classes"):
        metrics.roc_auc(np.ones(5), np.full(5, 0.7))


def test_the_registry_names_directions_and_aliases():
    auc = metrics.get_metric("auc")
    assert auc.name == "roc_auc" and auc.direction == "max" and auc.task == "classification"
    assert metrics.get_metric("LogLoss").name == "log_loss"
    assert metrics.get_metric("log_loss").direction == "min"
    info = metrics.get_metric("sharpe")
    assert info.annualised and info.task == "strategy" and info.function is metrics.sharpe
    assert not metrics.get_metric("total_return").annualised
    assert metrics.get_metric("turnover").unit == "fraction of equity per bar"
    with pytest.raises(ValueError, match="unknown metric 'profit'; known: accuracy"):
        metrics.get_metric("profit")
    classification = metrics.metric_names("classification")
    assert {"accuracy", "roc_auc", "ic", "hit_rate", "sharpe", "n_trades"} <= set(classification)
    assert "rmse" not in classification
    assert set(metrics.metric_names("regression")) >= {"rmse", "mae", "r2", "ic", "sharpe"}
    assert metrics.metric_names("any") == ["ic", "hit_rate"]
    assert set(metrics.metric_names()) == set(metrics.METRICS)
    with pytest.raises(ValueError, match="task must be"):
        metrics.metric_names("ranking")


def test_one_sharpe(realised):
    """The registry's Sharpe and the analytics Sharpe are one computation (per_bar_sharpe);
    the registry reports 0 where the analytics ratio is NaN (constant returns)."""
    import trademl.analytics as ta
    from trademl.analytics.ratios import per_bar_sharpe

    ret, _ = realised
    r = ret.to_numpy()
    by_hand = r.mean() / r.std(ddof=1) * np.sqrt(8760)
    assert metrics.sharpe(r, 8760) == pytest.approx(by_hand, rel=1e-12)
    assert metrics.sharpe(r, 8760) == ta.sharpe_ratio(ret, 8760)
    assert metrics.sharpe(r) == per_bar_sharpe(r)  # periods_per_year=1: per bar
    assert metrics.sharpe(np.zeros(50), 8760) == 0.0 and metrics.sharpe([0.01], 8760) == 0.0
    assert np.isnan(ta.sharpe_ratio(pd.Series(np.zeros(50)), 8760))
