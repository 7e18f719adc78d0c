"""Direction classes: up/down, or up/flat/down with a dead zone."""

from __future__ import annotations

from typing import Literal

import numpy as np
import pandas as pd

from trademl.labels._base import Labels, check_horizon, close_prices, rolling_volatility
from trademl.labels._forward import forward_return

__all__ = ["direction"]


def direction(
    ohlcv: pd.DataFrame | pd.Series,
    horizon: int = 1,
    *,
    classes: Literal["binary", "ternary"] = "binary",
    dead_zone: float | None = None,
    dead_zone_vol: float | None = None,
    vol_window: int = 100,
) -> Labels:
    """Sign of the forward log return over ``horizon`` bars.

    ``binary``: 1 = up (return > 0), 0 = not up — 0/1 so that ``predict_proba[:, 1]`` is
    P(up) for every classifier. ``ternary``: 1 = up, 0 = flat, -1 = down, where flat means
    ``|return| <= dead zone``. The dead zone is either a fixed log-return ``dead_zone`` or
    ``dead_zone_vol`` times the causal rolling per-bar volatility at t scaled by
    sqrt(horizon) (so it widens in turbulent markets). ``details`` keeps the return and
    the threshold used.
    """
    horizon = check_horizon(horizon)
    if classes not in ("binary", "ternary"):
        raise ValueError(f"classes must be 'binary' or 'ternary', but got classes={classes!r}")
    if classes == "binary" and (dead_zone is not None or dead_zone_vol is not None):
        raise ValueError("a dead zone needs classes='ternary' (binary labels have no flat class)")
    if classes == "ternary":
        if (dead_zone is None) == (dead_zone_vol is None):
            raise ValueError(
                "classes='ternary' needs exactly one of dead_zone (fixed) or dead_zone_vol "
                f"(multiple of volatility), but got {dead_zone=} and {dead_zone_vol=}"
            )
        width = dead_zone if dead_zone is not None else dead_zone_vol
        if not np.isfinite(width) or width < 0:
            name = "dead_zone" if dead_zone is not None else "dead_zone_vol"
            raise ValueError(f"{name} must be a finite number >= 0, but got {name}={width!r}")

    close = close_prices(ohlcv)
    fwd = forward_return(close, horizon, kind="log")
    ret = fwd.values.to_numpy()
    known = np.isfinite(ret)
    if classes == "binary":
        threshold = np.zeros(len(ret))
        values = np.where(ret > 0, 1.0, 0.0)
    else:
        if dead_zone is not None:
            threshold = np.full(len(ret), float(dead_zone))
        else:
            vol = rolling_volatility(close, vol_window).to_numpy()
            threshold = dead_zone_vol * vol * np.sqrt(horizon)
        known &= np.isfinite(threshold)
        values = np.where(ret > threshold, 1.0, np.where(ret < -threshold, -1.0, 0.0))
    values[~known] = np.nan
    end = fwd.end.where(known)
    details = pd.DataFrame({"return": ret, "threshold": threshold}, index=close.index)
    return Labels(
        values=pd.Series(values, index=close.index, name=f"direction_{horizon}"),
        end=end,
        kind="direction",
        horizon=horizon,
        details=details,
    )
