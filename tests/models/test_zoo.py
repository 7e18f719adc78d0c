from __future__ import annotations

import numpy as np
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.model_selection import cross_val_score

from trademl.config import load_spec
from trademl.errors import SpecError, TradeMLError
from trademl.models import REGISTRY, build_model, card, cards, for_regime, load
from trademl.validation import PurgedKFold

CASES = [(kind, task) for kind in REGISTRY for task in card(kind).tasks]


def _target(xy, task):
    X, direction, forward = xy
    return X, (direction if task == "classification" else forward)


@pytest.mark.parametrize(("kind", "task"), CASES)
def test_fit_predict_clone_save_load(kind, task, xy, tmp_path):
    X, y = _target(xy, task)
    model = build_model({"kind": kind, "task": task, "params": _small(kind)}, purge=4)
    train, test = slice(0, 3000), slice(3000, None)
    model.fit(X.iloc[train], y[train])
    pred = model.predict(X.iloc[test])
    assert pred.shape == (len(X) - 3000,)
    if task == "classification":
        assert is_classifier(model)
        assert set(np.unique(pred)) <= {-1, 1}
        proba = model.predict_proba(X.iloc[test])
        assert proba.shape == (len(pred), 2)
        np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-9)
        # predictions are the most probable class
        np.testing.assert_array_equal(pred, model.classes_[proba.argmax(axis=1)])
    else:
        assert is_regressor(model)
        assert not hasattr(model, "predict_proba")
        assert np.isfinite(pred).all()

    params = model.get_params()
    assert params["task"] == task
    twin = clone(model)
    assert twin.get_params() == params
    assert not hasattr(twin, "estimator_")

    path = model.save(tmp_path / f"{kind}.joblib")
    again = load(path)
    np.testing.assert_array_equal(again.predict(X.iloc[test]), pred)


_TINY_NETWORKS = {
    "lstm": {"hidden_size": 8},
    "gru": {"hidden_size": 8},
    "tcn": {"filters": 8},
    "transformer": {"hidden_size": 8, "heads": 2},
    "cnn_lstm_attention": {"hidden_size": 8, "filters": 8},
    "hybrid": {"hidden_size": 8, "filters": 8, "inner_folds": 2, "xgb_n_estimators": 20},
}


def _small(kind: str) -> dict:
    if kind in _TINY_NETWORKS:
        return {"window": 8, "epochs": 2, "batch_size": 256, "onnx": False,
                **_TINY_NETWORKS[kind]}  # fmt: skip
    return {"n_estimators": 60} if kind not in ("logistic", "ridge") else {}


@pytest.mark.parametrize("kind", ["lightgbm", "xgboost"])
def test_early_stopping_slice_is_end_of_training_fold_never_test(kind, xy):
    X, y = _target(xy, "classification")
    horizon = 4
    splitter = PurgedKFold(4, horizon=horizon)
    for train, test in splitter.split(X):
        model = build_model(
            {"kind": kind, "params": {"n_estimators": 400, "learning_rate": 0.3}},
            purge=horizon,
        ).fit(X.iloc[train], y[train])
        start, stop = model.early_stopping_slice_
        assert stop == len(train)
        val_positions = train[start:stop]
        assert not set(val_positions) & set(test)
        assert set(model.validation_index_) <= set(X.index[train])
        assert model.validation_index_.intersection(X.index[test]).empty
        # the purge gap: the last fitting row is `horizon` rows before the slice
        n_val = stop - start
        assert start == len(train) - n_val
        fit_end = len(train) - n_val - horizon
        assert fit_end > 0
        # early stopping really stopped before the 400-round budget on noisy labels
        assert model.best_iteration_ is not None and model.best_iteration_ < 400


def test_scikit_learn_cross_validation_works(xy):
    X, y = _target(xy, "classification")
    model = build_model({"kind": "logistic"})
    scores = cross_val_score(model, X, y, cv=PurgedKFold(3, horizon=4))
    assert len(scores) == 3 and np.all((scores > 0.3) & (scores < 0.7))


def test_same_seed_same_predictions_different_seed_differs(xy):
    X, y = _target(xy, "classification")
    spec = {"kind": "lightgbm", "params": {"n_estimators": 50, "subsample": 0.7}}
    a = build_model(spec, random_state=1).fit(X, y).predict_proba(X)
    b = build_model(spec, random_state=1).fit(X, y).predict_proba(X)
    c = build_model(spec, random_state=2).fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_cards_are_complete_and_regime_selection():
    for model_card in cards():
        assert model_card.purpose and model_card.input_shape and model_card.required_features
        assert model_card.output_schema and model_card.regimes and model_card.search_space
        assert set(model_card.search_space) <= set(model_card.params)
        assert model_card.to_dict()["kind"] == model_card.kind
    trending = {c.kind for c in for_regime("trending")}
    assert {"lightgbm", "logistic"} <= trending
    assert "extra_trees" not in trending
    with pytest.raises(ValueError, match="unknown regime 'sideways'"):
        for_regime("sideways")


def test_every_card_default_search_space_is_a_valid_spec():
    for kind in REGISTRY:
        task = card(kind).tasks[0]
        spec = load_spec({"model": {"kind": kind, "task": task}})
        assert set(spec.model.resolved_search_space()) == set(card(kind).search_space)


@pytest.mark.parametrize(
    ("model", "message"),
    [
        (
            {"kind": "lightgbm", "params": {"max_depth": "deep"}},
            'model.params.max_depth: expected int, got "deep"',
        ),
        ({"kind": "lightgbm", "params": {"depth": 3}}, "model.params.depth: unknown parameter"),
        ({"kind": "catboost"}, "model.kind: unknown model kind"),
        ({"kind": "ridge", "task": "classification"}, "model.task: model kind 'ridge' supports"),
        (
            {"kind": "xgboost", "params": {"tree_method": "gpu"}},
            "model.params.tree_method: expected one of",
        ),
        (
            {
                "kind": "xgboost",
                "search_space": {"max_depth": {"type": "int", "low": 9, "high": 2}},
            },
            "low (9) must be <= high (2)",
        ),
        (
            {"kind": "xgboost", "search_space": {"depth": {"type": "int", "low": 2, "high": 9}}},
            "model.search_space.depth: not a parameter",
        ),
    ],
)
def test_bad_model_specs_name_the_field(model, message):
    with pytest.raises(SpecError) as info:
        load_spec({"model": model})
    assert message in str(info.value)


def test_unfitted_and_bad_input_errors(xy):
    X, y = _target(xy, "classification")
    model = build_model({"kind": "logistic"})
    with pytest.raises(TradeMLError, match="not fitted"):
        model.predict(X)
    with pytest.raises(ValueError, match="X has 10 rows but y has 9"):
        model.fit(X.iloc[:10], y[:9])
    with pytest.raises(ValueError, match="at least 2 classes"):
        model.fit(X.iloc[:10], np.ones(10))
    nan_y = np.r_[0.1, np.nan, 0.2]
    with pytest.raises(ValueError, match="NaN labels .first at row 1"):
        build_model({"kind": "ridge", "task": "regression"}).fit(X.iloc[:3], nan_y)
    with pytest.raises(SpecError, match="does not support task 'regression'"):
        build_model({"kind": "logistic"}, "regression")
