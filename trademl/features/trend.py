"""Trend features: moving averages (and the price's distance to each), MACD, SAR, ADX, Aroon,
TRIX (TA-Lib), and Ichimoku (by hand: TA-Lib has none)."""

from __future__ import annotations

from typing import Any

import numpy as np
import talib

from trademl.features._online_state import IchimokuState
from trademl.features._registry import Online, feature
from trademl.features._rolling import shift
from trademl.features._talib import talib_feature

PERIODS = (5, 10, 20, 50, 100, 200)


def _distance(bars: Any, params: dict, raw: tuple[np.ndarray, ...]) -> tuple[np.ndarray]:
    # relative distance, so the feature means the same at $100 and at $60,000
    return (bars.close / raw[0] - 1.0,)


for _name in ("sma", "ema", "wma", "dema", "tema", "kama"):
    talib_feature(
        _name,
        _name.upper(),
        category="trend",
        params={"timeperiod": 20},
        grid={"timeperiod": PERIODS},
        outputs=("", "dist"),
        talib_outputs=(0, None),
        derived=_distance,
    )

talib_feature(
    "macd",
    "MACD",
    category="trend",
    params={"fast": 12, "slow": 26, "signal": 9},
    outputs=("", "signal", "hist"),
    kwargs=lambda fast, slow, signal: {
        "fastperiod": fast,
        "slowperiod": slow,
        "signalperiod": signal,
    },
)
talib_feature(
    "sar",
    "SAR",
    category="trend",
    inputs=("high", "low"),
    params={"acceleration": 0.02, "maximum": 0.2},
    outputs=("", "dist"),
    talib_outputs=(0, None),
    derived=_distance,
)
for _name in ("adx", "adxr", "plus_di", "minus_di"):
    talib_feature(
        _name,
        _name.upper(),
        category="trend",
        inputs=("high", "low", "close"),
        params={"timeperiod": 14},
    )
talib_feature(
    "aroon",
    "AROON",
    category="trend",
    inputs=("high", "low"),
    params={"timeperiod": 14},
    outputs=("down", "up"),
)
talib_feature(
    "aroonosc", "AROONOSC", category="trend", inputs=("high", "low"), params={"timeperiod": 14}
)
talib_feature(
    "trix", "TRIX", category="trend", params={"timeperiod": 15}, grid={"timeperiod": (15, 30)}
)


def midpoint_of_range(high: np.ndarray, low: np.ndarray, period: int) -> np.ndarray:
    return (talib.MAX(high, period) + talib.MIN(low, period)) / 2.0


def _midpoint(high: np.ndarray, low: np.ndarray, end: int, period: int) -> np.float64:
    """midpoint_of_range at the bar ``end`` back from the newest (0: the newest)."""
    stop = len(high) - end
    return (high[stop - period : stop].max() + low[stop - period : stop].min()) / 2.0


def _ichimoku_last(bars: Any, tenkan: int, kijun: int, senkou: int) -> tuple[float, ...]:
    high, low, close = bars.high, bars.low, bars.close
    tenkan_line = _midpoint(high, low, 0, tenkan)
    kijun_line = _midpoint(high, low, 0, kijun)
    senkou_a = (_midpoint(high, low, kijun, tenkan) + _midpoint(high, low, kijun, kijun)) / 2.0
    senkou_b = _midpoint(high, low, kijun, senkou)
    chikou = close[-1 - kijun]
    price = close[-1]
    above = np.maximum(price - np.fmax(senkou_a, senkou_b), 0.0)
    below = np.minimum(price - np.fmin(senkou_a, senkou_b), 0.0)
    values = (tenkan_line, kijun_line, senkou_a, senkou_b, chikou, (above + below) / price)
    return tuple(float(v) for v in values)


@feature(
    "ichimoku",
    category="trend",
    inputs=("high", "low", "close"),
    params={"tenkan": 9, "kijun": 26, "senkou": 52},
    outputs=("tenkan", "kijun", "senkou_a", "senkou_b", "chikou", "cloud_dist"),
    warmup=lambda tenkan, kijun, senkou: senkou - 1 + kijun,
    online=Online(
        "exact",
        tail=lambda tenkan, kijun, senkou: senkou + kijun,
        last=_ichimoku_last,
        state=IchimokuState,
    ),
)
def ichimoku(bars: Any, tenkan: int, kijun: int, senkou: int) -> tuple[np.ndarray, ...]:
    """Ichimoku cloud, causal: the spans are the values plotted at t, i.e. computed `kijun`
    bars ago; the chikou is the close `kijun` bars ago (never the future close)."""
    tenkan_line = midpoint_of_range(bars.high, bars.low, tenkan)
    kijun_line = midpoint_of_range(bars.high, bars.low, kijun)
    senkou_a = shift((tenkan_line + kijun_line) / 2.0, kijun)
    senkou_b = shift(midpoint_of_range(bars.high, bars.low, senkou), kijun)
    chikou = shift(bars.close, kijun)
    cloud_top = np.fmax(senkou_a, senkou_b)
    cloud_bottom = np.fmin(senkou_a, senkou_b)
    # > 0 above the cloud, < 0 below, 0 inside: relative to price
    above = np.maximum(bars.close - cloud_top, 0.0)
    below = np.minimum(bars.close - cloud_bottom, 0.0)
    cloud_dist = (above + below) / bars.close
    cloud_dist[np.isnan(senkou_b)] = np.nan
    return tenkan_line, kijun_line, senkou_a, senkou_b, chikou, cloud_dist
