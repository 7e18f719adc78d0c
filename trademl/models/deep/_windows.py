"""Sliding windows over a feature matrix, built lazily per symbol and per contiguous run.

The estimator receives rows of bars (several symbols interleaved by timestamp, as the
pipeline stacks them). ``SlidingWindows`` keeps ONE copy of the matrix, re-ordered by
(symbol, time), and for each row the position where its contiguous run starts. A batch of
windows is gathered on demand (``gather``), so memory is N×F, never N×W×F.

A window never crosses from one symbol into another, and never spans a data gap (two
consecutive rows of a symbol further apart than one bar) unless ``allow_gaps``: the
first ``window - 1`` rows of a run see a window padded by repeating the run's first row
(still causal: nothing after the row is ever read).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trademl.errors import DataError

# the pipeline's pooled multi-symbol matrix marks each row's symbol with one-hot columns
from trademl.package.recipe import SYMBOL_PREFIX

__all__ = ["SlidingWindows", "bar_interval", "row_groups"]


def row_groups(X: pd.DataFrame) -> tuple[np.ndarray, list[str]]:
    """Each row's symbol (as a code) and the symbol names, read from ``symbol=NAME`` columns.

    A matrix without those columns is one symbol; repeated timestamps then mean the caller
    stacked several symbols without saying which row is which, which is refused.
    """
    onehot = [c for c in X.columns if str(c).startswith(SYMBOL_PREFIX)]
    if onehot:
        values = X[onehot].to_numpy(dtype=float)
        if not np.all(values.sum(axis=1) == 1):
            bad = int(np.flatnonzero(values.sum(axis=1) != 1)[0])
            raise DataError(f"X row {bad}: the symbol=... columns must mark exactly one symbol")
        names = [str(c)[len(SYMBOL_PREFIX) :] for c in onehot]
        return values.argmax(axis=1), names
    if isinstance(X.index, pd.DatetimeIndex) and X.index.has_duplicates:
        first = X.index[X.index.duplicated()][0]
        raise DataError(
            f"X has repeated timestamps (first {first}) but no symbol=... columns: a sequence "
            "model needs to know which rows belong to which symbol"
        )
    return np.zeros(len(X), dtype=np.int64), [""]


def bar_interval(index: pd.Index, groups: np.ndarray) -> int | None:
    """The most common step between consecutive rows of a symbol, in nanoseconds."""
    if not isinstance(index, pd.DatetimeIndex) or len(index) < 2:
        return None
    stamps = index.asi8
    steps = []
    for g in np.unique(groups):
        steps.append(np.diff(stamps[groups == g]))
    steps = np.concatenate(steps) if steps else np.empty(0, dtype=np.int64)
    steps = steps[steps > 0]
    if len(steps) == 0:
        return None
    values, counts = np.unique(steps, return_counts=True)
    return int(values[np.argmax(counts)])


@dataclass
class SlidingWindows:
    """Windows of ``window`` rows ending at each row, gathered lazily in batches."""

    values: np.ndarray  # (N, F) float32, rows sorted by (symbol, time)
    run_start: np.ndarray  # (N,) sorted position where each row's contiguous run begins
    position: np.ndarray  # (N,) original row -> sorted position
    window: int

    @classmethod
    def build(
        cls,
        X: pd.DataFrame,
        values: np.ndarray,
        *,
        window: int,
        interval: int | None,
        allow_gaps: bool = False,
    ) -> SlidingWindows:
        """Windows over ``values`` (rows of ``X`` already scaled), split by symbol and gap."""
        groups, names = row_groups(X)
        stamps = (
            X.index.asi8
            if isinstance(X.index, pd.DatetimeIndex)
            else np.arange(len(X), dtype=np.int64)
        )
        order = np.lexsort((stamps, groups))
        sorted_groups, sorted_stamps = groups[order], stamps[order]
        new_run = np.ones(len(order), dtype=bool)
        if len(order) > 1:
            same = sorted_groups[1:] == sorted_groups[:-1]
            step = np.diff(sorted_stamps)
            if np.any(same & (step <= 0)):
                at = int(np.flatnonzero(same & (step <= 0))[0]) + 1
                raise DataError(
                    f"X: symbol {names[sorted_groups[at]] or '(single)'} has a repeated or "
                    f"unsorted timestamp at {X.index[order[at]]}"
                )
            gap = np.zeros_like(same)
            if interval is not None and not allow_gaps:
                gap = step > interval
            new_run[1:] = ~same | gap
        starts = np.flatnonzero(new_run)
        run_start = starts[np.cumsum(new_run) - 1]
        position = np.empty(len(order), dtype=np.int64)
        position[order] = np.arange(len(order))
        return cls(
            values=np.ascontiguousarray(values[order], dtype=np.float32),
            run_start=run_start.astype(np.int64),
            position=position,
            window=int(window),
        )

    def __len__(self) -> int:
        return len(self.position)

    @property
    def n_features(self) -> int:
        return self.values.shape[1]

    def full(self, rows: np.ndarray) -> np.ndarray:
        """Which of ``rows`` have a whole window of their own run behind them."""
        pos = self.position[rows]
        return pos - self.run_start[pos] >= self.window - 1

    def gather(self, rows: np.ndarray) -> np.ndarray:
        """(len(rows), window, F) float32: the window ending at each of ``rows``."""
        pos = self.position[np.asarray(rows, dtype=np.int64)]
        offsets = np.arange(1 - self.window, 1, dtype=np.int64)
        index = np.maximum(pos[:, None] + offsets[None, :], self.run_start[pos][:, None])
        return self.values[index]
