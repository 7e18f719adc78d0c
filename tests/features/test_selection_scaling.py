"""Selection and scaling: scikit-learn transformers, fitted on training rows only."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import TimeSeriesSplit, cross_val_score
from sklearn.pipeline import make_pipeline

from trademl.errors import DataError
from trademl.features import generate_features
from trademl.features.scaling import RollingZScore, make_scaler
from trademl.features.selection import (
    CorrelationFilter,
    FTestSelector,
    L1Selector,
    MutualInfoSelector,
    PermutationSelector,
    compare_selectors,
    stability_score,
)


@pytest.fixture(scope="module")
def xy(btc):
    spec = {"categories": ["momentum", "statistical"], "indicators": None}
    X = generate_features(btc, spec).iloc[300:-1]
    forward = np.log(btc["close"]).diff().shift(-1).loc[X.index]
    y = (forward > 0).astype(int).to_numpy()
    rng = np.random.default_rng(0)
    # a planted feature that knows the answer (with noise), and an exact twin of rsi_14
    X = X.assign(planted=y + rng.normal(0, 0.5, len(y)), rsi_twin=X["rsi_14"] * 2 + 1)
    return X, y


@pytest.mark.parametrize(
    "selector",
    [
        MutualInfoSelector(5),
        FTestSelector(5),
        L1Selector(5),
        PermutationSelector(
            5, n_repeats=2, estimator=RandomForestClassifier(30, max_depth=4, random_state=0)
        ),
    ],
    ids=["mutual_info", "f_test", "l1", "permutation"],
)
def test_selectors_find_the_planted_feature_and_work_in_a_pipeline(selector, xy):
    X, y = xy
    fitted = clone(selector).fit(X, y)
    kept = list(fitted.get_feature_names_out())
    assert len(kept) == 5 and "planted" in kept
    assert fitted.scores_[list(X.columns).index("planted")] == fitted.scores_.max()


def test_selection_inside_a_pipeline_is_fitted_per_fold(xy):
    X, y = xy
    pipe = make_pipeline(
        make_scaler("standard"), FTestSelector(5), LogisticRegression(max_iter=300)
    )
    scores = cross_val_score(pipe, X, y, cv=TimeSeriesSplit(3))
    assert scores.mean() > 0.6  # the planted feature survives selection inside every fold


def test_correlation_filter_drops_the_twin_and_keeps_the_more_informative(xy):
    X, y = xy
    fitted = CorrelationFilter(0.95).fit(X, y)
    kept = set(fitted.get_feature_names_out())
    assert not {"rsi_14", "rsi_twin"} <= kept
    assert "planted" in kept
    corr = X[list(kept)].corr().abs().to_numpy()
    assert (corr[~np.eye(len(kept), dtype=bool)] < 0.95).all()


def test_selectors_refuse_nan_rows_naming_the_feature(btc):
    X = generate_features(btc, {"indicators": ["rsi"]})
    with pytest.raises(DataError, match="rsi_7 has NaN.*drop the warm-up rows"):
        FTestSelector(2).fit(X, np.zeros(len(X)))


def test_comparison_report_and_stability(xy):
    X, y = xy
    X, y = X.iloc[:1500], y[:1500]
    methods = ("variance", "f_test", "correlation", "l1", "rfe", "pca")
    report = compare_selectors(X, y, k=5, methods=methods)
    assert list(report.summary.index) == list(methods)
    assert {"seconds", "validation_score", "mean_overlap"} <= set(report.summary.columns)
    assert report.ranks.shape == (X.shape[1], len(methods))
    assert report.ranks.loc["planted", "f_test"] == 1
    assert report.summary.loc["f_test", "validation_score"] > 0.6
    stable = stability_score(X, y, method="f_test", n_periods=3)
    noise = pd.DataFrame(np.random.default_rng(1).normal(size=X.shape), columns=X.columns)
    unstable = stability_score(noise, y, method="f_test", n_periods=3)
    assert -1 <= unstable < stable <= 1


def test_scalers_fit_on_training_rows_and_rolling_zscore_is_causal(xy):
    X, _ = xy
    train, test = X.iloc[:1000], X.iloc[1000:]
    for kind in ("standard", "minmax", "robust"):
        scaler = make_scaler(kind).fit(train)
        assert scaler.transform(test).shape == test.shape
    standard = make_scaler("standard").fit(train)
    np.testing.assert_allclose(standard.transform(train).mean(axis=0), 0, atol=1e-9)
    z = RollingZScore(window=50).fit(X)
    full = z.transform(X)
    prefix = z.transform(X.iloc[:700])
    np.testing.assert_array_equal(full[:700], prefix)
    col = X["rsi_14"]
    expected = (col - col.rolling(50).mean()) / col.rolling(50).std()
    np.testing.assert_allclose(full[:, X.columns.get_loc("rsi_14")], expected, rtol=1e-9)
    with pytest.raises(ValueError, match="scaler kind must be one of"):
        make_scaler("zscore")
