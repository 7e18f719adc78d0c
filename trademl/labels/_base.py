"""The ``Labels`` object every labeller returns, and the input checks they share."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["Labels"]


@dataclass(frozen=True)
class Labels:
    """Targets plus the span of bars each target looks at.

    ``values`` is NaN where the future is not yet known (the last bars); such rows are
    dropped before training, never filled. ``end`` is the timestamp of the last bar a
    label reads (NaT where ``values`` is NaN): splitters purge training samples whose
    span ``[timestamp, end]`` meets a test span. ``details`` holds extra per-row columns
    (barrier hit, realised return, chosen window, ...) for labellers that have them.
    """

    values: pd.Series
    end: pd.Series
    kind: str
    horizon: int
    details: pd.DataFrame | None = None

    def __len__(self) -> int:
        return len(self.values)

    @property
    def known(self) -> pd.Series:
        """Boolean mask of rows whose label is known."""
        return self.values.notna()

    def dropna(self) -> Labels:
        """Only the rows whose label is known (what a model may train on)."""
        mask = self.known.to_numpy()
        details = None if self.details is None else self.details.loc[mask]
        return Labels(self.values[mask], self.end[mask], self.kind, self.horizon, details)

    def sample_weights(self) -> pd.Series:
        """Average-uniqueness weights of the known rows (see ``uniqueness_weights``)."""
        from trademl.labels._weights import uniqueness_weights

        return uniqueness_weights(self)

    def to_frame(self) -> pd.DataFrame:
        frame = pd.DataFrame({"label": self.values, "end": self.end})
        if self.details is not None:
            frame = frame.join(self.details)
        return frame


def close_prices(ohlcv: pd.DataFrame | pd.Series) -> pd.Series:
    """The ``close`` column (or the series itself) as float64, checked where it arrives."""
    if isinstance(ohlcv, pd.DataFrame):
        if "close" not in ohlcv.columns:
            raise DataError(f"labels need a 'close' column; got columns {list(ohlcv.columns)}")
        close = ohlcv["close"]
    elif isinstance(ohlcv, pd.Series):
        close = ohlcv
    else:
        raise DataError(f"labels need an OHLCV DataFrame or a close Series, got {type(ohlcv)}")
    check_index(close.index)
    close = close.astype("float64")
    bad = ~np.isfinite(close.to_numpy()) | (close.to_numpy() <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"close must be finite and > 0; row {row} ({close.index[row]}) is {close.iloc[row]}"
            f" ({int(bad.sum())} bad rows in total)"
        )
    return close


def check_index(index: pd.Index) -> None:
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"labels need a DatetimeIndex, got {type(index).__name__}")
    if not index.is_monotonic_increasing or index.has_duplicates:
        raise DataError("labels need a sorted index without duplicate timestamps")


def check_horizon(horizon: int, name: str = "horizon") -> int:
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ValueError(f"{name} must be an int >= 1 (bars), but got {name}={horizon!r}")
    return int(horizon)


def end_timestamps(index: pd.DatetimeIndex, end_pos: np.ndarray) -> pd.Series:
    """Map end positions (-1 = unknown) to timestamps (NaT), indexed like ``index``."""
    end = pd.Series(pd.NaT, index=index, dtype=index.dtype, name="end")
    known = end_pos >= 0
    end.iloc[np.flatnonzero(known)] = index[end_pos[known]]
    return end


def rolling_volatility(close: pd.Series, window: int) -> pd.Series:
    """Causal per-bar volatility: std of the last ``window`` log returns (bars <= t)."""
    window = check_horizon(window, "vol_window")
    if window < 2:
        raise ValueError(f"vol_window must be >= 2 bars, but got vol_window={window}")
    log_ret = np.log(close).diff()
    return log_ret.rolling(window, min_periods=window).std()
