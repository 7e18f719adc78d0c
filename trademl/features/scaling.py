"""Scalers as scikit-learn transformers, so a Pipeline fits them on each training fold.

Standard, min-max and robust scaling are scikit-learn's own; the rolling z-score is
stateless and causal: each row is scaled by the trailing ``window`` rows before it and
itself, so it needs no fitting and never uses later rows."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, OneToOneFeatureMixin, TransformerMixin
from sklearn.preprocessing import MinMaxScaler, RobustScaler, StandardScaler
from sklearn.utils.validation import check_is_fitted, validate_data

__all__ = ["MinMaxScaler", "RobustScaler", "RollingZScore", "StandardScaler", "make_scaler"]


class RollingZScore(OneToOneFeatureMixin, TransformerMixin, BaseEstimator):
    """(x - trailing mean) / trailing std over ``window`` rows (rows in time order)."""

    def __init__(self, window: int = 200, *, min_periods: int | None = None):
        self.window = window
        self.min_periods = min_periods

    def fit(self, X, y=None):
        if self.window < 2:
            raise ValueError(f"window must be >= 2, got {self.window=}")
        validate_data(self, X, ensure_all_finite=False)
        self.fitted_ = True
        return self

    def transform(self, X):
        check_is_fitted(self, "fitted_")
        values = validate_data(self, X, reset=False, ensure_all_finite=False, dtype=np.float64)
        rolling = pd.DataFrame(values).rolling(self.window, min_periods=self.min_periods)
        mean, std = rolling.mean().to_numpy(), rolling.std().to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            out = np.where(std > 0, (values - mean) / std, 0.0)
        out[np.isnan(std)] = np.nan
        return out


def make_scaler(kind: Literal["standard", "minmax", "robust", "rolling_zscore"] = "standard",
                **params) -> TransformerMixin:  # fmt: skip
    makers = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler,
              "rolling_zscore": RollingZScore}  # fmt: skip
    if kind not in makers:
        raise ValueError(f"scaler kind must be one of {', '.join(makers)}, got {kind=}")
    return makers[kind](**params)
