"""The explainers on real trademl models fitted to real BTC/USDT features: native TreeSHAP
equals shap's own TreeSHAP, contributions add up to what the model predicts, LIME is
reproducible, the surrogate's fidelity means something, and bad input is named."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.datasets import load_sample
from trademl.explain import (
    ExplainError,
    ExplanationCache,
    ShapValues,
    fit_surrogate,
    impact_over_time,
    interaction_values,
    lime_explanation,
    permutation_shap,
    resolve_target,
    shap_values,
    tree_shap,
    tree_shap_reference,
)
from trademl.features import generate_features
from trademl.models.lightgbm import LightGBMModel
from trademl.models.logistic import LogisticModel
from trademl.models.random_forest import RandomForestModel
from trademl.models.ridge import RidgeModel
from trademl.models.xgboost import XGBoostModel


@pytest.fixture(scope="module")
def data():
    """Momentum features of 3,000 real BTC hours; up/down and 3-class labels 4 bars ahead."""
    candles = load_sample("BTCUSDT-1h").iloc[-3200:]
    X = generate_features(candles, {"categories": ["momentum"]}).iloc[:, :12]
    forward = candles["close"].shift(-4) / candles["close"] - 1
    keep = X.notna().all(axis=1) & forward.notna()
    X, forward = X.loc[keep], forward.loc[keep]
    binary = np.where(forward > 0, 1, -1)
    three = np.digitize(forward, np.quantile(forward, [1 / 3, 2 / 3])) - 1
    return X, binary, three, forward.to_numpy()


@pytest.mark.parametrize("kind", [LightGBMModel, XGBoostModel])
@pytest.mark.parametrize("labels", ["binary", "three", "regression"])
def test_native_tree_shap_equals_shap_and_adds_up(data, kind, labels):
    X, binary, three, forward = data
    task = "regression" if labels == "regression" else "classification"
    y = {"binary": binary, "three": three, "regression": forward}[labels]
    model = kind(task=task, n_estimators=60, early_stopping_rounds=5).fit(X, y)
    target = resolve_target(model, task)
    rows = X.iloc[-300:]
    native = tree_shap(target, rows)
    reference = tree_shap_reference(target, rows)
    assert native.method.endswith(("pred_contrib", "pred_contribs"))
    assert reference.method == "shap.TreeExplainer(internal)"
    # XGBoost keeps float32 thresholds and leaves: agreement to float32 rounding
    tolerance = 1e-9 if kind is LightGBMModel else 2e-5
    np.testing.assert_allclose(native.values, reference.values, atol=tolerance)
    if kind is LightGBMModel:
        np.testing.assert_allclose(native.base_values, reference.base_values, atol=tolerance)
    # (shap's own XGBoost base value is a cover-weighted mean of leaves, ~1e-4 off the
    # booster's; the native one is the one that adds up to the margin, checked below)
    assert native.values.abs().to_numpy().max() > 1e-4  # the model did learn something
    if task == "regression":
        np.testing.assert_allclose(native.outputs(), model.predict(rows), atol=1e-5)
    elif labels == "binary":
        p_up = model.predict_proba(rows)[:, target.up_index]
        np.testing.assert_allclose(1 / (1 + np.exp(-native.outputs())), p_up, atol=1e-5)
    else:  # the up class's own raw margin, which the softmax turns into P(up)
        if kind is LightGBMModel:
            margin = model.estimator_.predict(rows, raw_score=True)
        else:
            margin = model.estimator_.predict(rows, output_margin=True)
        np.testing.assert_allclose(native.outputs(), margin[:, target.up_index], atol=1e-5)


def test_interactions_decompose_the_shap_values(data):
    X, binary, _, _ = data
    for kind in (LightGBMModel, XGBoostModel):
        model = kind(n_estimators=40).fit(X, binary)
        target = resolve_target(model, "classification")
        rows = X.iloc[-80:]
        inter = interaction_values(target, rows)
        assert inter.values.shape == (80, X.shape[1], X.shape[1])
        # each row's interaction matrix sums, per feature, to that feature's SHAP value
        np.testing.assert_allclose(
            inter.values.sum(axis=2), tree_shap(target, rows).values, atol=2e-5
        )
        pairs = inter.top_pairs(3)
        assert len(pairs) == 3 and (pairs["feature_a"] != pairs["feature_b"]).all()
        assert pairs["mean_abs_interaction"].is_monotonic_decreasing


def test_permutation_shap_for_any_model_adds_up_to_its_probability(data):
    X, binary, _, forward = data
    background = X.iloc[:400:4]
    rows = X.iloc[-5:]
    logistic = LogisticModel().fit(X.iloc[:2000], binary[:2000])
    target = resolve_target(logistic, "classification")
    assert target.family == "none"
    values = shap_values(target, rows, background=background)  # auto -> permutation
    assert values.method == "shap.PermutationExplainer" and values.output == "probability"
    p_up = logistic.predict_proba(rows)[:, target.up_index]
    np.testing.assert_allclose(values.outputs(), p_up, atol=1e-9)
    ridge = RidgeModel(task="regression").fit(X.iloc[:2000], forward[:2000])
    ridge_values = permutation_shap(resolve_target(ridge, "regression"), rows, background)
    np.testing.assert_allclose(ridge_values.outputs(), ridge.predict(rows), atol=1e-9)
    with pytest.raises(ExplainError, match="TreeSHAP needs a tree model"):
        shap_values(target, rows, method="tree")
    with pytest.raises(ExplainError, match="background sample: 5 row"):
        shap_values(target, rows, background=X.iloc[:5])
    with pytest.raises(ExplainError, match="no predict"):
        resolve_target(object(), "classification")


def test_lime_is_seeded_and_reproducible(data):
    X, binary, _, _ = data
    model = RandomForestModel(n_estimators=30).fit(X.iloc[:2500], binary[:2500])
    target = resolve_target(model, "classification")
    row, background = X.iloc[[-1]], X.iloc[:2500:10]
    first = lime_explanation(target, row, background, seed=3, num_samples=800)
    again = lime_explanation(target, row, background, seed=3, num_samples=800)
    other = lime_explanation(target, row, background, seed=4, num_samples=800)
    pd.testing.assert_frame_equal(first.weights, again.weights)
    assert not first.weights["weight"].equals(other.weights["weight"])
    assert len(first.weights) == 10 and set(first.weights["feature"]) <= set(X.columns)
    assert first.model_prediction == pytest.approx(model.predict_proba(row)[0, 1])
    with pytest.raises(ExplainError, match="background sample"):
        lime_explanation(target, row, background.iloc[:3])


def test_surrogate_fidelity_is_measured_on_held_out_rows(data):
    X, binary, _, forward = data
    fit, hold = X.iloc[:2000], X.iloc[2000:]
    # a depth-2 tree is exactly representable by a depth-2 surrogate: fidelity 1
    from trademl.models.lightgbm import LightGBMModel as L

    stump = L(n_estimators=1, num_leaves=3, max_depth=2, min_child_samples=20).fit(
        fit, binary[:2000]
    )
    exact = fit_surrogate(resolve_target(stump, "classification"), fit, hold, max_depth=2)
    assert exact.fidelity == 1.0 and exact.fidelity_metric == "agreement"
    forest = RandomForestModel(n_estimators=40).fit(fit, binary[:2000])
    rough = fit_surrogate(resolve_target(forest, "classification"), fit, hold, max_depth=3)
    assert 0.5 < rough.fidelity < 1.0 and rough.majority_agreement is not None
    assert "|---" in rough.rules and rough.importance.index[0] in X.columns
    ridge = RidgeModel(task="regression").fit(fit, forward[:2000])
    r2 = fit_surrogate(resolve_target(ridge, "regression"), fit, hold, max_depth=4)
    assert r2.fidelity_metric == "r2" and r2.fidelity < 1.0
    with pytest.raises(ExplainError, match="max_depth"):
        fit_surrogate(resolve_target(ridge, "regression"), fit, hold, max_depth=0)


def test_impact_over_time_flags_a_feature_whose_share_moves():
    index = pd.date_range("2025-01-01", periods=24 * 90, freq="h", tz="UTC")
    rng = np.random.default_rng(0)
    a = rng.normal(size=len(index))
    b = rng.normal(size=len(index))
    b[index >= "2025-03-01"] *= 4  # b takes over the model's decisions in March
    values = ShapValues(pd.DataFrame({"a": a, "b": b}, index=index), np.zeros(len(index)),
                        "raw", "test")  # fmt: skip
    reference = ShapValues(values.values.iloc[: 24 * 31], np.zeros(24 * 31), "raw", "test")
    impact = impact_over_time(values, reference=reference, threshold=0.1)
    assert impact["period"].nunique() == 3
    flagged = impact.loc[impact["drifted"]]
    assert set(flagged["period"].dt.month) == {3} and set(flagged["feature"]) == {"a", "b"}
    march = impact.loc[impact["period"].dt.month == 3].set_index("feature")
    assert march.loc["b", "share"] == pytest.approx(0.8, abs=0.03)
    # shares sum to one per month; a short month is reported, never flagged
    assert np.allclose(impact.groupby("period")["share"].sum(), 1.0)
    short = impact_over_time(values.__class__(values.values.iloc[-10:], np.zeros(10), "raw", "t"),
                             reference=reference)  # fmt: skip
    assert not short["drifted"].any()
    with pytest.raises(ExplainError, match="threshold"):
        impact_over_time(values, threshold=1.5)


def test_cache_returns_the_same_values_for_the_same_model_and_data(data, tmp_path):
    X, binary, _, _ = data
    model = LightGBMModel(n_estimators=20).fit(X, binary)
    values = tree_shap(resolve_target(model, "classification"), X.iloc[-50:])
    cache = ExplanationCache(tmp_path)
    key = cache.key("m/1", "auto", X.iloc[-50:])
    assert cache.get(key) is None
    cache.put(key, values)
    back = cache.get(key)
    pd.testing.assert_frame_equal(back.values, values.values)
    assert back.method == values.method and back.output == values.output
    assert cache.key("m/2", "auto", X.iloc[-50:]) != key  # another version
    changed = X.iloc[-50:].copy()
    changed.iloc[0, 0] += 1e-9
    assert cache.key("m/1", "auto", changed) != key  # other data
