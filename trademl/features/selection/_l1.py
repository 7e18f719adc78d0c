"""L1-penalised linear model (logistic or Lasso) on standardised features: the size of
each surviving coefficient is the score; zeroed ones score 0."""

from __future__ import annotations

import numpy as np
from sklearn.linear_model import Lasso, LogisticRegression
from sklearn.preprocessing import StandardScaler

from trademl.features.selection._base import ScoreSelector, Task


class L1Selector(ScoreSelector):
    def __init__(self, k: int | None = 20, *, threshold: float | None = None,
                 task: Task = "classification", C: float = 0.05, alpha: float = 1e-4):  # fmt: skip
        super().__init__(k, threshold=threshold, task=task)
        self.C = C
        self.alpha = alpha

    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        scaled = StandardScaler().fit_transform(X)
        if self.task == "classification":
            model = LogisticRegression(l1_ratio=1.0, solver="saga", C=self.C, max_iter=500)
        else:
            model = Lasso(alpha=self.alpha, max_iter=5000)
        model.fit(scaled, y)
        return np.abs(np.atleast_2d(model.coef_)).sum(axis=0)
