"""Mutual information between each feature and the target (catches non-linear links)."""

from __future__ import annotations

import numpy as np
from sklearn.feature_selection import mutual_info_classif, mutual_info_regression

from trademl.features.selection._base import ScoreSelector, Task


class MutualInfoSelector(ScoreSelector):
    def __init__(self, k: int | None = 20, *, threshold: float | None = None,
                 task: Task = "classification", random_state: int = 0):  # fmt: skip
        super().__init__(k, threshold=threshold, task=task)
        self.random_state = random_state

    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        score = mutual_info_classif if self.task == "classification" else mutual_info_regression
        return score(X, y, random_state=self.random_state)
