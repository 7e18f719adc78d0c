"""Carried state for features whose value depends on the whole history: served bar by bar
bit-identical to the batch function (see ``Online`` in ``_registry``).

Every state has the same two calls (what ``trademl.serving.online`` drives):

- ``open(history)``: the history so far (a :class:`~trademl.features._bars.Bars`); returns
  the outputs at its last bar;
- ``update(window, bar)``: the bars up to the new one (at least ``need`` of them, and all
  of them until ``opened``) and the new bar's values as floats; returns the outputs at
  the new bar.

TA-Lib keeps its own state in ``talib.stream`` handles (O(1) per bar, bit-identical to the
Function API); a handle needs ``lookback + 1`` bars or a few more before it can be opened,
so until then a state reports NaN and tries again on the next bar.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import talib
import talib.stream

from trademl.features._bars import Bars

__all__ = ["KeltnerState", "SwingState", "TalibStream", "VolSmaState", "VptState", "last_bar"]

NAN = float("nan")


def last_bar(window: Bars) -> Bars:
    """The window's newest bar as a one-row Bars (views, nothing copied)."""
    return Bars(window.index[-1:], {k: v[-1:] for k, v in window.columns.items()})


class _LastBar:
    """The window's newest bar as numpy scalars (``bars.close`` and the like)."""

    def __init__(self, window: Bars):
        self._columns = window.columns

    def __getattr__(self, name: str) -> np.float64:
        try:
            return self._columns[name][-1]
        except KeyError:
            raise AttributeError(name) from None


class _Handle:
    """One talib.stream handle, opened as soon as the history is long enough."""

    def __init__(self, function: str, inputs: tuple[str, ...], kwargs: Mapping[str, Any]):
        self.function = function
        self.inputs = inputs
        self.kwargs = dict(kwargs)
        self.opener = getattr(talib.stream, function)
        self.handle: Any = None

    @property
    def opened(self) -> bool:
        return self.handle is not None

    def open(self, history: Bars) -> Any:
        try:
            self.handle = self.opener(*(history.columns[i] for i in self.inputs), **self.kwargs)
        except talib.InsufficientHistory:
            self.handle = None
            return None
        return self.handle.value

    def update(self, window: Bars, bar: Mapping[str, float]) -> Any:
        if self.handle is None:
            return self.open(window)
        return self.handle.update(*[bar[i] for i in self.inputs])


class TalibStream:
    """A TA-Lib wrapper's outputs from its stream handle, derived outputs by the batch formula."""

    need = 1

    def __init__(
        self,
        function: str,
        inputs: tuple[str, ...],
        kwargs: Mapping[str, Any],
        picks: tuple[int | None, ...],
        derived: Callable[..., tuple[np.ndarray, ...]] | None,
        params: Mapping[str, Any],
    ):
        self.handle = _Handle(function, inputs, kwargs)
        self.picks = picks
        self.derived = derived
        self.params = dict(params)
        self.n_raw = len(talib.abstract.Function(function).output_names)
        # every TA-Lib output kept, in order: the handle's answer is the outputs as they are
        self.direct = tuple(picks) == tuple(range(self.n_raw))

    @property
    def opened(self) -> bool:
        return self.handle.opened

    def _outputs(self, window: Bars, value: Any) -> tuple[float, ...]:
        if value is None:
            raw = (NAN,) * self.n_raw
        else:
            raw = value if isinstance(value, tuple) else (value,)
        if self.derived is None and self.direct:
            return raw
        values = [raw[i] for i in self.picks if i is not None]
        if self.derived is not None:
            # the batch formula on numpy scalars: the same IEEE arithmetic as on arrays
            scalars = tuple(np.float64(v) for v in raw)
            derived = self.derived(_LastBar(window), self.params, scalars)
            values += [float(v) for v in derived]
        return tuple(values)

    def open(self, history: Bars) -> tuple[float, ...]:
        return self._outputs(history, self.handle.open(history))

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        return self._outputs(window, self.handle.update(window, bar))


