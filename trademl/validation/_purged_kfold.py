"""K contiguous test folds; training on the rest minus purged and embargoed samples."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np

from trademl.validation._base import Block, PurgedSplitter, _positive_int

__all__ = ["PurgedKFold"]


class PurgedKFold(PurgedSplitter):
    """K-fold without shuffling, purged by label spans and embargoed after each test fold.

    Parameters
    ----------
    n_splits : number of contiguous test folds (>= 2); each sample is tested once.
    horizon : bars each label looks ahead (label of sample i reads i .. i+horizon).
    label_end : instead of horizon, the end timestamp of each label (``Labels.end``).
    embargo : bars after the last bar read by a test fold that are not trained on.
    """

    def __init__(self, n_splits=5, *, horizon=None, label_end=None, embargo=0):
        self.n_splits = n_splits
        self.horizon = horizon
        self.label_end = label_end
        self.embargo = embargo

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        return self.n_splits

    def _iter_blocks(self, n_samples: int) -> Iterator[tuple[list[Block], list[Block]]]:
        k = _positive_int(self.n_splits, "n_splits", 2)
        if k > n_samples:
            raise ValueError(f"n_splits={k} is more than the {n_samples} samples")
        bounds = fold_bounds(n_samples, k)
        for i in range(k):
            yield [(0, n_samples)], [(int(bounds[i]), int(bounds[i + 1]))]


def fold_bounds(n_samples: int, k: int) -> np.ndarray:
    """Edges of k contiguous folds, sizes differing by at most one (like KFold)."""
    sizes = np.full(k, n_samples // k)
    sizes[: n_samples % k] += 1
    return np.concatenate([[0], np.cumsum(sizes)])
