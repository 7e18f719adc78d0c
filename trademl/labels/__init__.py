"""Targets that look a known number of bars ahead, and the spans splitters purge by.

Every labeller returns a ``Labels`` object: ``.values`` (NaN where the future is not yet
known) and ``.end`` (timestamp of the last bar each label reads).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from trademl.labels._base import Labels, rolling_volatility
from trademl.labels._direction import direction
from trademl.labels._forward import forward_return
from trademl.labels._trend_scanning import trend_scanning
from trademl.labels._triple_barrier import triple_barrier
from trademl.labels._weights import uniqueness_weights

if TYPE_CHECKING:
    from trademl.config.labels import LabelSpec

__all__ = [
    "Labels",
    "direction",
    "forward_return",
    "make_labels",
    "rolling_volatility",
    "trend_scanning",
    "triple_barrier",
    "uniqueness_weights",
]


def make_labels(ohlcv: pd.DataFrame, spec: LabelSpec | None = None) -> Labels:
    """Build the labels an experiment spec asks for (defaults: ``LabelSpec()``)."""
    from trademl.config.labels import LabelSpec

    spec = LabelSpec() if spec is None else spec
    h = spec.horizon
    if spec.kind == "forward_return":
        return forward_return(ohlcv, h, kind=spec.return_kind or "log")
    if spec.kind == "direction":
        return direction(
            ohlcv,
            h,
            classes=spec.classes or "binary",
            dead_zone=spec.dead_zone,
            dead_zone_vol=spec.dead_zone_vol,
            vol_window=spec.vol_window,
        )
    if spec.kind == "triple_barrier":
        return triple_barrier(
            ohlcv,
            h,
            profit_take=spec.profit_take or 1.0,
            stop_loss=spec.stop_loss or 1.0,
            vol_window=spec.vol_window,
            touch=spec.touch or "close",
            vertical=spec.vertical or "sign",
        )
    return trend_scanning(ohlcv, h, min_horizon=spec.min_horizon or 3)
