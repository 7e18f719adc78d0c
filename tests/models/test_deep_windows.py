"""The lazy window index: per symbol, never across a gap, padded causally, one copy of X."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.errors import DataError
from trademl.models.deep._windows import SlidingWindows, bar_interval, row_groups


def _panel(n: int = 30, drop: tuple[int, ...] = ()) -> pd.DataFrame:
    """Two symbols interleaved by timestamp (as the pipeline stacks them), symbol one-hots."""
    stamps = pd.date_range("2024-01-01", periods=n, freq="h", tz="UTC")
    parts = []
    for k in range(2):
        frame = pd.DataFrame(
            {"value": np.arange(n) + 1000 * k, "symbol=AAA": float(k == 0), "symbol=BBB": float(k)},
            index=stamps,
        )
        if k == 0 and drop:
            frame = frame.drop(stamps[list(drop)])
        parts.append(frame)
    both = pd.concat(parts)
    order = np.lexsort((both["symbol=BBB"].to_numpy(), both.index.asi8))
    return both.iloc[order]


def _build(X: pd.DataFrame, window: int, **kw) -> SlidingWindows:
    groups, _ = row_groups(X)
    return SlidingWindows.build(
        X, X.to_numpy(float), window=window, interval=bar_interval(X.index, groups), **kw
    )


def test_windows_stay_inside_their_symbol_and_end_at_the_row():
    X = _panel()
    windows = _build(X, window=5)
    batch = windows.gather(np.arange(len(X)))
    assert batch.shape == (len(X), 5, X.shape[1])
    assert windows.values.shape == X.shape  # one copy of the matrix, not N x W x F
    for row in range(len(X)):
        own = batch[row, :, 0]
        assert own[-1] == X["value"].iloc[row]  # the window ends at its own row
        assert np.all(own // 1000 == X["value"].iloc[row] // 1000)  # one symbol only
        assert np.all(np.diff(own) >= 0)  # nothing after the row is read


def test_first_rows_of_a_run_are_padded_with_the_runs_first_row():
    X = _panel()
    windows = _build(X, window=4)
    first_bbb = int(np.flatnonzero(X["value"].to_numpy() == 1001)[0])  # BBB's 2nd bar
    assert windows.gather(np.array([first_bbb]))[0, :, 0].tolist() == [1000, 1000, 1000, 1001]
    assert windows.full(np.array([first_bbb])).tolist() == [False]


def test_a_gap_starts_a_new_run_unless_gaps_are_allowed():
    X = _panel(drop=(10,))  # AAA misses its 11th bar
    after_gap = int(np.flatnonzero(X["value"].to_numpy() == 12)[0])
    strict = _build(X, window=4).gather(np.array([after_gap]))[0, :, 0]
    assert strict.tolist() == [11, 11, 11, 12]  # never reaches back across the gap
    spanning = _build(X, window=4, allow_gaps=True).gather(np.array([after_gap]))[0, :, 0]
    assert spanning.tolist() == [8, 9, 11, 12]


def test_repeated_timestamps_without_symbol_columns_are_refused():
    X = _panel().drop(columns=["symbol=AAA", "symbol=BBB"])
    with pytest.raises(DataError, match="repeated timestamps .* no symbol"):
        row_groups(X)
