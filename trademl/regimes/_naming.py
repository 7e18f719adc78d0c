"""How regimes are named: by rank of mean return, so names mean the same on every fit.

States are ordered from the highest mean return to the lowest, then named

- 2 regimes: ``bull``, ``bear``
- 3 regimes: ``bull``, ``sideways``, ``bear``
- n >= 4: ``bull``, ``mid_1``, …, ``mid_{n-2}``, ``bear``

(the same rule ``trademl.data.synthetic.default_process`` uses for its true regimes).
"""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment

__all__ = ["match_regimes", "regime_names"]


def regime_names(n_regimes: int) -> list[str]:
    """Names for ``n_regimes`` states listed from the highest mean return to the lowest."""
    n = int(n_regimes)
    if n < 2:
        raise ValueError(f"a regime model needs at least 2 regimes, but got {n_regimes=}")
    if n == 2:
        return ["bull", "bear"]
    if n == 3:
        return ["bull", "sideways", "bear"]
    return ["bull", *(f"mid_{i}" for i in range(1, n - 1)), "bear"]


def match_regimes(true: np.ndarray, predicted: np.ndarray) -> tuple[dict[int, int], float]:
    """Best one-to-one relabelling of ``predicted`` onto ``true`` (Hungarian algorithm).

    Returns ``(mapping predicted -> true, accuracy after relabelling)``. Used to score a
    detector against known regimes without trusting its names.
    """
    true = np.asarray(true, dtype=np.int64)
    predicted = np.asarray(predicted, dtype=np.int64)
    if true.shape != predicted.shape:
        raise ValueError(f"true and predicted differ in length: {true.shape} vs {predicted.shape}")
    size = int(max(true.max(initial=0), predicted.max(initial=0))) + 1
    confusion = np.zeros((size, size), dtype=np.int64)
    np.add.at(confusion, (predicted, true), 1)
    rows, cols = linear_sum_assignment(-confusion)
    mapping = {int(r): int(c) for r, c in zip(rows, cols, strict=True)}
    accuracy = confusion[rows, cols].sum() / max(len(true), 1)
    return mapping, float(accuracy)
