"""Combinatorial purged cross-validation (López de Prado, AFML ch. 12)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import combinations
from math import comb

import numpy as np

from trademl.validation._base import Block, PurgedSplitter, _positive_int
from trademl.validation._purged_kfold import fold_bounds

__all__ = ["CombinatorialPurgedCV"]


class CombinatorialPurgedCV(PurgedSplitter):
    """N contiguous groups; every choice of k of them is a test set (C(N, k) splits).

    Each group is tested C(N-1, k-1) times, which yields φ = k/N·C(N, k) = C(N-1, k-1)
    complete out-of-sample backtest paths (``backtest_paths``, ``reconstruct_paths``)
    instead of the single path of walk-forward, so a strategy gets a distribution of
    Sharpe ratios rather than one number.

    Parameters
    ----------
    n_groups : N, number of contiguous groups (>= 2).
    n_test_groups : k, groups per test set (1 <= k < N).
    horizon, label_end, embargo : as in ``PurgedKFold``; each test group (or run of
        adjacent test groups) is purged and embargoed on its own.
    """

    def __init__(self, n_groups=6, n_test_groups=2, *, horizon=None, label_end=None, embargo=0):
        self.n_groups = n_groups
        self.n_test_groups = n_test_groups
        self.horizon = horizon
        self.label_end = label_end
        self.embargo = embargo

    def _check(self) -> tuple[int, int]:
        n = _positive_int(self.n_groups, "n_groups", 2)
        k = _positive_int(self.n_test_groups, "n_test_groups", 1)
        if k >= n:
            raise ValueError(f"n_test_groups must be < n_groups, but got {k=} and n_groups={n}")
        return n, k

    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        n, k = self._check()
        return comb(n, k)

    def get_n_paths(self) -> int:
        """φ = k/N·C(N, k): how many full backtest paths the splits reconstruct."""
        n, k = self._check()
        return comb(n - 1, k - 1)

    def test_groups(self) -> list[tuple[int, ...]]:
        """The test groups of each split, in split order."""
        n, k = self._check()
        return list(combinations(range(n), k))

    def backtest_paths(self) -> np.ndarray:
        """Array (n_paths, n_groups): which split's predictions fill each group of each path.

        Group g is tested by several splits; path p takes the p-th of them, so each
        path covers every group exactly once and each split's test predictions are
        used exactly once per test group.
        """
        n, _ = self._check()
        paths = np.empty((self.get_n_paths(), n), dtype=np.int64)
        seen = np.zeros(n, dtype=np.int64)
        for split, groups in enumerate(self.test_groups()):
            for g in groups:
                paths[seen[g], g] = split
                seen[g] += 1
        return paths

    def reconstruct_paths(
        self, split_predictions: Sequence[np.ndarray], n_samples: int
    ) -> np.ndarray:
        """Stitch per-split test predictions into (n_paths, n_samples) backtest paths.

        ``split_predictions[s]`` holds the predictions for split s's test indices, in the
        order ``split`` yielded them.
        """
        n_groups, _ = self._check()
        if len(split_predictions) != self.get_n_splits():
            raise ValueError(
                f"expected predictions for {self.get_n_splits()} splits, "
                f"got {len(split_predictions)}"
            )
        bounds = fold_bounds(n_samples, n_groups)
        # offset of each group inside each split's concatenated test indices
        offsets = []
        for split, groups in enumerate(self.test_groups()):
            sizes = [bounds[g + 1] - bounds[g] for g in groups]
            expected = sum(sizes)
            if len(split_predictions[split]) != expected:
                raise ValueError(
                    f"split {split} has {len(split_predictions[split])} predictions, "
                    f"expected {expected} (its test size)"
                )
            starts = np.concatenate([[0], np.cumsum(sizes)])
            offsets.append(dict(zip(groups, starts[:-1], strict=True)))
        paths = self.backtest_paths()
        dtype = np.result_type(*[np.asarray(p).dtype for p in split_predictions])
        out = np.empty((len(paths), n_samples), dtype=dtype)
        for p, row in enumerate(paths):
            for g, split in enumerate(row):
                a, b = bounds[g], bounds[g + 1]
                off = offsets[split][g]
                out[p, a:b] = np.asarray(split_predictions[split])[off : off + (b - a)]
        return out

    def _iter_blocks(self, n_samples: int) -> Iterator[tuple[list[Block], list[Block]]]:
        n, _ = self._check()
        if n > n_samples:
            raise ValueError(f"n_groups={n} is more than the {n_samples} samples")
        bounds = fold_bounds(n_samples, n)
        for groups in self.test_groups():
            yield [(0, n_samples)], _merge([(int(bounds[g]), int(bounds[g + 1])) for g in groups])


def _merge(blocks: list[Block]) -> list[Block]:
    """Join adjacent test groups so purging and embargo act on the run as a whole."""
    merged = [blocks[0]]
    for start, stop in blocks[1:]:
        if start == merged[-1][1]:
            merged[-1] = (merged[-1][0], stop)
        else:
            merged.append((start, stop))
    return merged
