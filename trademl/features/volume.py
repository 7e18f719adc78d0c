"""Volume features: OBV, A/D, ADOSC (TA-Lib); Chaikin money flow, volume-price trend,
volume average and ratio, rolling VWAP, and a rolling volume profile (by hand)."""

from __future__ import annotations

from typing import Any

import numpy as np
import talib

from trademl.features._online_state import VolSmaState, VprofileState, VptState
from trademl.features._registry import Online, feature, rolling_state
from trademl.features._rolling import rolling_sum, windows
from trademl.features._running import CmfState, VwapState
from trademl.features._talib import talib_feature

HLCV = ("high", "low", "close", "volume")

talib_feature("obv", "OBV", category="volume", inputs=("close", "volume"))
talib_feature("ad", "AD", category="volume", inputs=HLCV)
talib_feature(
    "adosc",
    "ADOSC",
    category="volume",
    inputs=HLCV,
    params={"fast": 3, "slow": 10},
    kwargs=lambda fast, slow: {"fastperiod": fast, "slowperiod": slow},
)


def _cmf_last(bars: Any, window: int) -> tuple[float]:
    high, low = bars.high[-window:], bars.low[-window:]
    close, volume = bars.close[-window:], bars.volume[-window:]
    span = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        multiplier = np.where(span > 0, ((close - low) - (high - close)) / span, 0.0)
        return (float(np.float64(np.sum(multiplier * volume)) / np.sum(volume)),)


def _vwap_last(bars: Any, window: int) -> tuple[float, float]:
    volume = bars.volume[-window:]
    typical = (bars.high[-window:] + bars.low[-window:] + bars.close[-window:]) / 3.0
    volume_sum = np.sum(volume)
    level = float(np.sum(typical * volume) / volume_sum) if volume_sum > 0 else float("nan")
    return level, float(bars.close[-1] / level - 1.0)


@feature(
    "cmf",
    category="volume",
    inputs=HLCV,
    params={"window": 20},
    warmup=lambda window: window - 1,
    online=rolling_state(CmfState, lambda window: window, _cmf_last),
)
def cmf(bars: Any, window: int) -> np.ndarray:
    """Chaikin money flow: sum(money-flow multiplier x volume) / sum(volume)."""
    high, low, close, volume = bars.high, bars.low, bars.close, bars.volume
    span = high - low
    with np.errstate(divide="ignore", invalid="ignore"):
        multiplier = np.where(span > 0, ((close - low) - (high - close)) / span, 0.0)
        return rolling_sum(multiplier * volume, window) / rolling_sum(volume, window)


@feature("vpt", category="volume", inputs=("close", "volume"), warmup=1,
         online=Online("exact", state=VptState))  # fmt: skip
def vpt(bars: Any) -> np.ndarray:
    """Volume-price trend: cumulative volume x relative close change (NaN at the first bar)."""
    change = np.empty(len(bars))
    change[0] = np.nan
    change[1:] = bars.volume[1:] * (bars.close[1:] / bars.close[:-1] - 1.0)
    out = np.full(len(bars), np.nan)
    out[1:] = np.cumsum(change[1:])
    return out


@feature(
    "vol_sma",
    category="volume",
    inputs=("volume",),
    params={"timeperiod": 20},
    outputs=("", "ratio"),
    warmup=lambda timeperiod: timeperiod - 1,
    online=Online("exact", state=VolSmaState),
)
def vol_sma(bars: Any, timeperiod: int) -> tuple[np.ndarray, np.ndarray]:
    """Average volume, and this bar's volume relative to it."""
    average = talib.SMA(bars.volume, timeperiod)
    return average, volume_ratio(bars.volume, average)


