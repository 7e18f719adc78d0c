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
