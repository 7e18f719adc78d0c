"""The final out-of-sample holdout: the last part of the data, never touched while tuning."""

from __future__ import annotations

import math

import numpy as np

from trademl.validation._base import _num_samples, label_end_positions, purge_and_embargo

__all__ = ["holdout_split"]


def holdout_split(
    X, fraction: float, *, horizon=None, label_end=None
) -> tuple[np.ndarray, np.ndarray]:
    """(development indices, holdout indices): the last ``fraction`` of samples is held out.

    Development samples whose labels reach into the holdout are purged, so the holdout
    score is as clean as a live test.
    """
    if not 0 < fraction < 1:
        raise ValueError(f"fraction must be between 0 and 1, but got {fraction=}")
    n = _num_samples(X)
    n_holdout = math.ceil(n * fraction)
    if n_holdout >= n:
        raise ValueError(f"fraction={fraction} leaves no development data in {n} samples")
    end = label_end_positions(X, n, horizon=horizon, label_end=label_end)
    fold = purge_and_embargo(
        0, n, end, [(0, n - n_holdout)], [(n - n_holdout, n)], 0, bool(np.all(np.diff(end) >= 0))
    )
    return fold.train, fold.test