def volume_ratio(volume: np.ndarray, average: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(average > 0, volume / average, np.nan)


@feature(
    "vwap",
    category="volume",
    inputs=HLCV,
    params={"window": 20},
    outputs=("", "dist"),
    grid={"window": (20, 100)},
    warmup=lambda window: window - 1,
    online=rolling_state(VwapState, lambda window: window, _vwap_last),
)
def vwap(bars: Any, window: int) -> tuple[np.ndarray, np.ndarray]:
    """Rolling VWAP of the typical price (H+L+C)/3, and the close's relative distance to it."""
    typical = (bars.high + bars.low + bars.close) / 3.0
    volume_sum = rolling_sum(bars.volume, window)
    with np.errstate(divide="ignore", invalid="ignore"):
        level = np.where(
            volume_sum > 0, rolling_sum(typical * bars.volume, window) / volume_sum, np.nan
        )
    return level, bars.close / level - 1.0


VALUE_AREA = 0.70  # the market-profile convention: the price range holding 70% of the volume


def volume_profile(
    typical: np.ndarray,
    volume: np.ndarray,
    low: np.ndarray,
    high: np.ndarray,
    window: int,
    bins: int,
    chunk: int = 16_384,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Point of control, value-area high and low over each trailing window.

    Each bar puts its volume in the price bin of its typical price; the bins split the
    window's [lowest low, highest high] evenly. The value area is the smallest set of
    highest-volume bins holding 70% of the volume (bins tied with the last one included);
    VAH/VAL are the outer edges of the lowest and highest bin in it.
    """
    n = len(typical)
    poc, vah, val = (np.full(n, np.nan) for _ in range(3))
    if window > n:
        return poc, vah, val
    lowest = talib.MIN(low, window)[window - 1 :]
    highest = talib.MAX(high, window)[window - 1 :]
    price_w, volume_w = windows(typical, window), windows(volume, window)
    for start in range(0, len(price_w), chunk):
        stop = min(start + chunk, len(price_w))
        lo, hi = lowest[start:stop, None], highest[start:stop, None]
        span = np.where(hi > lo, hi - lo, 1.0)
        # the same arithmetic as np.histogram's uniform-bin fast path, in place to keep the
        # (rows x window) temporaries to two
        scaled = np.subtract(price_w[start:stop], lo)
        scaled *= bins / span
        index = scaled.astype(np.intp)
        np.clip(index, 0, bins - 1, out=index)
        rows = stop - start
        index += (np.arange(rows) * bins)[:, None]
        profile = np.bincount(
            index.ravel(), weights=volume_w[start:stop].ravel(), minlength=rows * bins
        ).reshape(rows, bins)
        width = span[:, 0] / bins
        top = np.argmax(profile, axis=1)
        ranked = -np.sort(-profile, axis=1)
        total = profile.sum(axis=1, keepdims=True)
        with np.errstate(divide="ignore", invalid="ignore"):
            share = np.cumsum(ranked, axis=1) / total
        # the volume of the bin where the cumulative share reaches 70%: every bin holding at
        # least that much is in the value area (bins tied with it included)
        reach = np.minimum((share < VALUE_AREA - 1e-12).sum(axis=1), bins - 1)
        threshold = ranked[np.arange(rows), reach][:, None]
        included = profile >= threshold
        low_bin = np.argmax(included, axis=1)
        high_bin = bins - 1 - np.argmax(included[:, ::-1], axis=1)
        base = lo[:, 0]
        out = slice(window - 1 + start, window - 1 + stop)
        empty = total[:, 0] <= 0
        poc[out] = np.where(empty, np.nan, base + (top + 0.5) * width)
        vah[out] = np.where(empty, np.nan, base + (high_bin + 1) * width)
        val[out] = np.where(empty, np.nan, base + low_bin * width)
    return poc, vah, val


def _vprofile_last(bars: Any, window: int, bins: int) -> tuple[float, ...]:
    """``vprofile`` of the newest window alone, in the batch function's arithmetic."""
    high, low = bars.high[-window:], bars.low[-window:]
    close, volume = bars.close[-window:], bars.volume[-window:]
    typical = (high + low + close) / 3.0
    lo, hi = low.min(), high.max()
    span = hi - lo if hi > lo else np.float64(1.0)
    scaled = typical - lo
    scaled *= bins / span
    index = scaled.astype(np.intp)
    np.clip(index, 0, bins - 1, out=index)
    profile = np.bincount(index, weights=volume, minlength=bins)
    total = profile.sum()
    if total <= 0:
        return (float("nan"),) * 6
    width = span / bins
    ranked = -np.sort(-profile)
    share = np.cumsum(ranked) / total
    reach = min(int(np.count_nonzero(share < VALUE_AREA - 1e-12)), bins - 1)
    included = profile >= ranked[reach]
    low_bin = int(np.argmax(included))
    high_bin = bins - 1 - int(np.argmax(included[::-1]))
    poc = lo + (int(np.argmax(profile)) + 0.5) * width
    vah, val = lo + (high_bin + 1) * width, lo + low_bin * width
    price = close[-1]
    return tuple(float(v) for v in (poc, vah, val, price / poc - 1.0, price / vah - 1.0,
                                    price / val - 1.0))  # fmt: skip


@feature(
    "vprofile",
    category="volume",
    inputs=HLCV,
    params={"window": 50, "bins": 24},
    outputs=("poc", "vah", "val", "poc_dist", "vah_dist", "val_dist"),
    warmup=lambda window, bins: window - 1,
    # min, max, and one bincount per window adding its bars in order: exact on the window
    online=Online(
        "exact",
        tail=lambda window, bins: window,
        last=_vprofile_last,
        state=lambda window, bins: VprofileState(window, bins, VALUE_AREA),
    ),
)
def vprofile(bars: Any, window: int, bins: int) -> tuple[np.ndarray, ...]:
    """Rolling volume profile: point of control and 70% value area, and distances to them."""
    typical = (bars.high + bars.low + bars.close) / 3.0
    poc, vah, val = volume_profile(typical, bars.volume, bars.low, bars.high, window, bins)
    close = bars.close
    return poc, vah, val, close / poc - 1.0, close / vah - 1.0, close / val - 1.0
