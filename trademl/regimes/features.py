"""Regime probabilities as causal feature columns for other models."""

from __future__ import annotations

import pandas as pd

from trademl.regimes._base import RegimeDetector

__all__ = ["regime_features"]


def regime_features(
    frame: pd.DataFrame,
    detector: RegimeDetector,
    *,
    prefix: str = "regime_p_",
    refit_every: int | None = None,
    min_train_bars: int | None = None,
) -> pd.DataFrame:
    """Columns ``regime_p_bull``, ``regime_p_sideways``, … aligned to ``frame.index``.

    With a fitted ``detector``: its forward-filtered probabilities (bar t uses bars <= t).
    Fitting the detector on the same bars it then describes is a leak of *parameters*
    (the model has seen the whole period); for features used in a backtest pass
    ``refit_every`` and ``min_train_bars`` to refit walk-forward, so each bar is scored
    by a model fitted on earlier bars only.
    """
    if refit_every is not None:
        if min_train_bars is None:
            raise ValueError("refit_every needs min_train_bars (bars before the first fit)")
        proba = detector.predict_proba_walk_forward(
            frame, refit_every=refit_every, min_train_bars=min_train_bars
        )
    else:
        proba = detector.predict_proba(frame)
    return proba.add_prefix(prefix).reindex(frame.index)
