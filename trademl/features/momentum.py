"""Momentum oscillators, all from TA-Lib."""

from __future__ import annotations

from trademl.features._talib import talib_feature

HLC = ("high", "low", "close")

talib_feature(
    "rsi", "RSI", category="momentum", params={"timeperiod": 14}, grid={"timeperiod": (7, 14, 21)}
)
talib_feature(
    "stoch",
    "STOCH",
    category="momentum",
    inputs=HLC,
    params={"fastk": 14, "slowk": 3, "slowd": 3},
    outputs=("k", "d"),
    kwargs=lambda fastk, slowk, slowd: {
        "fastk_period": fastk,
        "slowk_period": slowk,
        "slowd_period": slowd,
    },
)
talib_feature(
    "stochrsi",
    "STOCHRSI",
    category="momentum",
    params={"timeperiod": 14, "fastk": 14, "fastd": 3},
    outputs=("k", "d"),
    kwargs=lambda timeperiod, fastk, fastd: {
        "timeperiod": timeperiod,
        "fastk_period": fastk,
        "fastd_period": fastd,
    },
)
talib_feature("willr", "WILLR", category="momentum", inputs=HLC, params={"timeperiod": 14})
talib_feature(
    "cci",
    "CCI",
    category="momentum",
    inputs=HLC,
    params={"timeperiod": 20},
    grid={"timeperiod": (14, 20)},
)
talib_feature(
    "roc", "ROC", category="momentum", params={"timeperiod": 10}, grid={"timeperiod": (5, 10, 20)}
)
talib_feature("mom", "MOM", category="momentum", params={"timeperiod": 10})
talib_feature(
    "ultosc",
    "ULTOSC",
    category="momentum",
    inputs=HLC,
    params={"short": 7, "medium": 14, "long": 28},
    kwargs=lambda short, medium, long: {
        "timeperiod1": short,
        "timeperiod2": medium,
        "timeperiod3": long,
    },
)
talib_feature("mfi", "MFI", category="momentum", inputs=(*HLC, "volume"), params={"timeperiod": 14})
talib_feature(
    "apo",
    "APO",
    category="momentum",
    params={"fast": 12, "slow": 26},
    kwargs=lambda fast, slow: {"fastperiod": fast, "slowperiod": slow},
)
talib_feature(
    "ppo",
    "PPO",
    category="momentum",
    params={"fast": 12, "slow": 26},
    kwargs=lambda fast, slow: {"fastperiod": fast, "slowperiod": slow},
)
talib_feature("cmo", "CMO", category="momentum", params={"timeperiod": 14})
talib_feature("bop", "BOP", category="momentum", inputs=("open", "high", "low", "close"))
