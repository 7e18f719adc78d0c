"""ANOVA F (classification) or univariate linear-regression F (regression) per feature."""

from __future__ import annotations

import numpy as np
from sklearn.feature_selection import f_classif, f_regression

from trademl.features.selection._base import ScoreSelector


class FTestSelector(ScoreSelector):
    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        score = f_classif if self.task == "classification" else f_regression
        with np.errstate(divide="ignore", invalid="ignore"):
            return score(X, y)[0]
