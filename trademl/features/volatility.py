"""Volatility: Bollinger, ATR/NATR (TA-Lib); Keltner, Donchian, return std, range-based
estimators (Parkinson, Garman-Klass, Rogers-Satchell, Yang-Zhang), ratios and percentiles.

Range estimators are per-bar volatilities (not annualised): the square root of the mean
per-bar variance estimate over the trailing window.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import talib

from trademl.features._online_state import DonchianState, KeltnerState
from trademl.features._registry import Online, feature, rolling_state
from trademl.features._rolling import (
    log_tail,
    rolling_mean,
    rolling_rank_pct,
    rolling_std,
    shift,
    tail_returns,
    window_mean,
    window_std,
    windows,
)
from trademl.features._running import (
    GarmanKlassState,
    ParkinsonState,
    RetStdState,
    RogersSatchellState,
    VolPctState,
    VolRatioState,
    YangZhangState,
)
from trademl.features._talib import talib_feature

HLC = ("high", "low", "close")
OHLC = ("open", "high", "low", "close")


def _bbands_derived(bars: Any, params: dict, raw: tuple[np.ndarray, ...]) -> tuple[np.ndarray, ...]:
    upper, middle, lower = raw
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        pctb = np.where(width > 0, (bars.close - lower) / width, 0.5)
    pctb[np.isnan(width)] = np.nan
    return pctb, width / middle


talib_feature(
    "bbands",
    "BBANDS",
    category="volatility",
    params={"timeperiod": 20, "nbdev": 2.0},
    outputs=("upper", "middle", "lower", "pctb", "width"),
    talib_outputs=(0, 1, 2, None, None),
    kwargs=lambda timeperiod, nbdev: {
        "timeperiod": timeperiod,
        "nbdevup": nbdev,
        "nbdevdn": nbdev,
        "matype": 0,
    },
    derived=_bbands_derived,
)
talib_feature("atr", "ATR", category="volatility", inputs=HLC, params={"timeperiod": 14})
talib_feature("natr", "NATR", category="volatility", inputs=HLC, params={"timeperiod": 14})
talib_feature("trange", "TRANGE", category="volatility", inputs=HLC)


@feature(
    "keltner",
    category="volatility",
    inputs=HLC,
    params={"timeperiod": 20, "atr": 10, "mult": 2.0},
    outputs=("upper", "middle", "lower", "pos"),
    warmup=lambda timeperiod, atr, mult: max(timeperiod - 1, atr),
    online=Online("exact", state=lambda timeperiod, atr, mult: KeltnerState(timeperiod, atr, mult)),
)
def keltner(bars: Any, timeperiod: int, atr: int, mult: float) -> tuple[np.ndarray, ...]:
    """Keltner channel: EMA of close +- mult x ATR; pos = where the close sits (0 lower, 1 upper)."""
    middle = talib.EMA(bars.close, timeperiod)
    return keltner_channel(
        bars.close, middle, talib.ATR(bars.high, bars.low, bars.close, atr), mult
    )


def keltner_channel(close: np.ndarray, middle: np.ndarray, atr: np.ndarray,
                    mult: float) -> tuple[np.ndarray, ...]:  # fmt: skip
    """The channel from its EMA and ATR (serving carries those two and calls this too)."""
    band = mult * atr
    upper, lower = middle + band, middle - band
    with np.errstate(divide="ignore", invalid="ignore"):
        return upper, middle, lower, (close - lower) / (upper - lower)


def _donchian_last(bars: Any, timeperiod: int) -> tuple[float, ...]:
    upper = bars.high[-timeperiod:].max()
    lower = bars.low[-timeperiod:].min()
    width = upper - lower
    pos = (bars.close[-1] - lower) / width if width > 0 else 0.5
    return float(upper), float(lower), float((upper + lower) / 2.0), float(pos)


@feature(
    "donchian",
    category="volatility",
    inputs=HLC,
    params={"timeperiod": 20},
    outputs=("upper", "lower", "middle", "pos"),
    grid={"timeperiod": (20, 55)},
    warmup=lambda timeperiod: timeperiod - 1,
    online=Online(
        "exact", tail=lambda timeperiod: timeperiod, last=_donchian_last, state=DonchianState
    ),
)
def donchian(bars: Any, timeperiod: int) -> tuple[np.ndarray, ...]:
    """Donchian channel: highest high and lowest low of the window (this bar included)."""
    upper = talib.MAX(bars.high, timeperiod)
    lower = talib.MIN(bars.low, timeperiod)
    width = upper - lower
    with np.errstate(divide="ignore", invalid="ignore"):
        pos = np.where(width > 0, (bars.close - lower) / width, 0.5)
    pos[np.isnan(width)] = np.nan
    return upper, lower, (upper + lower) / 2.0, pos


# serving's last-value formulas (two-pass moments of the window): the batch functions
# below take the same moments from cumulative sums, equal within SUM_TOLERANCE
def _std(values: np.ndarray) -> float:
    return float(window_std(values))


def _retstd_last(bars: Any, window: int) -> tuple[float]:
    return (_std(tail_returns(bars, window)),)


def _last_log_ranges(bars: Any, n: int) -> dict[str, np.ndarray]:
    log_o, log_h = log_tail(bars, "open", n), log_tail(bars, "high", n)
    log_l, log_c = log_tail(bars, "low", n), log_tail(bars, "close", n)
    return {"hl": log_h - log_l, "co": log_c - log_o, "ho": log_h - log_o, "lo": log_l - log_o,
            "hc": log_h - log_c, "lc": log_l - log_c, "o": log_o, "c": log_c}  # fmt: skip


def _parkinson_last(bars: Any, window: int) -> tuple[float]:
    hl = log_tail(bars, "high", window) - log_tail(bars, "low", window)
    return (float(np.sqrt(window_mean(hl * hl) / (4.0 * math.log(2.0)))),)


def _garman_klass_last(bars: Any, window: int) -> tuple[float]:
    r = _last_log_ranges(bars, window)
    per_bar = 0.5 * r["hl"] ** 2 - (2.0 * math.log(2.0) - 1.0) * r["co"] ** 2
    return (float(np.sqrt(max(window_mean(per_bar), 0.0))),)


def _rogers_satchell_last(bars: Any, window: int) -> tuple[float]:
    r = _last_log_ranges(bars, window)
    return (float(np.sqrt(max(window_mean(_rs_variance(r)), 0.0))),)


def _yang_zhang_last(bars: Any, window: int) -> tuple[float]:
    r = _last_log_ranges(bars, window + 1)
    k = 0.34 / (1.34 + (window + 1) / (window - 1))
    overnight = r["o"][1:] - r["c"][:-1]
    rs = _rs_variance({key: v[1:] for key, v in r.items()})
    variance = (
        _std(overnight) ** 2 + k * _std(r["co"][1:]) ** 2 + (1.0 - k) * float(window_mean(rs))
    )
    return (float(np.sqrt(max(variance, 0.0))),)


def _volratio_last(bars: Any, short: int, long: int) -> tuple[float]:
    r = tail_returns(bars, max(short, long))
    with np.errstate(divide="ignore", invalid="ignore"):
        return (float(np.float64(_std(r[-short:])) / _std(r[-long:])),)


def _volpct_last(bars: Any, window: int, lookback: int) -> tuple[float]:
    # the return std of each of the last `lookback` windows, ranked against the newest
    r = tail_returns(bars, window + lookback - 1)
    stds = np.std(windows(r, window), axis=1, ddof=1)
    return (float(np.count_nonzero(stds <= stds[-1])) / lookback,)


@feature(
    "retstd",
    category="volatility",
    params={"window": 20},
    grid={"window": (10, 20, 50)},
    warmup=lambda window: window,
    online=rolling_state(RetStdState, lambda window: window + 1, _retstd_last),
)
def retstd(bars: Any, window: int) -> np.ndarray:
    """Sample standard deviation of 1-bar log returns over the window."""
    return rolling_std(bars.logret(), window)


def _log_ranges(bars: Any) -> dict[str, np.ndarray]:
    def make() -> dict[str, np.ndarray]:
        log_o, log_h = np.log(bars.open), np.log(bars.high)
        log_l, log_c = np.log(bars.low), np.log(bars.close)
        return {"hl": log_h - log_l, "co": log_c - log_o, "ho": log_h - log_o,
                "lo": log_l - log_o, "hc": log_h - log_c, "lc": log_l - log_c,
                "oc_prev": log_o - shift(log_c, 1)}  # fmt: skip

    return bars.memo("log_ranges", make)


def _rs_variance(r: dict[str, np.ndarray]) -> np.ndarray:
    return r["hc"] * r["ho"] + r["lc"] * r["lo"]


@feature(
    "parkinson", category="volatility", inputs=("high", "low"), params={"window": 20},
    warmup=lambda window: window - 1,
    online=rolling_state(ParkinsonState, lambda window: window, _parkinson_last),
)  # fmt: skip
def parkinson(bars: Any, window: int) -> np.ndarray:
    """Parkinson (1980): sqrt(mean(ln(H/L)^2) / (4 ln 2))."""
    hl = np.log(bars.high) - np.log(bars.low)
    return np.sqrt(rolling_mean(hl * hl, window) / (4.0 * math.log(2.0)))


@feature(
    "garman_klass", category="volatility", inputs=OHLC, params={"window": 20},
    warmup=lambda window: window - 1,
    online=rolling_state(GarmanKlassState, lambda window: window, _garman_klass_last),
)  # fmt: skip
def garman_klass(bars: Any, window: int) -> np.ndarray:
    """Garman-Klass (1980): mean(0.5 ln(H/L)^2 - (2 ln 2 - 1) ln(C/O)^2), square-rooted."""
    r = _log_ranges(bars)
    per_bar = 0.5 * r["hl"] ** 2 - (2.0 * math.log(2.0) - 1.0) * r["co"] ** 2
    return np.sqrt(np.maximum(rolling_mean(per_bar, window), 0.0))


@feature(
    "rogers_satchell", category="volatility", inputs=OHLC, params={"window": 20},
    warmup=lambda window: window - 1,
    online=rolling_state(RogersSatchellState, lambda window: window, _rogers_satchell_last),
)  # fmt: skip
def rogers_satchell(bars: Any, window: int) -> np.ndarray:
    """Rogers-Satchell (1991): mean(ln(H/C) ln(H/O) + ln(L/C) ln(L/O)), square-rooted."""
    return np.sqrt(np.maximum(rolling_mean(_rs_variance(_log_ranges(bars)), window), 0.0))


@feature(
    "yang_zhang", category="volatility", inputs=OHLC, params={"window": 20},
    warmup=lambda window: window,
    online=rolling_state(YangZhangState, lambda window: window + 1, _yang_zhang_last),
)  # fmt: skip
def yang_zhang(bars: Any, window: int) -> np.ndarray:
    """Yang-Zhang (2000): overnight (open vs previous close) + k x open-to-close +
    (1 - k) x Rogers-Satchell variance, k = 0.34 / (1.34 + (n + 1) / (n - 1))."""
    r = _log_ranges(bars)
    k = 0.34 / (1.34 + (window + 1) / (window - 1))
    overnight = rolling_std(r["oc_prev"], window) ** 2
    open_close = rolling_std(r["co"], window) ** 2
    variance = overnight + k * open_close + (1.0 - k) * rolling_mean(_rs_variance(r), window)
    return np.sqrt(np.maximum(variance, 0.0))


@feature(
    "volratio", category="volatility", params={"short": 10, "long": 50},
    warmup=lambda short, long: max(short, long),
    online=rolling_state(
        VolRatioState, lambda short, long: max(short, long) + 1, _volratio_last
    ),
)  # fmt: skip
def volratio(bars: Any, short: int, long: int) -> np.ndarray:
    """Short-window over long-window return std: > 1 when volatility is expanding."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return rolling_std(bars.logret(), short) / rolling_std(bars.logret(), long)


@feature(
    "volpct", category="volatility", params={"window": 20, "lookback": 100},
    warmup=lambda window, lookback: window + lookback - 1,
    online=rolling_state(VolPctState, lambda window, lookback: window + lookback, _volpct_last),
)  # fmt: skip
def volpct(bars: Any, window: int, lookback: int) -> np.ndarray:
    """Percentile rank of the current return std among its last `lookback` values."""
    return rolling_rank_pct(rolling_std(bars.logret(), window), lookback)
