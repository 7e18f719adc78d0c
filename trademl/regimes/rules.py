"""A transparent baseline: regimes from moving-average slope and volatility percentile.

- trend: change of the ``ma_window``-bar moving average of log close over
  ``slope_window`` bars, as a z-score: divided by its standard deviation if prices were
  a driftless random walk with the current rolling volatility. Above
  ``+trend_threshold`` is ``bull``, below ``-trend_threshold`` is ``bear``, otherwise
  ``sideways`` (so with the default 1.0 a pure random walk is labelled sideways about
  two thirds of the time).
- volatility: rolling volatility ranked against its own trailing ``percentile_window``
  bars; at or above ``high_vol_percentile`` the label gets a ``_volatile`` suffix
  (``label_volatility=True``), otherwise ``_calm``.

Every input is trailing, so labels are causal; the first bars (warm-up) are missing.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.regimes._inputs import log_returns

__all__ = ["rule_based_regimes"]


def rule_based_regimes(
    frame: pd.DataFrame,
    *,
    ma_window: int = 48,
    slope_window: int = 24,
    trend_threshold: float = 1.0,
    vol_window: int = 24,
    percentile_window: int = 24 * 90,
    high_vol_percentile: float = 0.8,
    label_volatility: bool = False,
) -> pd.Series:
    """Causal rule-based regime labels (``bull``/``sideways``/``bear`` [+ ``_calm``/``_volatile``])."""
    for name, value in {
        "ma_window": ma_window,
        "slope_window": slope_window,
        "vol_window": vol_window,
        "percentile_window": percentile_window,
    }.items():
        if int(value) < 2:
            raise ValueError(f"{name} must be >= 2 bars, but got {name}={value}")
    if not 0.0 < high_vol_percentile < 1.0:
        raise ValueError(f"high_vol_percentile must be in (0, 1), but got {high_vol_percentile=}")
    returns = log_returns(frame)
    log_close = np.log(frame["close"].astype(float))
    ma = log_close.rolling(ma_window, min_periods=ma_window).mean()
    vol = returns.rolling(vol_window, min_periods=vol_window).std()
    # MA_t - MA_{t-s} is a weighted sum of past returns; under a driftless random walk its
    # standard deviation is vol * sqrt(sum of squared weights)
    weights = np.convolve(np.ones(ma_window), np.ones(slope_window)) / ma_window
    null_std = vol * np.sqrt((weights**2).sum())
    strength = (ma - ma.shift(slope_window)) / null_std
    trend = np.select(
        [strength > trend_threshold, strength < -trend_threshold], ["bull", "bear"], "sideways"
    ).astype(object)
    known = strength.notna().to_numpy().copy()
    if label_volatility:
        rank = vol.rolling(percentile_window, min_periods=vol_window).rank(pct=True)
        suffix = np.where(rank >= high_vol_percentile, "_volatile", "_calm").astype(object)
        trend = trend + suffix
        known &= rank.notna().to_numpy()
    trend[~known] = None
    return pd.Series(trend, index=frame.index, name="regime", dtype="str")
