"""From model outputs to target positions, and the simple fee-aware strategy return.

The strategy return here is the honest minimum used to score tuning trials: hold the
signal decided at bar t's close over bar t+1, pay ``fee_bp`` on every unit of position
change. The full backtest (``trademl.backtest``) replaces it for the final report.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

__all__ = ["prob_up", "signal_from_predictions", "strategy_returns", "turnover"]


def prob_up(proba: np.ndarray, classes: np.ndarray) -> np.ndarray:
    """P(up): the probability of the highest class (+1 of -1/+1, 1 of 0/1, +1 of -1/0/+1)."""
    return np.asarray(proba)[:, int(np.argmax(classes))]


def signal_from_predictions(
    prediction: np.ndarray,
    proba: np.ndarray | None = None,
    classes: np.ndarray | None = None,
    *,
    threshold: float = 0.5,
    position: Literal["long_short", "long_only"] = "long_short",
) -> np.ndarray:
    """Target position per row: -1, 0 or +1.

    Classifiers: long when P(up) > threshold, short when P(down) > threshold (the lowest
    class), else flat. Regressors: the sign of the predicted return.
    """
    if proba is not None and classes is not None:
        proba = np.asarray(proba)
        p_up = proba[:, int(np.argmax(classes))]
        p_down = proba[:, int(np.argmin(classes))]
        signal = np.where(p_up > threshold, 1, np.where(p_down > threshold, -1, 0))
    else:
        signal = np.sign(np.asarray(prediction, dtype=float)).astype(int)
    if position == "long_only":
        signal = np.maximum(signal, 0)
    return signal.astype(np.int8)


def _position_changes(signal: np.ndarray, groups: np.ndarray | None) -> np.ndarray:
    """|Δposition| per row, the first row of each group entering from flat."""
    s = pd.Series(np.asarray(signal, dtype=float))
    if groups is None:
        return s.diff().fillna(s).abs().to_numpy()
    g = pd.Series(np.asarray(groups))
    return s.groupby(g.to_numpy()).diff().fillna(s).abs().to_numpy()


def turnover(signal: np.ndarray, groups: np.ndarray | None = None) -> float:
    """Mean absolute position change per row (0 = never trades, 2 = flips every bar)."""
    if len(signal) == 0:
        return 0.0
    return float(_position_changes(signal, groups).mean())


def strategy_returns(
    signal: np.ndarray,
    next_return: np.ndarray,
    *,
    fee_bp: float = 10.0,
    groups: np.ndarray | None = None,
    timestamps: pd.Index | None = None,
) -> pd.Series:
    """Per-bar strategy returns net of fees; several symbols are averaged per timestamp.

    ``next_return`` is the simple return from bar t's close to bar t+1's close, so the
    position decided with bar t's information earns only the future bar.
    """
    signal = np.asarray(signal, dtype=float)
    gross = signal * np.asarray(next_return, dtype=float)
    net = gross - _position_changes(signal, groups) * fee_bp / 1e4
    series = pd.Series(net, index=timestamps)
    if groups is not None and timestamps is not None:
        series = series.groupby(level=0).mean()
    return series
