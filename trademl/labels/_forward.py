"""Forward return over a fixed horizon of bars."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trademl.labels._base import Labels, check_horizon, close_prices, end_timestamps

__all__ = ["forward_return"]


def forward_return(
    ohlcv: pd.DataFrame | pd.Series,
    horizon: int = 1,
    *,
    kind: Literal["simple", "log"] = "log",
) -> Labels:
    """Return from the close of bar t to the close of bar t+horizon.

    The horizon counts bars, not clock time: across an exchange outage the label spans
    more hours, and ``end`` records the real timestamp so purging stays exact.
    The last ``horizon`` rows are NaN.
    """
    horizon = check_horizon(horizon)
    if kind not in ("simple", "log"):
        raise ValueError(f"kind must be 'simple' or 'log', but got kind={kind!r}")
    close = close_prices(ohlcv)
    values = _forward_log_return(close.to_numpy(), horizon)
    if kind == "simple":
        values = np.expm1(values)
    n = len(close)
    end_pos = np.where(np.arange(n) + horizon < n, np.arange(n) + horizon, -1)
    return Labels(
        values=pd.Series(values, index=close.index, name=f"fwd_{kind}_return_{horizon}"),
        end=end_timestamps(close.index, end_pos),
        kind="forward_return",
        horizon=horizon,
    )


def _forward_log_return(close: np.ndarray, horizon: int) -> np.ndarray:
    out = np.full(len(close), np.nan)
    if len(close) > horizon:
        out[:-horizon] = np.log(close[horizon:] / close[:-horizon])
    return out
