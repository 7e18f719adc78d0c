"""LIME for one prediction of any classifier or regressor, seeded so it is reproducible.

LIME samples perturbed rows around the explained one (statistics of the background
rows), weighs them by proximity and fits a small linear model; its weights are the
explanation and its R² on the samples (``score``) says how well a line fits locally.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trademl.explain._target import ExplainError, Target
from trademl.explain.shap_values import check_background

__all__ = ["LimeExplanation", "lime_explanation"]


@dataclass
class LimeExplanation:
    weights: pd.DataFrame  # rule ("rsi_14 <= 41.2"), feature, weight; largest |weight| first
    intercept: float
    local_prediction: float  # what the local linear model predicts for the row
    model_prediction: float  # what the model predicts (P(up) or the prediction)
    score: float  # R² of the local model on its weighted samples
    seed: int


def lime_explanation(
    target: Target, row: pd.DataFrame, background: pd.DataFrame, *, num_features: int = 10,
    num_samples: int = 2000, seed: int = 0,
) -> LimeExplanation:  # fmt: skip
    """LIME weights for ``row`` (a one-row frame); the same ``seed`` gives the same weights."""
    from lime.lime_tabular import LimeTabularExplainer

    if not isinstance(row, pd.DataFrame) or len(row) != 1:
        raise ExplainError("LIME explains one row: pass a one-row DataFrame")
    check_background(background)
    if num_samples < 100:
        raise ExplainError(f"LIME num_samples must be >= 100, got {num_samples=}")
    columns = list(row.columns)
    predict = target.predict_output()
    dtypes = row.dtypes.to_dict()

    def frame(values):
        return pd.DataFrame(np.asarray(values, dtype=float), columns=columns).astype(dtypes)

    if target.task == "classification":
        mode = "classification"

        def predict_fn(values):
            p_up = predict(frame(values))
            return np.column_stack([1.0 - p_up, p_up])  # LIME wants one column per class
    else:
        mode = "regression"

        def predict_fn(values):
            return predict(frame(values))

    data = background[columns].to_numpy(dtype=float)
    data = np.where(np.isfinite(data), data, np.nanmedian(data, axis=0))
    explainer = LimeTabularExplainer(
        data, mode=mode, feature_names=columns, discretize_continuous=True,
        random_state=np.random.RandomState(seed),
    )  # fmt: skip
    label = 1 if mode == "classification" else 0
    result = explainer.explain_instance(
        row.to_numpy(dtype=float)[0], predict_fn, labels=(label,),
        num_features=min(num_features, len(columns)), num_samples=num_samples,
    )  # fmt: skip
    pairs = result.as_map()[label]
    rules = dict(result.as_list(label=label))
    weights = pd.DataFrame(
        {
            "rule": list(rules),
            "feature": [columns[i] for i, _ in pairs],
            "weight": [float(w) for _, w in pairs],
        }
    )
    local = result.local_pred[0] if np.ndim(result.local_pred) else result.local_pred
    intercept = result.intercept[label] if isinstance(result.intercept, dict) else result.intercept
    return LimeExplanation(
        weights=weights, intercept=float(intercept), local_prediction=float(local),
        model_prediction=float(predict(row)[0]), score=float(result.score), seed=seed,
    )  # fmt: skip
