"""Statistical features: log returns, rolling moments, z-scores, autocorrelation, Hurst
exponent, sign entropy, regression slope, and correlation/beta to a reference symbol."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from trademl.features._registry import Online, feature, rolling_state
from trademl.features._rolling import (
    log_tail,
    rolling_cov,
    rolling_std,
    rolling_sum,
    shift,
    tail_returns,
    window_mean,
    window_std,
)
from trademl.features._running import RetMeanState
from trademl.features._running_stats import (
    AutocorrState,
    EntropyState,
    HurstState,
    KurtState,
    LogRetState,
    SkewState,
    ZScoreState,
)
from trademl.features._talib import talib_feature

HURST_LAGS = (1, 2, 4, 8, 16)


# serving's last-value formulas: two-pass moments of the window, where the batch functions
# take them from cumulative sums (or pandas' running sums): equal within SUM_TOLERANCE
def _moments(r: np.ndarray) -> tuple[float, float, float, float]:
    """Mean and the central moments m2, m3, m4 (divided by n)."""
    mean = float(window_mean(r))
    d = r - mean
    d2 = d * d
    return mean, float(window_mean(d2)), float(window_mean(d2 * d)), float(window_mean(d2 * d2))


def _logret_last(bars: Any, lag: int) -> tuple[float]:
    # elementwise log of the two closes: the same values as the batch's log of the series
    log_close = log_tail(bars, "close", lag + 1)
    return (float(log_close[-1] - log_close[0]),)


def _retmean_last(bars: Any, window: int) -> tuple[float]:
    return (float(np.sum(tail_returns(bars, window)) / window),)


def _retskew_last(bars: Any, window: int) -> tuple[float]:
    # pandas' bias-corrected sample skewness; NaN for a flat window, as pandas
    n = float(window)
    _, m2, m3, _ = _moments(tail_returns(bars, window))
    if m2 <= 0:
        return (float("nan"),)
    return (math.sqrt(n * (n - 1.0)) * m3 / ((n - 2.0) * m2**1.5),)


def _retkurt_last(bars: Any, window: int) -> tuple[float]:
    # pandas' bias-corrected sample excess kurtosis
    n = float(window)
    _, m2, _, m4 = _moments(tail_returns(bars, window))
    if m2 <= 0:
        return (float("nan"),)
    k = (n * n - 1.0) * m4 / (m2 * m2) - 3.0 * (n - 1.0) ** 2
    return (k / ((n - 2.0) * (n - 3.0)),)


def _zscore_last(bars: Any, window: int) -> tuple[float]:
    close = bars.close[-window:]
    std = float(window_std(close))
    return (float((close[-1] - window_mean(close)) / std) if std > 0 else 0.0,)


def _corr(x: np.ndarray, y: np.ndarray) -> float:
    dx, dy = x - window_mean(x), y - window_mean(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return float(np.float64(np.sum(dx * dy)) / np.sqrt(np.sum(dx * dx) * np.sum(dy * dy)))


def _autocorr_last(bars: Any, window: int, lag: int) -> tuple[float]:
    r = tail_returns(bars, window + lag)
    return (_corr(r[lag:], r[:-lag]),)


def _hurst_last(bars: Any, window: int) -> tuple[float]:
    log_close = log_tail(bars, "close", window + max(HURST_LAGS))
    x = np.log(np.array(HURST_LAGS, dtype=float))
    x_centred = x - x.mean()
    slope = 0.0
    for weight, lag in zip(x_centred / (x_centred**2).sum(), HURST_LAGS, strict=True):
        diff = (log_close[lag:] - log_close[:-lag])[-window:]
        std = float(window_std(diff))
        slope += weight * (math.log(std) if std > 0 else float("-inf"))
    return (slope if math.isfinite(slope) else float("nan"),)


def _entropy_last(bars: Any, window: int) -> tuple[float]:
    signs = np.sign(tail_returns(bars, window))
    total = 0.0
    for symbol in (-1.0, 0.0, 1.0):
        p = float(np.count_nonzero(signs == symbol)) / window
        if p > 0:
            total -= p * math.log2(p)
    return (total,)


# pandas' rolling variance of prices (~60,000) runs Welford updates over the whole series:
# where the window's std is small (~20) the batch value itself carries rounding that grows
# with the history (BTC 1h: ~1e-9 of the z-score after 8,000 bars, 1e-8 after 17,000),
# which no computation of the window reproduces (the state's stays within 1e-15 of exact)
ZSCORE_ONLINE = Online(
    "tail",
    tail=lambda window: window,
    tolerance=1e-8,
    reason="pandas' running variance of the price level rounds by up to ~1e-8 of a quiet window's "
    "z-score over a long history",
    state=ZScoreState,
    last=_zscore_last,
)
# pandas' rolling kurtosis updates the 4th central moment (Welford) over the whole series:
# its rounding grows with the history (BTC 1h, window 20: 7e-10 of the feature's size after
# 8,000 bars, 2e-9 after 17,000); the state's exactly re-added sums stay within 1e-14
KURT_ONLINE = Online(
    "tail",
    tail=lambda window: window + 1,
    tolerance=1e-8,
    reason="pandas' running 4th moment rounds by ~1e-9 of the kurtosis over a long history",
    state=KurtState,
    last=_retkurt_last,
)


@feature(
    "logret",
    category="statistical",
    params={"lag": 1},
    grid={"lag": (1, 2, 3, 5, 10, 20, 50)},
    warmup=lambda lag: lag,
    online=Online("exact", tail=lambda lag: lag + 1, last=_logret_last, state=LogRetState),
)
def logret(bars: Any, lag: int) -> np.ndarray:
    """log(close_t / close_{t-lag})."""
    log_close = bars.memo("log_close", lambda: np.log(bars.close))
    return log_close - shift(log_close, lag)


@feature("retmean", category="statistical", params={"window": 20}, grid={"window": (20, 100)},
         warmup=lambda window: window, online=rolling_state(RetMeanState, lambda window: window + 1, _retmean_last))  # fmt: skip
def retmean(bars: Any, window: int) -> np.ndarray:
    """Mean 1-bar log return over the window."""
    return rolling_sum(bars.logret(), window) / window


@feature("retskew", category="statistical", params={"window": 50}, grid={"window": (20, 100)},
         warmup=lambda window: window, online=rolling_state(SkewState, lambda window: window + 1, _retskew_last))  # fmt: skip
def retskew(bars: Any, window: int) -> np.ndarray:
    """Sample skewness (bias-corrected, as pandas) of 1-bar log returns."""
    return pd.Series(bars.logret()).rolling(window).skew().to_numpy()


@feature("retkurt", category="statistical", params={"window": 50}, grid={"window": (20, 100)},
         warmup=lambda window: window, online=KURT_ONLINE)  # fmt: skip
def retkurt(bars: Any, window: int) -> np.ndarray:
    """Sample excess kurtosis (bias-corrected, as pandas) of 1-bar log returns."""
    return pd.Series(bars.logret()).rolling(window).kurt().to_numpy()


@feature("zscore", category="statistical", params={"window": 20}, grid={"window": (20, 50, 200)},
         warmup=lambda window: window - 1, online=ZSCORE_ONLINE)  # fmt: skip
def zscore(bars: Any, window: int) -> np.ndarray:
    """(close - rolling mean) / rolling sample std of the close."""
    rolling = pd.Series(bars.close).rolling(window)
    mean, std = rolling.mean().to_numpy(), rolling.std().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out = np.where(std > 0, (bars.close - mean) / std, 0.0)  # a flat window is at its mean
    out[np.isnan(std)] = np.nan
    return out


@feature("autocorr", category="statistical", params={"window": 50, "lag": 1},
         grid={"window": (50,), "lag": (1, 2, 5)},
         warmup=lambda window, lag: window + lag,
         online=rolling_state(AutocorrState, lambda window, lag: window + lag + 1, _autocorr_last))  # fmt: skip
def autocorr(bars: Any, window: int, lag: int) -> np.ndarray:
    """Correlation of r_t with r_{t-lag} over the last `window` pairs of 1-bar log returns."""
    r = bars.logret()
    lagged = shift(r, lag)
    with np.errstate(divide="ignore", invalid="ignore"):
        return rolling_cov(r, lagged, window) / (
            rolling_std(r, window) * rolling_std(lagged, window)
        )


@feature("hurst", category="statistical", params={"window": 100}, grid={"window": (100, 250)},
         warmup=lambda window: window + max(HURST_LAGS) - 1,
         online=rolling_state(lambda window: HurstState(window, HURST_LAGS),
                              lambda window: window + max(HURST_LAGS), _hurst_last))  # fmt: skip
def hurst(bars: Any, window: int) -> np.ndarray:
    """Hurst exponent by the aggregated-variance method: the slope of log std(k-bar log
    return) on log k, k = 1, 2, 4, 8, 16, the std of each taken over the last `window`
    k-bar returns. 0.5 is a random walk, > 0.5 trending, < 0.5 mean-reverting."""
    log_close = bars.memo("log_close", lambda: np.log(bars.close))
    x = np.log(np.array(HURST_LAGS, dtype=float))
    x_centred = x - x.mean()
    slope = np.zeros(len(bars))
    for weight, lag in zip(x_centred / (x_centred**2).sum(), HURST_LAGS, strict=True):
        diff = log_close - shift(log_close, lag)
        with np.errstate(divide="ignore"):
            slope += weight * np.log(rolling_std(diff, window))
    slope[~np.isfinite(slope)] = np.nan
    return slope


@feature("entropy", category="statistical", params={"window": 50}, grid={"window": (50,)},
         warmup=lambda window: window, online=Online("exact", tail=lambda window: window + 1, last=_entropy_last, state=EntropyState))  # fmt: skip
def entropy(bars: Any, window: int) -> np.ndarray:
    """Shannon entropy (bits) of the signs of 1-bar returns (down / flat / up) over the
    window: 1 bit is a coin flip, lower means one direction dominates."""
    r = bars.logret()
    valid = ~np.isnan(r)
    total = np.zeros(len(bars))
    for symbol in (-1.0, 0.0, 1.0):
        count = rolling_sum((np.sign(r) == symbol).astype(float), window)
        p = count / window
        with np.errstate(divide="ignore", invalid="ignore"):
            total -= np.where(p > 0, p * np.log2(p), 0.0)
    total[~(rolling_sum(valid.astype(float), window) >= window)] = np.nan
    return total


talib_feature(
    "linreg_slope",
    "LINEARREG_SLOPE",
    category="statistical",
    params={"timeperiod": 20},
)


@feature("xcorr", category="statistical", inputs=("close", "reference"), params={"window": 50},
         outputs=("corr", "beta"), warmup=lambda window: window,
         online=Online("none", reason="needs a reference symbol's bars on the same timestamps, "
                       "which one symbol's bar stream does not carry"))  # fmt: skip
def cross_asset(bars: Any, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling correlation and beta of this symbol's 1-bar log returns to the reference's
    (``generate_features(..., reference=other_close)`` on the same bar timestamps)."""
    r = bars.logret()
    ref = bars.reference
    ref_r = np.full(len(ref), np.nan)
    ref_r[1:] = np.log(ref[1:]) - np.log(ref[:-1])
    cov = rolling_cov(r, ref_r, window)
    ref_std = rolling_std(ref_r, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        return cov / (rolling_std(r, window) * ref_std), cov / ref_std**2
