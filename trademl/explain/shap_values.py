"""SHAP values: exact TreeSHAP through LightGBM/XGBoost's native ``pred_contrib``, interaction
values for trees, and a model-agnostic Permutation explainer for everything else.

Tree models are explained on their raw margin (log-odds of the up class, or the
regression output): the native contributions sum, row by row, to the margin the model
predicts, and equal ``shap.TreeExplainer`` to float rounding (tests and
``benchmarks/explain.py`` check both). Other models are explained on P(up) or the
prediction, against a background sample of training rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd

from trademl.explain._target import ExplainError, Target

__all__ = [
    "MIN_BACKGROUND",
    "Interactions",
    "ShapValues",
    "interaction_values",
    "permutation_shap",
    "shap_values",
    "tree_shap",
    "tree_shap_reference",
]

# fewer background rows than this make a model-agnostic explanation mostly noise
MIN_BACKGROUND = 20
Method = Literal["auto", "tree", "permutation"]


@dataclass
class ShapValues:
    """Per-row, per-feature contributions; ``base_values + values.sum(axis=1)`` = the output."""

    values: pd.DataFrame  # rows x features, indexed like the explained rows
    base_values: np.ndarray  # one per row
    output: str  # "log_odds", "raw", "probability" or "prediction"
    method: str  # which algorithm made them

    def global_importance(self) -> pd.Series:
        """Mean |SHAP| per feature, largest first."""
        return self.values.abs().mean().sort_values(ascending=False, kind="stable")

    def outputs(self) -> np.ndarray:
        return self.base_values + self.values.to_numpy().sum(axis=1)

    def to_frame(self) -> pd.DataFrame:
        frame = self.values.copy()
        frame.insert(0, "base_value", self.base_values)
        return frame


def _frame(X) -> pd.DataFrame:
    if not isinstance(X, pd.DataFrame):
        raise ExplainError(f"rows to explain: expected a DataFrame, got {type(X).__name__}")
    if X.empty:
        raise ExplainError("rows to explain: none given")
    return X


def _xgb_iterations(native) -> tuple[int, int]:
    best = getattr(native, "best_iteration", None)
    return (0, int(best) + 1) if best is not None else (0, 0)


def _pick_class(contrib: np.ndarray, n_features: int, target: Target) -> np.ndarray:
    """(n, F+1) for binary/regression; the up class's block of a multiclass result."""
    if contrib.ndim == 3:  # xgboost multiclass: (n, K, F+1)
        return contrib[:, target.up_index, :]
    if contrib.shape[1] == n_features + 1:
        return contrib
    width = n_features + 1  # lightgbm multiclass: (n, K * (F+1))
    return contrib[:, target.up_index * width : (target.up_index + 1) * width]


def tree_shap(target: Target, X: pd.DataFrame) -> ShapValues:
    """Exact TreeSHAP of a tree model (native for LightGBM/XGBoost, ``shap`` for sklearn)."""
    X = _frame(X)
    n_features = X.shape[1]
    output = "log_odds" if target.task == "classification" else "raw"
    if target.family == "lightgbm":
        # the sklearn wrapper stops at best_iteration_, as predict_proba does
        contrib = np.asarray(target.native.predict(X, pred_contrib=True), dtype=float)
        method = "lightgbm.pred_contrib"
    elif target.family == "xgboost":
        import xgboost as xgb

        booster = target.native.get_booster()
        matrix = xgb.DMatrix(X, missing=np.nan)
        contrib = np.asarray(
            booster.predict(
                matrix, pred_contribs=True, iteration_range=_xgb_iterations(target.native)
            ),
            dtype=float,
        )
        method = "xgboost.pred_contribs"
    elif target.family == "sklearn_tree":
        return _shap_tree(target, X, method="shap.TreeExplainer")
    else:
        raise ExplainError(
            f"model kind {target.kind!r}: TreeSHAP needs a tree model (lightgbm, xgboost, "
            "random_forest, extra_trees); use method='permutation'"
        )
    contrib = _pick_class(contrib, n_features, target)
    values = pd.DataFrame(contrib[:, :n_features], index=X.index, columns=X.columns)
    return ShapValues(values, contrib[:, n_features].copy(), output, method)


def _shap_tree(target: Target, X: pd.DataFrame, *, method: str, own: bool = False) -> ShapValues:
    import shap

    explainer = shap.TreeExplainer(target.native)
    if own:
        # shap hands LightGBM/XGBoost straight to their own pred_contrib; comparing that
        # with the native path would check nothing. "internal" runs shap's C++ TreeSHAP
        # on the trees it parsed itself (same tree limit as the model's best iteration).
        explainer.model.model_type = "internal"
    raw = explainer.shap_values(X.to_numpy() if own else X, check_additivity=False)
    expected = np.atleast_1d(np.asarray(explainer.expected_value, dtype=float))
    if isinstance(raw, list):  # older shap: one array per class
        raw = np.stack(raw, axis=-1)
    raw = np.asarray(raw, dtype=float)
    if raw.ndim == 3:  # (n, F, K)
        index = target.up_index if raw.shape[2] > 1 else 0
        raw, base = raw[:, :, index], expected[min(index, len(expected) - 1)]
    else:
        base = expected[0]
    if target.family == "sklearn_tree":
        output = "probability" if target.task == "classification" else "prediction"
    else:
        output = "log_odds" if target.task == "classification" else "raw"
    values = pd.DataFrame(raw, index=X.index, columns=X.columns)
    return ShapValues(values, np.full(len(X), float(base)), output, method)


