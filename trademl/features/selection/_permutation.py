"""Permutation importance of a tree model on a validation slice: the model is fitted on the
first part of the training data and scored on its last ``validation_fraction`` (time
order kept), so the importance is measured out of sample."""

from __future__ import annotations

import numpy as np
from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor
from sklearn.inspection import permutation_importance

from trademl.features.selection._base import ScoreSelector, Task


class PermutationSelector(ScoreSelector):
    def __init__(self, k: int | None = 20, *, threshold: float | None = None,
                 task: Task = "classification", estimator=None,
                 validation_fraction: float = 0.25, n_repeats: int = 5,
                 random_state: int = 0):  # fmt: skip
        super().__init__(k, threshold=threshold, task=task)
        self.estimator = estimator
        self.validation_fraction = validation_fraction
        self.n_repeats = n_repeats
        self.random_state = random_state

    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        if not 0 < self.validation_fraction < 1:
            raise ValueError(
                f"validation_fraction must be in (0, 1), got {self.validation_fraction=}"
            )
        split = int(len(X) * (1 - self.validation_fraction))
        model = self.estimator
        if model is None:
            forest = (
                RandomForestClassifier if self.task == "classification" else RandomForestRegressor
            )
            model = forest(n_estimators=100, max_depth=6, min_samples_leaf=20, n_jobs=1,
                           random_state=self.random_state)  # fmt: skip
        model.fit(X[:split], y[:split])
        result = permutation_importance(
            model, X[split:], y[split:], n_repeats=self.n_repeats,
            random_state=self.random_state, n_jobs=1,
        )  # fmt: skip
        self.validation_score_ = float(model.score(X[split:], y[split:]))
        return result.importances_mean
