"""Probabilities are float64 rows summing to one, so scikit-learn's log loss never warns."""

from __future__ import annotations

import warnings

import numpy as np
import xgboost as xgb

from trademl.models.base import normalised_proba
from trademl.validation import metrics


def test_xgboost_float32_probabilities_become_normalised_float64():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(1500, 5)).astype("float32")
    y = rng.integers(0, 3, 1500)
    raw = xgb.XGBClassifier(n_estimators=15, verbosity=0).fit(X, y).predict_proba(X)
    assert raw.dtype == np.float32
    fixed = normalised_proba(raw)
    assert fixed.dtype == np.float64
    np.testing.assert_allclose(fixed.sum(axis=1), 1.0, rtol=0, atol=1e-15)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "y_prob values do not sum to one" would raise
        metrics.log_loss(y, raw.astype(np.float64))
        metrics.log_loss(y, fixed)


def test_trademl_models_predict_normalised_probabilities(xy):
    from trademl.models.factory import build_model

    X, y, _ = xy
    model = build_model({"kind": "xgboost"}, "classification", params={"n_estimators": 10})
    proba = model.fit(X, y).predict_proba(X)
    assert proba.dtype == np.float64
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, rtol=0, atol=1e-15)
