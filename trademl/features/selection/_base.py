"""The base of the score-based selectors: score every feature on the training data, keep
the best ``k`` (or those above ``threshold``). Subclasses implement only ``_score``."""

from __future__ import annotations

from abc import abstractmethod
from typing import Literal

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.feature_selection import SelectorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from trademl.errors import DataError

Task = Literal["classification", "regression"]


class ScoreSelector(SelectorMixin, BaseEstimator):
    """Keep the ``k`` highest-scoring features (all with score >= ``threshold`` if k is None)."""

    def __init__(self, k: int | None = 20, *, threshold: float | None = None,
                 task: Task = "classification"):  # fmt: skip
        self.k = k
        self.threshold = threshold
        self.task = task

    @abstractmethod
    def _score(self, X: np.ndarray, y: np.ndarray) -> np.ndarray:
        """One score per column, higher is more informative."""

    def fit(self, X, y):
        if self.task not in ("classification", "regression"):
            raise ValueError(f"task must be 'classification' or 'regression', got {self.task=}")
        if self.k is None and self.threshold is None:
            raise ValueError("set k (how many to keep) or threshold (minimum score)")
        X, y = validate_data(self, X, y, ensure_all_finite=False, dtype=np.float64)
        bad = ~np.isfinite(X).all(axis=0)
        if bad.any():
            names = getattr(self, "feature_names_in_", None)
            column = names[np.argmax(bad)] if names is not None else f"column {np.argmax(bad)}"
            raise DataError(
                f"{type(self).__name__}: feature {column} has NaN/inf in the training rows "
                f"({int(bad.sum())} such features); drop the warm-up rows first"
            )
        if self.k is not None and self.k < 1:
            raise ValueError(f"k must be >= 1, got {self.k=}")
        scores = np.asarray(self._score(X, y), dtype=float)
        self.scores_ = np.where(np.isnan(scores), -np.inf, scores)  # e.g. F of a constant column
        return self

    def _get_support_mask(self) -> np.ndarray:
        check_is_fitted(self, "scores_")
        mask = np.zeros(len(self.scores_), dtype=bool)
        if self.k is not None:
            mask[np.argsort(-self.scores_, kind="stable")[: min(self.k, len(mask))]] = True
        else:
            mask = self.scores_ >= self.threshold
        return mask