def _value(raw: Any) -> np.ndarray:
    return np.array([NAN if raw is None else float(raw)])


class KeltnerState:
    """EMA and ATR from stream handles, the channel by the batch formula."""

    need = 1

    def __init__(self, timeperiod: int, atr: int, mult: float):
        from trademl.features.volatility import keltner_channel

        self.channel = keltner_channel
        self.mult = mult
        self.ema = _Handle("EMA", ("close",), {"timeperiod": timeperiod})
        self.atr = _Handle("ATR", ("high", "low", "close"), {"timeperiod": atr})

    @property
    def opened(self) -> bool:
        return self.ema.opened and self.atr.opened

    def _outputs(self, window: Bars, ema: Any, atr: Any) -> tuple[float, ...]:
        close = window.columns["close"][-1:]
        arrays = self.channel(close, _value(ema), _value(atr), self.mult)
        return tuple(float(a[0]) for a in arrays)

    def open(self, history: Bars) -> tuple[float, ...]:
        return self._outputs(history, self.ema.open(history), self.atr.open(history))

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        return self._outputs(window, self.ema.update(window, bar), self.atr.update(window, bar))


class VolSmaState:
    """TA-Lib's SMA keeps a running total (its rounding depends on the whole history)."""

    need = 1

    def __init__(self, timeperiod: int):
        from trademl.features.volume import volume_ratio

        self.ratio = volume_ratio
        self.sma = _Handle("SMA", ("volume",), {"timeperiod": timeperiod})

    @property
    def opened(self) -> bool:
        return self.sma.opened

    def _outputs(self, window: Bars, average: Any) -> tuple[float, ...]:
        average = _value(average)
        ratio = self.ratio(window.columns["volume"][-1:], average)
        return float(average[0]), float(ratio[0])

    def open(self, history: Bars) -> tuple[float, ...]:
        return self._outputs(history, self.sma.open(history))

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        return self._outputs(window, self.sma.update(window, bar))


class VptState:
    """The running sum of volume x relative close change, added in the order cumsum adds."""

    need = 2
    opened = True

    def __init__(self) -> None:
        self.total: float | None = None  # None until a second bar exists

    def open(self, history: Bars) -> tuple[float, ...]:
        from trademl.features.volume import vpt

        values = vpt(history)
        self.total = None if len(history) < 2 else float(values[-1])
        return (float(values[-1]),)

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        close, volume = window.columns["close"], window.columns["volume"]
        change = volume[-1] * (close[-1] / close[-2] - 1.0)
        self.total = float(change) if self.total is None else float(self.total + change)
        return (self.total,)


class SwingState:
    """The latest confirmed swing high and low: a level found arbitrarily far back is kept."""

    opened = True

    def __init__(self, order: int):
        self.order = order
        self.need = 2 * order + 1
        self.resistance = self.support = NAN

    def _outputs(self, close: float) -> tuple[float, ...]:
        levels = np.array([self.resistance, self.support])
        with np.errstate(divide="ignore", invalid="ignore"):
            dist = np.float64(close) / levels - 1.0
        return self.resistance, self.support, float(dist[0]), float(dist[1])

    def open(self, history: Bars) -> tuple[float, ...]:
        from trademl.features.patterns import swing

        resistance, support, _, _ = swing(history, self.order)
        self.resistance, self.support = float(resistance[-1]), float(support[-1])
        return self._outputs(history.columns["close"][-1])

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        if len(window) >= self.need:
            # the bar `order` back is a swing high (low) when it is the extreme of the span
            # around it; the batch function confirms it at exactly this bar
            high = window.columns["high"][-self.need :]
            low = window.columns["low"][-self.need :]
            centre = -1 - self.order
            if high[centre] == high.max():
                self.resistance = float(high[centre])
            if low[centre] == low.min():
                self.support = float(low[centre])
        return self._outputs(window.columns["close"][-1])
