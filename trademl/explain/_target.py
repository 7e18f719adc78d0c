"""What an explanation explains: the native estimator inside a package and the output it scores.

A package's estimator is a trademl ``TabularModel`` wrapping a native one (``estimator_``).
Tree models are explained on their raw margin (log-odds of the "up" class for
classifiers, the prediction for regressors), which TreeSHAP decomposes exactly; any
other model is explained on P(up) (classifiers) or its prediction (regressors).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from trademl.errors import TradeMLError

__all__ = ["ExplainError", "Target", "TreeFamily", "resolve_target"]

TreeFamily = Literal["lightgbm", "xgboost", "sklearn_tree", "none"]

_SKLEARN_TREES = (
    "RandomForestClassifier", "RandomForestRegressor", "ExtraTreesClassifier",
    "ExtraTreesRegressor", "DecisionTreeClassifier", "DecisionTreeRegressor",
    "GradientBoostingClassifier", "GradientBoostingRegressor",
)  # fmt: skip


class ExplainError(TradeMLError, ValueError):
    """An explanation cannot be made for this model or input; the message names why."""


@dataclass(frozen=True)
class Target:
    """One estimator and the scalar output explained, per feature row."""

    model: Any  # the package's estimator (TabularModel or any fitted estimator)
    native: Any  # the library estimator inside it (LGBMClassifier, XGBRegressor, ...)
    task: str
    family: TreeFamily
    up_index: int  # column of P(up) (the highest class) for classifiers, 0 for regressors
    n_classes: int
    kind: str  # what the model is, for messages

    def predict_output(self) -> Callable[[np.ndarray | pd.DataFrame], np.ndarray]:
        """A function rows -> the model-agnostic output (P(up) or the prediction)."""
        model, up, task = self.model, self.up_index, self.task

        if task == "classification":
            if not hasattr(model, "predict_proba"):
                raise ExplainError(f"model kind {self.kind}: a classifier without predict_proba")

            def output(X):
                return np.asarray(model.predict_proba(X), dtype=float)[:, up]

        else:

            def output(X):
                return np.asarray(model.predict(X), dtype=float)

        return output


def _family(native: Any) -> TreeFamily:
    name = type(native).__name__
    module = type(native).__module__
    if module.startswith("lightgbm"):
        return "lightgbm"
    if module.startswith("xgboost"):
        return "xgboost"
    if module.startswith("sklearn") and name in _SKLEARN_TREES:
        return "sklearn_tree"
    return "none"


def resolve_target(estimator: Any, task: str) -> Target:
    """The explainable view of ``estimator`` (a package's estimator), or ExplainError."""
    native = getattr(estimator, "estimator_", estimator)
    kind = getattr(getattr(estimator, "card", None), "kind", None) or type(estimator).__name__
    if not hasattr(estimator, "predict"):
        raise ExplainError(
            f"model kind {kind!r} ({type(estimator).__name__}) has no predict(): "
            "no explainer supports it"
        )
    if task not in ("classification", "regression"):
        raise ExplainError(f"task {task!r}: explanations support classification and regression")
    classes = np.asarray(getattr(estimator, "classes_", [0]))
    n_classes = len(classes) if task == "classification" else 1
    up = int(np.argmax(classes)) if task == "classification" else 0
    return Target(
        model=estimator, native=native, task=task, family=_family(native), up_index=up,
        n_classes=n_classes, kind=str(kind),
    )  # fmt: skip
