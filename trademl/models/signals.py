"""From model outputs to target positions (-1/0/+1).

Positions become returns in one place only, the backtest engine (``trademl.backtest``):
tuning, the holdout and monitoring all score through it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np

__all__ = ["prob_up", "signal_from_predictions"]


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
