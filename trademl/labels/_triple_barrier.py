"""Triple-barrier labels (López de Prado, *Advances in Financial ML*, ch. 3), vectorised."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd
from numpy.lib.stride_tricks import sliding_window_view

from trademl.errors import DataError
from trademl.labels._base import (
    Labels,
    check_horizon,
    close_prices,
    end_timestamps,
    rolling_volatility,
)

__all__ = ["triple_barrier"]

BARRIERS = np.array(["", "profit_take", "stop_loss", "vertical"], dtype=object)
# rows x horizon cells per chunk: bounds memory at ~100 MB whatever the horizon
_CELLS_PER_CHUNK = 4_000_000


def triple_barrier(
    ohlcv: pd.DataFrame | pd.Series,
    horizon: int = 24,
    *,
    profit_take: float | None = 1.0,
    stop_loss: float | None = 1.0,
    vol_window: int = 100,
    touch: Literal["close", "high_low"] = "close",
    vertical: Literal["sign", "zero"] = "sign",
) -> Labels:
    """Which of three barriers the price meets first after bar t.

    Barriers sit at ``+profit_take`` and ``-stop_loss`` times the target move: the causal
    rolling per-bar log-return volatility at t times sqrt(horizon). The vertical barrier is
    ``horizon`` bars later. Label 1 = profit-take hit first, -1 = stop-loss hit first; at
    the vertical barrier the label is the sign of the return (``vertical="sign"``) or 0.
    Tie rule: with ``vertical="sign"`` the labels stay binary (-1/+1); a return of exactly
    zero at the vertical barrier is "not up" and labelled -1, as in ``direction``'s binary
    labels. ``vertical="zero"`` is the three-class labelling (-1/0/+1) by design.
    ``touch="high_low"`` checks intrabar highs/lows; when one bar crosses both barriers
    the stop-loss is assumed first (the conservative reading).
    A barrier set to None is disabled. ``end`` is the bar at which the label became known
    (the touch bar); ``details`` has ``barrier``, ``return`` and ``bars``. Rows whose
    full window or volatility is not yet available are NaN.
    """
    horizon = check_horizon(horizon)
    for name, value in (("profit_take", profit_take), ("stop_loss", stop_loss)):
        if value is not None and (not np.isfinite(value) or value <= 0):
            raise ValueError(f"{name} must be > 0 or None, but got {name}={value!r}")
    if touch not in ("close", "high_low"):
        raise ValueError(f"touch must be 'close' or 'high_low', but got touch={touch!r}")
    if vertical not in ("sign", "zero"):
        raise ValueError(f"vertical must be 'sign' or 'zero', but got vertical={vertical!r}")

    close = close_prices(ohlcv)
    log_close = np.log(close.to_numpy())
    if touch == "high_low":
        if not isinstance(ohlcv, pd.DataFrame) or not {"high", "low"} <= set(ohlcv.columns):
            raise DataError("touch='high_low' needs 'high' and 'low' columns")
        log_high = np.log(ohlcv["high"].to_numpy(dtype="float64"))
        log_low = np.log(ohlcv["low"].to_numpy(dtype="float64"))
    else:
        log_high = log_low = log_close
    target = rolling_volatility(close, vol_window).to_numpy() * np.sqrt(horizon)

    n = len(close)
    label = np.full(n, np.nan)
    ret = np.full(n, np.nan)
    bars = np.full(n, -1, dtype=np.int64)
    kind = np.zeros(n, dtype=np.int8)
    n_full = max(n - horizon, 0)  # rows with all `horizon` future bars present
    chunk = max(1, _CELLS_PER_CHUNK // horizon)
    upper_mult = np.inf if profit_take is None else profit_take
    lower_mult = np.inf if stop_loss is None else stop_loss
    for start in range(0, n_full, chunk):
        stop = min(start + chunk, n_full)
        rows = slice(start, stop)
        base = log_close[rows, None]
        # window j covers bars t+1 .. t+horizon
        close_path = sliding_window_view(log_close[1:], horizon)[rows] - base
        if touch == "close":
            up_path = down_path = close_path
        else:
            up_path = sliding_window_view(log_high[1:], horizon)[rows] - base
            down_path = sliding_window_view(log_low[1:], horizon)[rows] - base
        tgt = target[rows, None]
        up_hit = (up_path >= upper_mult * tgt) & (up_path > 0)
        down_hit = (down_path <= -lower_mult * tgt) & (down_path < 0)
        first_up = np.where(up_hit.any(axis=1), up_hit.argmax(axis=1), horizon)
        first_down = np.where(down_hit.any(axis=1), down_hit.argmax(axis=1), horizon)
        is_down = (first_down <= first_up) & (first_down < horizon)
        is_up = (first_up < first_down) & (first_up < horizon)
        step = np.minimum(np.minimum(first_up, first_down), horizon - 1)
        vertical_ret = close_path[:, -1]
        if touch == "close":
            # the realised return at the touch bar (or at the vertical barrier)
            chunk_ret = close_path[np.arange(stop - start), step]
        else:
            # an intrabar touch is assumed filled at the barrier itself
            chunk_ret = np.where(
                is_up,
                upper_mult * tgt[:, 0],
                np.where(is_down, -lower_mult * tgt[:, 0], vertical_ret),
            )
        # binary: a flat vertical return is "not up" (-1), never a third class
        vertical_label = np.where(vertical_ret > 0, 1.0, -1.0) if vertical == "sign" else 0.0
        label[rows] = np.where(is_up, 1.0, np.where(is_down, -1.0, vertical_label))
        ret[rows] = chunk_ret
        bars[rows] = step + 1
        kind[rows] = np.where(is_up, 1, np.where(is_down, 2, 3))

    unknown = ~np.isfinite(target) | (np.arange(n) >= n_full)
    label[unknown] = np.nan
    ret[unknown] = np.nan
    bars[unknown] = -1
    kind[unknown] = 0
    end_pos = np.where(unknown, -1, np.arange(n) + bars)
    end = end_timestamps(close.index, end_pos)
    details = pd.DataFrame(
        {
            "barrier": pd.Categorical(
                BARRIERS[kind], categories=["profit_take", "stop_loss", "vertical"]
            ),
            "return": ret,
            "bars": bars,
            "known_at": end,
        },
        index=close.index,
    )
    return Labels(
        values=pd.Series(label, index=close.index, name=f"triple_barrier_{horizon}"),
        end=end,
        kind="triple_barrier",
        horizon=horizon,
        details=details,
    )
