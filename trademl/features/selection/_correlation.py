"""Drop one of each pair of features correlated above ``threshold``, keeping the more
informative one (higher F score against the target)."""

from __future__ import annotations

import numpy as np

from trademl.features.selection._base import ScoreSelector, Task
from trademl.features.selection._f_test import FTestSelector


class CorrelationFilter(ScoreSelector):
    def __init__(self, threshold: float = 0.95, *, task: Task = "classification"):
        super().__init__(None, threshold=threshold, task=task)

    def fit(self, X, y):
        if not 0 < self.threshold <= 1:
            raise ValueError(f"threshold must be in (0, 1], got {self.threshold=}")
        return super().fit(X, y)

    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        informative = np.nan_to_num(FTestSelector(task=self.task)._score(X, y), nan=-1.0)
        with np.errstate(divide="ignore", invalid="ignore"):
            corr = np.abs(np.nan_to_num(np.corrcoef(X, rowvar=False)))
        kept: list[int] = []
        for j in np.argsort(-informative, kind="stable"):
            if all(corr[j, i] < self.threshold for i in kept):
                kept.append(j)
        self.kept_ = np.sort(np.array(kept))
        # score: the F score for kept features, -inf for dropped ones (selected by threshold)
        return np.where(np.isin(np.arange(X.shape[1]), kept), np.abs(informative) + 1.0, -np.inf)

    def _get_support_mask(self) -> np.ndarray:
        return np.isfinite(self.scores_)
