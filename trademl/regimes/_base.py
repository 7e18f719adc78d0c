"""The one base class of regime detectors: ``fit`` and a causal ``predict_proba``.

Everything else — hard labels, walk-forward refitting, feature columns — is written
once here in terms of those two methods, so every detector (HMM, LSTM, …) gets it.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from typing import Literal

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, clone

from trademl.errors import TradeMLError

__all__ = ["NotFittedError", "RegimeDetector", "most_probable"]

logger = logging.getLogger(__name__)


class NotFittedError(TradeMLError, ValueError):
    """A detector was used before ``fit`` (or ``load``)."""


class RegimeDetector(BaseEstimator, ABC):
    """Learns regimes from a frame of candles/features; ``predict_proba`` is causal.

    Fitted detectors have ``names_`` (regime names, best mean return first). The
    probability at bar t depends on bars <= t only; anything that looks at the future
    has a different name (``smooth`` on the HMM).
    """

    names_: list[str]

    @abstractmethod
    def fit(self, frame: pd.DataFrame, y: pd.Series | None = None) -> RegimeDetector:
        """Learn the regimes from ``frame`` (rows are bars in time order)."""

    @abstractmethod
    def predict_proba(self, frame: pd.DataFrame) -> pd.DataFrame:
        """P(regime at t | bars <= t): one column per name, NaN before enough history."""

    def _check_fitted(self) -> None:
        if not hasattr(self, "names_"):
            raise NotFittedError(f"{type(self).__name__} is not fitted yet: call fit() first")

    def predict(self, frame: pd.DataFrame) -> pd.Series:
        """The most probable regime name at each bar (causal); missing before warm-up."""
        return most_probable(self.predict_proba(frame))

    def fit_predict(self, frame: pd.DataFrame, y: pd.Series | None = None) -> pd.Series:
        return self.fit(frame, y).predict(frame)

    def predict_proba_walk_forward(
        self,
        frame: pd.DataFrame,
        *,
        refit_every: int,
        min_train_bars: int,
        train_window: Literal["expanding", "rolling"] = "expanding",
    ) -> pd.DataFrame:
        """Causal probabilities on a long series, refitting a clone every ``refit_every`` bars.

        The block of bars [s, s + refit_every) is predicted by a model fitted on bars
        before s only (all of them, or the last ``min_train_bars`` with
        ``train_window="rolling"``), filtering forward from the start of its training
        window. Bars before the first fit are NaN. ``self`` is left untouched.
        """
        if int(refit_every) < 1:
            raise ValueError(f"refit_every must be >= 1 bar, but got {refit_every=}")
        if train_window not in ("expanding", "rolling"):
            raise ValueError(
                f"train_window must be 'expanding' or 'rolling', but got {train_window=}"
            )
        n = len(frame)
        if int(min_train_bars) < 2 or int(min_train_bars) >= n:
            raise ValueError(
                f"min_train_bars must be in [2, {n - 1}] for {n} bars, but got {min_train_bars=}"
            )
        blocks = []
        names: list[str] | None = None
        for start in range(int(min_train_bars), n, int(refit_every)):
            stop = min(start + int(refit_every), n)
            first = 0 if train_window == "expanding" else start - int(min_train_bars)
            model = clone(self).fit(frame.iloc[first:start])
            names = names or list(model.names_)
            proba = model.predict_proba(frame.iloc[first:stop]).iloc[start - first :]
            blocks.append(proba.reindex(columns=names))
            logger.debug("walk-forward block %s..%s fitted on %s..%s", start, stop, first, start)
        head = pd.DataFrame(np.nan, index=frame.index[: int(min_train_bars)], columns=names)
        return pd.concat([head, *blocks])


def most_probable(proba: pd.DataFrame) -> pd.Series:
    values = proba.to_numpy()
    known = ~np.isnan(values).any(axis=1)
    labels = np.full(len(values), None, dtype=object)
    if known.any():
        labels[known] = np.asarray(proba.columns, dtype=object)[values[known].argmax(axis=1)]
    return pd.Series(labels, index=proba.index, name="regime", dtype="str")