def tree_shap_reference(target: Target, X: pd.DataFrame) -> ShapValues:
    """The same values from ``shap.TreeExplainer``'s own TreeSHAP on the trees it parsed
    (what the native path is checked against)."""
    X = _frame(X)
    if target.family == "none":
        raise ExplainError(f"model kind {target.kind!r}: not a tree model")
    return _shap_tree(target, X, method="shap.TreeExplainer(internal)", own=True)


@dataclass
class Interactions:
    """SHAP interaction values: (rows, features, features); the diagonal is the main effect."""

    values: np.ndarray
    features: list[str]

    def mean_abs(self) -> pd.DataFrame:
        return pd.DataFrame(
            np.abs(self.values).mean(axis=0), index=self.features, columns=self.features
        )

    def top_pairs(self, k: int = 10) -> pd.DataFrame:
        """The ``k`` strongest off-diagonal pairs by mean |interaction| (counted once)."""
        matrix = self.mean_abs().to_numpy()
        i, j = np.triu_indices(len(self.features), k=1)
        # the pair's effect is split between (i, j) and (j, i): report the sum
        strength = matrix[i, j] + matrix[j, i]
        order = np.argsort(-strength, kind="stable")[:k]
        return pd.DataFrame(
            {
                "feature_a": [self.features[i[o]] for o in order],
                "feature_b": [self.features[j[o]] for o in order],
                "mean_abs_interaction": strength[order],
            }
        )


def interaction_values(target: Target, X: pd.DataFrame) -> Interactions:
    """Exact TreeSHAP interaction values (XGBoost natively, others through ``shap``)."""
    X = _frame(X)
    n = X.shape[1]
    if target.family == "xgboost":
        import xgboost as xgb

        raw = target.native.get_booster().predict(
            xgb.DMatrix(X, missing=np.nan), pred_interactions=True,
            iteration_range=_xgb_iterations(target.native),
        )  # fmt: skip
        raw = np.asarray(raw, dtype=float)
        if raw.ndim == 4:  # multiclass: (n, K, F+1, F+1)
            raw = raw[:, target.up_index]
        return Interactions(raw[:, :n, :n], list(X.columns))
    if target.family in ("lightgbm", "sklearn_tree"):
        import shap

        raw = shap.TreeExplainer(target.native).shap_interaction_values(X)
        if isinstance(raw, list):
            raw = raw[target.up_index if len(raw) > 1 else 0]
        raw = np.asarray(raw, dtype=float)
        if raw.ndim == 4:  # (n, F, F, K)
            raw = raw[..., target.up_index if raw.shape[-1] > 1 else 0]
        return Interactions(raw, list(X.columns))
    raise ExplainError(f"model kind {target.kind!r}: interaction values need a tree model")


def check_background(background: pd.DataFrame | None, *, minimum: int = MIN_BACKGROUND) -> None:
    n = 0 if background is None else len(background)
    if n < minimum:
        raise ExplainError(
            f"background sample: {n} row(s), need at least {minimum} training rows "
            "(give more history or a larger --background)"
        )


def permutation_shap(
    target: Target, X: pd.DataFrame, background: pd.DataFrame, *, max_evals: int | None = None,
    seed: int = 0,
) -> ShapValues:  # fmt: skip
    """Model-agnostic SHAP (shap's Permutation explainer) of P(up) or the prediction."""
    import shap

    X = _frame(X)
    check_background(background)
    predict = target.predict_output()
    columns = list(X.columns)

    def f(rows):
        return predict(pd.DataFrame(np.asarray(rows), columns=columns).astype(X.dtypes.to_dict()))

    masker = shap.maskers.Independent(background[columns].to_numpy(), max_samples=len(background))
    explainer = shap.explainers.Permutation(f, masker, seed=seed)
    evals = max_evals or 2 * X.shape[1] + 1
    result = explainer(X.to_numpy(), max_evals=max(evals, 2 * X.shape[1] + 1), silent=True)
    values = pd.DataFrame(np.asarray(result.values, dtype=float), index=X.index, columns=columns)
    output = "probability" if target.task == "classification" else "prediction"
    base = np.asarray(result.base_values, dtype=float).reshape(len(X))
    return ShapValues(values, base, output, "shap.PermutationExplainer")


def shap_values(
    target: Target, X: pd.DataFrame, *, background: pd.DataFrame | None = None,
    method: Method = "auto", seed: int = 0,
) -> ShapValues:  # fmt: skip
    """TreeSHAP for tree models, else the Permutation explainer (needs ``background``)."""
    if method not in ("auto", "tree", "permutation"):
        raise ExplainError(f"method must be auto, tree or permutation, got {method!r}")
    if method == "tree" or (method == "auto" and target.family != "none"):
        return tree_shap(target, X)
    check_background(background)
    return permutation_shap(target, X, background, seed=seed)
