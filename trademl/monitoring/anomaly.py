"""Anomalies in the prediction stream: an Isolation Forest fitted on the reference period.

A model that suddenly emits probabilities it never produced in validation (stuck at
0.5, saturated at 0/1, oscillating) is broken even before outcomes arrive. Each
prediction is described by its value and the rolling mean and spread of the recent
predictions, so both single outliers and a stream that changed character stand out.
The share of flagged predictions is tested against the ``contamination`` the forest was
calibrated to flag on the reference period (binomial test).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from trademl.errors import DataError

__all__ = ["PredictionAnomalyDetector"]


class PredictionAnomalyDetector:
    """Isolation Forest over (score, rolling mean, rolling std) of the prediction stream."""

    def __init__(
        self,
        *,
        window: int = 24,
        contamination: float = 0.01,
        n_estimators: int = 200,
        random_state: int | None = 0,
    ):
        self.window = window
        self.contamination = contamination
        self.n_estimators = n_estimators
        self.random_state = random_state

    def _describe(self, scores: pd.Series) -> np.ndarray:
        values = pd.Series(np.asarray(scores, dtype=float))
        if not np.isfinite(values).all():
            bad = int(np.flatnonzero(~np.isfinite(values.to_numpy()))[0])
            raise DataError(f"anomaly: prediction stream has a non-finite value at row {bad}")
        rolling = values.rolling(self.window, min_periods=1)
        return np.column_stack([values, rolling.mean(), rolling.std().fillna(0.0)])

    def fit(self, reference: pd.Series) -> PredictionAnomalyDetector:
        """Fit on the reference (validation) prediction scores."""
        from sklearn.ensemble import IsolationForest

        if self.window < 2:
            raise ValueError(f"anomaly: window must be >= 2, got {self.window=}")
        if not 0 < self.contamination < 0.5:
            raise ValueError(
                f"anomaly: contamination must be in (0, 0.5), got {self.contamination=}"
            )
        if len(reference) < 10 * self.window:
            raise DataError(
                f"anomaly: reference has {len(reference)} predictions, need >= {10 * self.window}"
            )
        self.forest_ = IsolationForest(
            n_estimators=self.n_estimators,
            contamination=self.contamination,
            random_state=self.random_state,
        ).fit(self._describe(reference))
        self.reference_share_ = float(
            (self.forest_.predict(self._describe(reference)) == -1).mean()
        )
        return self

    def flags(self, current: pd.Series) -> pd.Series:
        """True for each prediction the forest isolates as anomalous."""
        if not hasattr(self, "forest_"):
            raise DataError("anomaly: call fit(reference) before flags(current)")
        marks = self.forest_.predict(self._describe(current)) == -1
        return pd.Series(marks, index=current.index, name="anomaly")

    def assess(self, current: pd.Series) -> dict:
        """Share of anomalous predictions and its binomial p-value vs the reference share."""
        marks = self.flags(current)
        n, k = len(marks), int(marks.sum())
        expected = max(self.reference_share_, 1e-6)
        pvalue = float(stats.binomtest(k, n, expected, alternative="greater").pvalue) if n else 1.0
        return {
            "n": n,
            "n_anomalous": k,
            "share": k / n if n else 0.0,
            "expected_share": self.reference_share_,
            "share_pvalue": pvalue,
        }
