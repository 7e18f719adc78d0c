"""One-row scoring (serving's per-bar path) gives the batch path's numbers, bit for bit."""

from __future__ import annotations

import pickle

import numpy as np
import pytest

from trademl.models.factory import build_model
from trademl.models.lightgbm import LightGBMModel
from trademl.package.model import POOLED, ModelPackage
from trademl.package.recipe import FeatureRecipe


def _lightgbm(X, y, **params):
    return build_model(
        {"kind": "lightgbm", "params": {"n_estimators": 40, **params}}, "classification"
    ).fit(X, y)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_lightgbm_single_row_equals_batch_predict(xy, dtype):
    X, y, _ = xy
    model = _lightgbm(X, y)
    values = X.to_numpy(dtype=dtype)[:300]
    batch = model.predict_proba_values(values)
    rows = np.array([model.predict_proba_row(row) for row in values])
    np.testing.assert_array_equal(rows, batch)
    assert rows.dtype == np.float64


def test_lightgbm_single_row_multiclass_and_early_stopping(xy):
    X, _, forward = xy
    classes = np.digitize(forward, np.quantile(forward, [1 / 3, 2 / 3]))  # 0, 1, 2
    model = LightGBMModel(n_estimators=300, early_stopping_rounds=5).fit(X, classes)
    assert 0 < model.best_iteration_ < 300  # the fast path must stop at the same tree
    values = X.to_numpy()[:200]
    rows = np.array([model.predict_proba_row(row) for row in values])
    np.testing.assert_array_equal(rows, model.predict_proba_values(values))
    np.testing.assert_array_equal(rows, model.predict_proba(X.iloc[:200]))


def test_lightgbm_single_row_survives_pickling_and_refit(xy):
    X, y, _ = xy
    model = _lightgbm(X, y)
    row = X.to_numpy()[7]
    before = model.predict_proba_row(row)  # builds the native handle
    loaded = pickle.loads(pickle.dumps(model))  # the handle is not pickled, rebuilt on use
    np.testing.assert_array_equal(loaded.predict_proba_row(row), before)
    assert "_single_rows" in model.__dict__  # pickling did not strip the live model
    model.fit(X.iloc[:1000], y[:1000])  # a new booster: a new handle, not the old trees
    np.testing.assert_array_equal(
        model.predict_proba_row(row), model.predict_proba_values(row[None, :])[0]
    )
    with pytest.raises(ValueError, match="expected"):
        model.predict_proba_row(row[:3])


@pytest.mark.parametrize(
    "backtest",
    [{"threshold": 0.0}, {"threshold": 0.05}, {"threshold": 0.0, "allow_short": False}],
)
def test_package_score_row_equals_score_values(xy, backtest):
    X, y, _ = xy
    model = _lightgbm(X, y)
    recipe = FeatureRecipe(feature_spec={}, columns=list(X.columns), symbols=["BTCUSDT"])
    package = ModelPackage(
        recipe=recipe,
        estimators={POOLED: model},
        task="classification",
        label={"kind": "direction", "horizon": 4},
        timeframe="1h",
        backtest={"execution_lag": 1, **backtest},
        name="single-row",
    )
    values = X.to_numpy()[:400]
    y_pred, proba, signal = package.score_values(values, "BTCUSDT")
    rows = [package.score_row(row, "BTCUSDT") for row in values]
    assert [r[0] for r in rows] == y_pred.tolist()
    assert [r[1] for r in rows] == proba.tolist()
    assert [r[2] for r in rows] == signal.tolist()
    assert len(set(signal.tolist())) > 1  # the rows cover more than one decision
    # a one-row batch (a one-row /v1/predict) takes the single-row path: the same arrays
    for i in (0, 17, 399):
        one = package.score_values(values[i : i + 1], "BTCUSDT")
        for got, want in zip(one, (y_pred, proba, signal), strict=True):
            assert got.dtype == want.dtype and got.tolist() == want[i : i + 1].tolist()
