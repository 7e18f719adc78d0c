"""The base of every trademl splitter: purging by label spans and embargo after test.

A subclass says only which blocks of positions are test and which are candidate
training (``_iter_blocks``) and how many splits it makes (``get_n_splits``); this base
removes every candidate training sample whose label span ``[i, end_i]`` meets a test
sample's span (purging) and the ``embargo`` samples that follow the last bar read by a
test block (embargo: features there still echo the test period).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import BaseCrossValidator

__all__ = ["Fold", "PurgedSplitter", "label_end_positions"]

Block = tuple[int, int]  # half-open [start, stop) range of sample positions


@dataclass(frozen=True)
class Fold:
    """One split with its bookkeeping: how many candidate training samples were removed."""

    number: int
    train: np.ndarray
    test: np.ndarray
    purged: int
    embargoed: int


class PurgedSplitter(BaseCrossValidator):
    """scikit-learn cross-validator that purges and embargoes by label spans.

    Subclasses set ``horizon`` (bars each label looks ahead), ``label_end`` (timestamps
    of each label's last bar, e.g. ``Labels.end``, mapped onto X's DatetimeIndex) and
    ``embargo`` (bars) in ``__init__`` and implement ``get_n_splits`` and ``_iter_blocks``.
    """

    horizon: int | None
    label_end: object
    embargo: int

    @abstractmethod
    def get_n_splits(self, X=None, y=None, groups=None) -> int:
        """Number of splits this splitter yields."""

    @abstractmethod
    def _iter_blocks(self, n_samples: int) -> Iterator[tuple[list[Block], list[Block]]]:
        """Yield (candidate train blocks, test blocks) before purging, per split."""

    def split(self, X, y=None, groups=None) -> Iterator[tuple[np.ndarray, np.ndarray]]:
        """Yield (train indices, test indices) lazily, one split at a time."""
        for fold in self.iter_folds(X):
            yield fold.train, fold.test

    def iter_folds(self, X) -> Iterator[Fold]:
        """Like ``split`` but each split comes with its purged and embargoed counts."""
        n = _num_samples(X)
        embargo = _non_negative_int(self.embargo, "embargo")
        end = label_end_positions(X, n, horizon=self.horizon, label_end=self.label_end)
        monotone = bool(np.all(end[1:] >= end[:-1])) if n > 1 else True
        for number, (train_blocks, test_blocks) in enumerate(self._iter_blocks(n)):
            yield purge_and_embargo(number, n, end, train_blocks, test_blocks, embargo, monotone)


def purge_and_embargo(
    number: int,
    n: int,
    end: np.ndarray,
    train_blocks: Sequence[Block],
    test_blocks: Sequence[Block],
    embargo: int,
    monotone: bool,
) -> Fold:
    mask = np.zeros(n, dtype=bool)
    for start, stop in train_blocks:
        mask[start:stop] = True
    for start, stop in test_blocks:
        mask[start:stop] = False
    purged = embargoed = 0
    reach = []  # last bar read by each test block
    for start, stop in test_blocks:
        last = int(end[start:stop].max())
        reach.append(last)
        # before the block: samples whose label runs into the block
        if monotone:
            first = int(np.searchsorted(end[:start], start, side="left"))
            purged += int(mask[first:start].sum())
            mask[first:start] = False
        else:
            hits = np.flatnonzero(end[:start] >= start)
            purged += int(mask[hits].sum())
            mask[hits] = False
        # after the block: samples that start inside the test labels' spans
        purged += int(mask[stop : last + 1].sum())
        mask[stop : last + 1] = False
    for last in reach:
        embargoed += int(mask[last + 1 : last + 1 + embargo].sum())
        mask[last + 1 : last + 1 + embargo] = False
    test = np.concatenate([np.arange(a, b) for a, b in test_blocks])
    train = np.flatnonzero(mask)
    if len(train) == 0:
        raise ValueError(
            f"split {number} has no training samples left after purging {purged} and "
            f"embargoing {embargoed} of them; use fewer splits, a shorter horizon or embargo"
        )
    return Fold(number, train, test, purged, embargoed)


def label_end_positions(X, n: int, *, horizon=None, label_end=None) -> np.ndarray:
    """Position of the last sample each label reads (>= its own position, <= n-1).

    ``horizon``: i + horizon. ``label_end``: integer positions, or timestamps (a Series or
    a ``Labels`` object's ``.end``) mapped onto the sample timestamps — X's DatetimeIndex
    (or the ``timestamp`` level of a (timestamp, symbol) MultiIndex), else label_end's own
    index — as the last sample at or before each end. An unknown end (NaT) is taken as
    the last sample. With neither, labels read only their own bar (no purging).

    Multi-symbol panels work when rows are sorted by time: position overlap is then
    exactly time overlap. ``horizon`` and ``embargo`` count rows, so panels should pass
    ``label_end``.
    """
    positions = np.arange(n)
    if horizon is not None and label_end is not None:
        raise ValueError("give horizon= or label_end=, not both")
    if label_end is None:
        h = 0 if horizon is None else _non_negative_int(horizon, "horizon")
        return np.minimum(positions + h, n - 1)
    if hasattr(label_end, "end") and hasattr(label_end, "values"):
        label_end = label_end.end  # a trademl.labels.Labels object
    x_index = getattr(X, "index", None)
    sample_times = _sample_times(x_index)
    if isinstance(label_end, pd.Series):
        if x_index is not None and label_end.index.equals(x_index):
            pass  # same rows in the same order
        elif isinstance(x_index, pd.DatetimeIndex) and isinstance(
            label_end.index, pd.DatetimeIndex
        ):
            missing = ~x_index.isin(label_end.index)
            if missing.any():
                row = int(np.flatnonzero(missing)[0])
                raise ValueError(
                    f"label_end has no entry for sample {row} ({x_index[row]}); "
                    "pass the label ends of the same rows as X"
                )
            label_end = label_end.reindex(x_index)
        elif sample_times is None:
            sample_times = _sample_times(label_end.index)
    values = np.asarray(label_end)
    if len(values) != n:
        raise ValueError(f"label_end has {len(values)} entries but X has {n} samples")
    if np.issubdtype(values.dtype, np.integer):
        end = values.astype(np.int64)
    else:
        if sample_times is None:
            raise ValueError(
                "label_end holds timestamps, so X (or label_end) needs a DatetimeIndex "
                "to map them onto sample positions"
            )
        if not sample_times.is_monotonic_increasing:
            raise ValueError(
                "X must be sorted by time to purge by label_end timestamps "
                "(multi-symbol panels: sort by timestamp, then symbol)"
            )
        ends = pd.DatetimeIndex(values)
        if ends.tz is None and sample_times.tz is not None:
            ends = ends.tz_localize(sample_times.tz)
        end = sample_times.searchsorted(ends, side="right") - 1
        end = np.where(ends.isna(), n - 1, end).astype(np.int64)
    bad = end < positions
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise ValueError(f"label_end of sample {row} lies before the sample itself")
    return np.minimum(end, n - 1)


def _sample_times(index) -> pd.DatetimeIndex | None:
    if isinstance(index, pd.DatetimeIndex):
        return index
    if isinstance(index, pd.MultiIndex):
        names = list(index.names)
        level = names.index("timestamp") if "timestamp" in names else 0
        times = index.get_level_values(level)
        return times if isinstance(times, pd.DatetimeIndex) else None
    return None


def _num_samples(X) -> int:
    if hasattr(X, "shape") and len(getattr(X, "shape", ())) > 0:
        return int(X.shape[0])
    if hasattr(X, "__len__"):
        return len(X)
    raise ValueError(f"X must be array-like with a length, got {type(X).__name__}")


def _non_negative_int(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
        raise ValueError(f"{name} must be an int >= 0 (bars), but got {name}={value!r}")
    return int(value)


def _positive_int(value, name: str, minimum: int = 1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an int >= {minimum}, but got {name}={value!r}")
    return int(value)
