"""A global surrogate: a shallow decision tree fitted to the model's own outputs, with its
fidelity on held-out rows and its rules.

Fidelity is how often the tree gives the model's predicted class (classifiers) or the
R² of the tree's output against the model's (regressors), measured on rows the tree
was not fitted on; a low fidelity means the rules do not describe the model.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trademl.explain._target import ExplainError, Target

__all__ = ["Surrogate", "fit_surrogate"]


@dataclass
class Surrogate:
    tree: object  # the fitted sklearn DecisionTree
    fidelity: float
    fidelity_metric: str  # "agreement" or "r2"
    n_fit: int
    n_holdout: int
    max_depth: int
    rules: str  # sklearn.tree.export_text
    # agreement of always answering the model's most common class: a fidelity near it
    # says the tree learned the class balance, not the model
    majority_agreement: float | None
    importance: pd.Series  # the tree's impurity importance, largest first

    def to_dict(self) -> dict:
        return {
            "fidelity": self.fidelity, "fidelity_metric": self.fidelity_metric,
            "n_fit": self.n_fit, "n_holdout": self.n_holdout, "max_depth": self.max_depth,
            "majority_agreement": self.majority_agreement,
        }  # fmt: skip


def _model_labels(target: Target, X: pd.DataFrame) -> np.ndarray:
    if target.task == "classification":
        return np.asarray(target.model.predict(X))
    return np.asarray(target.model.predict(X), dtype=float)


def fit_surrogate(
    target: Target, X_fit: pd.DataFrame, X_holdout: pd.DataFrame, *, max_depth: int = 3,
    seed: int = 0,
) -> Surrogate:  # fmt: skip
    """A depth-``max_depth`` tree mimicking the model on ``X_fit``, scored on ``X_holdout``."""
    from sklearn.metrics import r2_score
    from sklearn.tree import DecisionTreeClassifier, DecisionTreeRegressor, export_text

    if not 1 <= max_depth <= 8:
        raise ExplainError(f"surrogate max_depth must be 1..8 (a readable tree), got {max_depth=}")
    if len(X_fit) < 20 or len(X_holdout) < 10:
        raise ExplainError(
            f"surrogate: {len(X_fit)} fitting and {len(X_holdout)} held-out rows; need at "
            "least 20 and 10"
        )
    y_fit, y_hold = _model_labels(target, X_fit), _model_labels(target, X_holdout)
    columns = list(X_fit.columns)
    # sklearn trees take NaN; the model saw the same rows, so nothing is imputed
    if target.task == "classification":
        tree = DecisionTreeClassifier(max_depth=max_depth, random_state=seed)
        tree.fit(X_fit.to_numpy(dtype=float), y_fit)
        fidelity = float(np.mean(tree.predict(X_holdout.to_numpy(dtype=float)) == y_hold))
        metric = "agreement"
        _, counts = np.unique(y_hold, return_counts=True)
        majority = float(counts.max() / counts.sum())
    else:
        tree = DecisionTreeRegressor(max_depth=max_depth, random_state=seed)
        tree.fit(X_fit.to_numpy(dtype=float), y_fit)
        fidelity = float(r2_score(y_hold, tree.predict(X_holdout.to_numpy(dtype=float))))
        metric = "r2"
        majority = None
    importance = pd.Series(tree.feature_importances_, index=columns).sort_values(
        ascending=False, kind="stable"
    )
    return Surrogate(
        tree=tree, fidelity=fidelity, fidelity_metric=metric, n_fit=len(X_fit),
        n_holdout=len(X_holdout), max_depth=max_depth,
        rules=export_text(tree, feature_names=columns, decimals=4),
        importance=importance[importance > 0], majority_agreement=majority,
    )  # fmt: skip
