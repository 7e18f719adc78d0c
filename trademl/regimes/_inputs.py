"""The observations a regime model sees, built causally from candles or given columns.

Built-in names (each a pure function of bars <= t):

- ``log_return``: log(close_t / close_{t-1})
- ``volatility``: rolling standard deviation of ``log_return`` over ``window`` bars
- ``volume_z``: z-score of log(1 + volume) against its trailing ``window`` bars
- ``range``: log(high_t / low_t), the bar's own range
- ``momentum``: log(close_t / close_{t-trend_window}), the trailing trend (slow: it is
  what separates bull from bear on hourly bars, where one bar's drift is lost in noise)

Any other name is taken as a column of the input frame (e.g. a generated feature).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["BUILTIN_INPUTS", "build_inputs", "log_returns", "refuse_constant_inputs"]

BUILTIN_INPUTS = ("log_return", "volatility", "volume_z", "range", "momentum")
_NEEDS = {
    "log_return": ("close",),
    "volatility": ("close",),
    "volume_z": ("volume",),
    "range": ("high", "low"),
    "momentum": ("close",),
}


def _require_frame(frame: object) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"expected a DataFrame of candles or features, got {type(frame).__name__}")
    if len(frame) == 0:
        raise DataError("the frame is empty: no bars to detect regimes on")
    return frame


def log_returns(frame: pd.DataFrame) -> pd.Series:
    close = frame["close"].astype(float)
    if (close <= 0).any():
        first = close.index[int(np.argmax((close <= 0).to_numpy()))]
        raise DataError(f"column 'close' must be > 0 for log returns, but row {first} is not")
    return np.log(close).diff()


def build_inputs(
    frame: pd.DataFrame, features: Sequence[str], window: int, trend_window: int = 720
) -> pd.DataFrame:
    """The observation columns for ``features``; NaN where a value is not yet known."""
    frame = _require_frame(frame)
    if isinstance(features, str) or len(features) == 0:
        raise ValueError(f"features must be a non-empty list of names, but got {features!r}")
    if int(window) < 2:
        raise ValueError(f"window must be >= 2 bars, but got {window=}")
    if int(trend_window) < 1:
        raise ValueError(f"trend_window must be >= 1 bar, but got {trend_window=}")
    columns: dict[str, pd.Series] = {}
    for name in features:
        needed = _NEEDS.get(name, (name,))
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            what = f"feature {name!r} needs column(s) {missing}" if name in _NEEDS else None
            raise DataError(
                (what or f"feature {name!r} is neither built in {BUILTIN_INPUTS} nor a column")
                + f"; the frame has {list(frame.columns)}"
            )
        if name == "log_return":
            columns[name] = log_returns(frame)
        elif name == "volatility":
            columns[name] = log_returns(frame).rolling(window, min_periods=window).std()
        elif name == "volume_z":
            log_volume = np.log1p(frame["volume"].astype(float).clip(lower=0.0))
            rolling = log_volume.rolling(window, min_periods=window)
            columns[name] = (log_volume - rolling.mean()) / rolling.std().replace(0.0, np.nan)
        elif name == "momentum":
            columns[name] = np.log(frame["close"].astype(float)).diff(int(trend_window))
        elif name == "range":
            columns[name] = np.log(frame["high"].astype(float) / frame["low"].astype(float))
        else:
            series = frame[name]
            if not pd.api.types.is_numeric_dtype(series):
                raise DataError(f"feature column {name!r} must be numeric, got {series.dtype}")
            columns[name] = series.astype(float)
    out = pd.DataFrame(columns, index=frame.index)
    return out.replace([np.inf, -np.inf], np.nan)


def refuse_constant_inputs(inputs: pd.DataFrame) -> None:
    """A fit on an input that never moves (flat prices) would "find" regimes in noise-free
    nothing and report them as converged: refuse it, naming the input."""
    for name in inputs.columns:
        values = inputs[name].dropna()
        if len(values) >= 2 and float(values.max() - values.min()) == 0.0:
            raise DataError(
                f"regime input {name!r} is constant ({float(values.iloc[0]):g}) over all "
                f"{len(values):,} bars (flat prices?): there are no regimes to find"
            )
