"""Microstructure estimates from candles alone: Roll and Corwin-Schultz spreads, Amihud
illiquidity, Kyle's lambda, and bipower variation for jump detection.

All work on log prices, so spreads are relative (0.001 = 10 bp)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from trademl.features._registry import Online, feature, rolling_state
from trademl.features._rolling import (
    rolling_cov,
    rolling_mean,
    rolling_sum,
    shift,
    tail_returns,
    window_mean,
)
from trademl.features._running import (
    AmihudState,
    BipowerState,
    CorwinSchultzState,
    KyleLambdaState,
    RollState,
)

WINDOW = {"window": 20}


# serving's last-value formulas: sums over the window, where the batch functions take them
# from cumulative sums: equal within SUM_TOLERANCE
def _corwin_schultz_last(bars: Any, window: int) -> tuple[float]:
    spread = corwin_schultz_spread(bars.high[-(window + 1) :], bars.low[-(window + 1) :])
    return (float(window_mean(spread[1:])),)


def _amihud_last(bars: Any, window: int) -> tuple[float]:
    r = tail_returns(bars, window)
    dollar_volume = bars.close[-window:] * bars.volume[-window:]
    traded = dollar_volume > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(traded, np.abs(r) / dollar_volume, 0.0)
    count = int(np.count_nonzero(traded))
    return (float(np.sum(ratio)) / count if count else float("nan"),)


def _bipower_last(bars: Any, window: int) -> tuple[float, float, float]:
    r = tail_returns(bars, window + 1)
    rv = float(np.sum(r[1:] * r[1:]))
    bv = (math.pi / 2.0) * float(np.sum(np.abs(r[1:]) * np.abs(r[:-1])))
    jump = max(rv - bv, 0.0) / rv if rv > 0 else 0.0
    return rv, bv, jump


# Roll and Kyle are served bit-identical: their states carry the batch path's own cumulative
# sums (see PrefixSum), because no other sum holds a tolerance against these two formulas.
# Roll takes sqrt(max(-cov, 0)): the batch covariance is up to 2e-19 off exact sums on the
# sample, and where the covariance is within that of 0, two roundings give spreads up to
# 2 sqrt(2e-19) ~ 9e-10 apart, 5e-7 of the column's median 1.7e-3: no relative tolerance
# holds near a square root's 0 (tests/features/test_running_micro.py builds such bars).
# Kyle divides by the variance of flows of 1e8-1e9, whose squares the batch path sums
# cumulatively over the whole series: its own rounding is eps x (bars so far / window) x the
# cancellation in sum f^2 - (sum f)^2 / n, 3e-11 on the 17,530-bar sample, and it grows
# with the series' length: a window sum would drift from it past 1e-9 some 30x longer.
@feature("roll", category="microstructure", params=WINDOW, warmup=lambda window: window + 1,
         online=Online("exact", state=RollState))  # fmt: skip
def roll(bars: Any, window: int) -> np.ndarray:
    """Roll (1984) spread: 2 sqrt(-cov(r_t, r_{t-1})), 0 when the covariance is positive."""
    r = bars.logret()
    cov = rolling_cov(r, shift(r, 1), window)
    return 2.0 * np.sqrt(np.maximum(-cov, 0.0))


def corwin_schultz_spread(high: np.ndarray, low: np.ndarray) -> np.ndarray:
    """Two-bar Corwin-Schultz (2012) spread estimate per bar, negatives set to 0."""
    log_hl = np.log(high / low)
    beta = log_hl**2 + shift(log_hl, 1) ** 2
    high2 = np.fmax(high, shift(high, 1))
    low2 = np.fmin(low, shift(low, 1))
    gamma = np.log(high2 / low2) ** 2
    gamma[0] = np.nan
    denom = 3.0 - 2.0 * math.sqrt(2.0)
    alpha = (np.sqrt(2.0 * beta) - np.sqrt(beta)) / denom - np.sqrt(gamma / denom)
    spread = 2.0 * (np.exp(alpha) - 1.0) / (1.0 + np.exp(alpha))
    return np.where(np.isnan(spread), np.nan, np.maximum(spread, 0.0))


@feature("corwin_schultz", category="microstructure", inputs=("high", "low"), params=WINDOW,
         warmup=lambda window: window, online=rolling_state(CorwinSchultzState, lambda window: window + 1, _corwin_schultz_last))  # fmt: skip
def corwin_schultz(bars: Any, window: int) -> np.ndarray:
    """Corwin-Schultz high-low spread, averaged over the window."""
    return rolling_mean(corwin_schultz_spread(bars.high, bars.low), window)


@feature("amihud", category="microstructure", inputs=("close", "volume"), params=WINDOW,
         warmup=lambda window: window, online=rolling_state(AmihudState, lambda window: window + 1, _amihud_last))  # fmt: skip
def amihud(bars: Any, window: int) -> np.ndarray:
    """Amihud (2002) illiquidity: mean |r| / quote volume over the bars that traded."""
    dollar_volume = bars.close * bars.volume
    traded = dollar_volume > 0
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.where(traded, np.abs(bars.logret()) / dollar_volume, 0.0)
    ratio[0] = np.nan
    count = rolling_sum(traded.astype(float), window)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(count > 0, rolling_sum(ratio, window) / count, np.nan)


@feature("kyle_lambda", category="microstructure", inputs=("close", "volume"), params=WINDOW,
         warmup=lambda window: window, online=Online("exact", state=KyleLambdaState))  # fmt: skip
def kyle_lambda(bars: Any, window: int) -> np.ndarray:
    """Kyle's lambda: OLS slope of r_t on signed quote volume sign(r_t) x close x volume
    (price impact per unit of signed flow; the sign by the tick rule)."""
    r = bars.logret()
    signed = np.sign(r) * bars.close * bars.volume
    with np.errstate(divide="ignore", invalid="ignore"):
        return rolling_cov(r, signed, window) / rolling_cov(signed, signed, window)


@feature("bipower", category="microstructure", params=WINDOW, outputs=("rv", "bv", "jump"),
         warmup=lambda window: window + 1, online=rolling_state(BipowerState, lambda window: window + 2, _bipower_last))  # fmt: skip
def bipower(bars: Any, window: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Realised variance, bipower variation (pi/2) sum |r_t||r_{t-1}| (Barndorff-Nielsen and
    Shephard 2004), and the jump share max(0, (RV - BV) / RV)."""
    r = bars.logret()
    rv = rolling_sum(r * r, window)
    bv = (math.pi / 2.0) * rolling_sum(np.abs(r) * np.abs(shift(r, 1)), window)
    rv[np.isnan(bv)] = np.nan
    with np.errstate(divide="ignore", invalid="ignore"):
        jump = np.where(rv > 0, np.maximum(rv - bv, 0.0) / rv, 0.0)
    jump[np.isnan(bv)] = np.nan
    return rv, bv, jump
