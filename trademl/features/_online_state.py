"""Carried state for features whose value depends on the whole history: served bar by bar
bit-identical to the batch function (see ``Online`` in ``_registry``).

Every state has the same two calls (what ``trademl.serving.online`` drives):

- ``open(history)``: the history so far (a :class:`~trademl.features._bars.Bars`); returns
  the outputs at its last bar;
- ``update(window, bar)``: the bars up to the new one (at least ``need`` of them, and all
  of them until ``opened``) and the new bar's values as floats; returns the outputs at
  the new bar. A state that reads only the bar once opened says so (``window_free =
  True``): the service's steady loop then builds it no window.

TA-Lib keeps its own state in ``talib.stream`` handles (O(1) per bar, bit-identical to the
Function API); a handle needs ``lookback + 1`` bars or a few more before it can be opened,
so until then a state reports NaN and tries again on the next bar.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import talib
import talib.stream

from trademl.features._bars import Bars
from trademl.features._running import ReplayedState

__all__ = [
    "BarScalars",
    "KeltnerState",
    "SwingState",
    "TalibStream",
    "VolSmaState",
    "VptState",
    "last_bar",
]

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


class BarScalars:
    """The new bar's values as numpy scalars (``bars.close`` and the like), read from the
    bar itself: what ``_LastBar`` reads from the window, without one."""

    def __init__(self, bar: Mapping[str, np.float64]):
        self._bar = bar

    def __getattr__(self, name: str) -> np.float64:
        try:
            return self._bar[name]
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
        ema, atr = self.ema.update(window, bar), self.atr.update(window, bar)
        if ema is None or atr is None:
            return self._outputs(window, ema, atr)
        # keltner_channel in Python floats (the same IEEE operations), unless it divides by 0
        middle, band = float(ema), self.mult * float(atr)
        upper, lower = middle + band, middle - band
        if upper - lower == 0.0 or band != band:
            return self._outputs(window, ema, atr)
        return upper, middle, lower, (float(bar["close"]) - lower) / (upper - lower)


class VolSmaState:
    """TA-Lib's SMA keeps a running total (its rounding depends on the whole history)."""

    need = 1
    window_free = True

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
        average = self.sma.update(window, bar)
        if average is None:
            return self._outputs(window, average)
        average = float(average)  # volume_ratio in Python floats
        return average, float(bar["volume"]) / average if average > 0 else NAN


class VptState:
    """The running sum of volume x relative close change, added in the order cumsum adds.
    The last close is carried (as the numpy scalar the window would hold)."""

    need = 2
    opened = True
    window_free = True

    def __init__(self) -> None:
        self.total: float | None = None  # None until a second bar exists
        self.close: np.float64 | None = None

    def open(self, history: Bars) -> tuple[float, ...]:
        from trademl.features.volume import vpt

        values = vpt(history)
        self.total = None if len(history) < 2 else float(values[-1])
        self.close = history.columns["close"][-1]
        return (float(values[-1]),)

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        close = np.float64(bar["close"])
        change = np.float64(bar["volume"]) * (close / self.close - 1.0)
        self.close = close
        self.total = float(change) if self.total is None else float(self.total + change)
        return (self.total,)


class SwingState:
    """The latest confirmed swing high and low: a level found arbitrarily far back is kept.
    The last ``2 * order + 1`` highs and lows are carried with their rolling max/min."""

    opened = True
    window_free = True

    def __init__(self, order: int):
        self.order = order
        self.need = 2 * order + 1
        self.resistance = self.support = NAN
        self._reset_span()

    def _reset_span(self) -> None:
        self.highs: deque[float] = deque(maxlen=self.need)
        self.lows: deque[float] = deque(maxlen=self.need)
        self.highest = RollingExtreme(self.need, largest=True)
        self.lowest = RollingExtreme(self.need, largest=False)

    def _push(self, high: float, low: float) -> None:
        self.highs.append(high)
        self.lows.append(low)
        top, bottom = self.highest.push(high), self.lowest.push(low)
        if len(self.highs) == self.need:
            # the bar `order` back is a swing high (low) when it is the extreme of the span
            # around it; the batch function confirms it at exactly this bar
            if self.highs[self.order] == top:
                self.resistance = self.highs[self.order]
            if self.lows[self.order] == bottom:
                self.support = self.lows[self.order]

    def _outputs(self, close: float) -> tuple[float, ...]:
        close = float(close)  # close / level - 1 in Python floats: the batch IEEE operations
        return self.resistance, self.support, close / self.resistance - 1.0, (
            close / self.support - 1.0)  # fmt: skip

    def open(self, history: Bars) -> tuple[float, ...]:
        from trademl.features.patterns import swing

        resistance, support, _, _ = swing(history, self.order)
        self.resistance, self.support = float(resistance[-1]), float(support[-1])
        self._reset_span()
        high, low = history.columns["high"], history.columns["low"]
        for i in range(max(len(history) - self.need, 0), len(history)):
            self.highs.append(float(high[i]))
            self.lows.append(float(low[i]))
            self.highest.push(float(high[i]))
            self.lowest.push(float(low[i]))
        return self._outputs(history.columns["close"][-1])

    def update(self, window: Bars, bar: Mapping[str, float]) -> tuple[float, ...]:
        self._push(float(bar["high"]), float(bar["low"]))
        return self._outputs(bar["close"])


# ---- trailing windows carried in Python floats: the batch arithmetic, bit-identical ----
def _keep(
    kept: deque[tuple[int, float]], position: int, value: float, largest: bool, window: int
) -> deque[tuple[int, float]]:
    """Push ``value`` (at ``position``) onto a monotonic deque of the last ``window``
    positions: the values it outranks can never be an extreme again; the front is the
    window's extreme."""
    if largest:
        while kept and kept[-1][1] <= value:
            kept.pop()
    else:
        while kept and kept[-1][1] >= value:
            kept.pop()
    kept.append((position, value))
    if kept[0][0] <= position - window:
        kept.popleft()
    return kept


class RollingExtreme:
    """The largest (or smallest) of the last ``window`` values: a monotonic deque, O(1)
    amortised per value; a max/min is exact whatever the order, so equal to talib.MAX/MIN."""

    def __init__(self, window: int, largest: bool):
        self.window = window
        self.largest = largest
        self.kept: deque[tuple[int, float]] = deque()  # (position, value), extreme first
        self.count = 0

    def push(self, value: float) -> float:
        position = self.count
        self.count += 1
        return _keep(self.kept, position, value, self.largest, self.window)[0][1]

    @property
    def full(self) -> bool:
        return self.count >= self.window


class WindowExtremes:
    """The largest (or smallest) of the last ``p`` values for several ``p`` at once: one
    monotonic deque for the longest window; a shorter window's extreme is the first value
    kept inside it (every value of that window left out was dropped for a later one, also
    inside, at least as large). Exact, as a max/min is whatever the order."""

    def __init__(self, periods: tuple[int, ...], largest: bool):
        self.periods = periods
        self.longest = max(periods)
        self.largest = largest
        self.kept: deque[tuple[int, float]] = deque()  # (position, value), extreme first
        self.count = 0

    def push(self, value: float) -> list[float]:
        """Take a value; the extremes of the windows ending at it, in ``periods`` order."""
        position = self.count
        self.count += 1
        kept = _keep(self.kept, position, value, self.largest, self.longest)
        extremes = []
        for period in self.periods:
            oldest = position - period  # the positions after it are in the window
            for at, kept_value in kept:
                if at > oldest:
                    extremes.append(kept_value)
                    break
        return extremes


class _WindowState(ReplayedState):
    """``seen`` counts every bar, the replayed ones included (the warm-up NaNs depend on it)."""

    def _rewind(self, columns: Mapping[str, Any], start: int) -> None:
        self.seen = start


class DonchianState(_WindowState):
    """Highest high and lowest low of the window, as ``donchian`` computes them."""

    def __init__(self, timeperiod: int):
        self.timeperiod = timeperiod
        self.span = timeperiod
        self._reset()

    def _reset(self) -> None:
        self.seen = 0
        self.upper = RollingExtreme(self.timeperiod, largest=True)
        self.lower = RollingExtreme(self.timeperiod, largest=False)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        self.seen += 1
        upper = self.upper.push(float(bar["high"]))
        lower = self.lower.push(float(bar["low"]))
        if self.seen < self.timeperiod:
            return (NAN,) * 4
        width = upper - lower
        pos = (float(bar["close"]) - lower) / width if width > 0 else 0.5
        return upper, lower, (upper + lower) / 2.0, pos


class IchimokuState(_WindowState):
    """The three midpoints of range, and the two spans plotted ``kijun`` bars later."""

    def __init__(self, tenkan: int, kijun: int, senkou: int):
        self.periods = (tenkan, kijun, senkou)
        self.kijun = kijun
        self.warm = max(self.periods) + kijun  # every output has a value from this bar on
        self.span = self.warm
        self._reset()

    def _reset(self) -> None:
        self.seen = 0
        self.highs = WindowExtremes(self.periods, largest=True)
        self.lows = WindowExtremes(self.periods, largest=False)
        # (senkou_a, senkou_b, close) of the last kijun + 1 bars: the ones plotted now
        self.plotted: deque[tuple[float, float, float]] = deque(maxlen=self.kijun + 1)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        self.seen += 1
        high, low, close = float(bar["high"]), float(bar["low"]), float(bar["close"])
        (top_t, top_k, top_s), (bottom_t, bottom_k, bottom_s) = (
            self.highs.push(high), self.lows.push(low))  # fmt: skip
        tenkan, kijun, senkou = (top_t + bottom_t) / 2.0, (top_k + bottom_k) / 2.0, (
            top_s + bottom_s) / 2.0  # fmt: skip
        if self.seen < self.warm:
            return self._warming(tenkan, kijun, senkou, close)
        plotted = self.plotted
        plotted.append(((tenkan + kijun) / 2.0, senkou, close))
        senkou_a, senkou_b, chikou = plotted[0]
        # np.fmax / np.fmin: the spans are finite here (past the warm-up)
        if senkou_a >= senkou_b:
            cloud_top, cloud_bottom = senkou_a, senkou_b
        else:
            cloud_top, cloud_bottom = senkou_b, senkou_a
        above = close - cloud_top
        below = close - cloud_bottom
        above = above if above > 0.0 else 0.0  # np.maximum(x, 0.0) and np.minimum(x, 0.0)
        below = below if below < 0.0 else 0.0
        return tenkan, kijun, senkou_a, senkou_b, chikou, (above + below) / close

    def _warming(
        self, tenkan: float, kijun: float, senkou: float, close: float
    ) -> tuple[float, ...]:
        """The batch values while some window is short: NaN where talib.MAX/MIN is, the
        cloud from np.fmax/np.fmin (the one span there is) and NaN without senkou_b."""
        seen, (p_tenkan, p_kijun, p_senkou) = self.seen, self.periods
        tenkan = tenkan if seen >= p_tenkan else NAN
        kijun = kijun if seen >= p_kijun else NAN
        senkou = senkou if seen >= p_senkou else NAN
        plotted = self.plotted
        plotted.append(((tenkan + kijun) / 2.0, senkou, close))
        if len(plotted) <= self.kijun:
            return tenkan, kijun, NAN, NAN, NAN, NAN
        senkou_a, senkou_b, chikou = plotted[0]
        if senkou_b != senkou_b:
            return tenkan, kijun, senkou_a, senkou_b, chikou, NAN
        spans = [senkou_b] if senkou_a != senkou_a else [senkou_a, senkou_b]
        above = max(close - max(spans), 0.0)
        below = min(close - min(spans), 0.0)
        return tenkan, kijun, senkou_a, senkou_b, chikou, (above + below) / close


def _numpy_sum(values: list[float]) -> float:
    """``np.sum`` of a short float64 array, in its order: numpy adds up to 128 values with
    eight interleaved partial sums (pairwise summation's base case)."""
    n = len(values)
    if n > 128:
        return float(np.sum(np.array(values)))
    if n < 8:
        return _added_in_order(values)
    r0, r1, r2, r3, r4, r5, r6, r7 = values[:8]
    stop = n - n % 8
    for i in range(8, stop, 8):
        v0, v1, v2, v3, v4, v5, v6, v7 = values[i : i + 8]
        r0 += v0
        r1 += v1
        r2 += v2
        r3 += v3
        r4 += v4
        r5 += v5
        r6 += v6
        r7 += v7
    total = ((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7))
    for i in range(stop, n):
        total += values[i]
    return total


def _added_in_order(volumes: deque[float] | list[float]) -> float:
    """0.0 plus each value in turn, as np.bincount fills a bin (not ``sum``, which adds
    with compensation from Python 3.12)."""
    total = 0.0
    for volume in volumes:
        total += volume
    return total


class VprofileState(_WindowState):
    """The volume profile of the last ``window`` bars, in the batch function's order of
    operations (each bin's volumes added bar by bar from 0.0, as np.bincount adds them).

    While the window's lowest low and highest high stay, no bar changes bin: the bar
    leaving takes its volume out of the front of its bin (whose volumes are added up again
    in order) and the new bar's is added at the end of its bin. A new extreme re-bins the
    window with the batch function's own numpy calls, on the window kept twice over in a
    buffer (each bar at its slot and a window later, so the last bars are one slice)."""

    def __init__(self, window: int, bins: int, value_area: float):
        self.window = window
        self.bins = bins
        self.value_area = value_area
        self.span = window
        self._reset()

    def _reset(self) -> None:
        self.seen = 0
        self.buffer = np.zeros((2, 2 * self.window))  # typical prices, volumes
        self.written = 0
        self.volumes: deque[float] = deque()
        self.indexes: deque[int] = deque()  # each bar's bin under `range`
        self.lowest = RollingExtreme(self.window, largest=False)
        self.highest = RollingExtreme(self.window, largest=True)
        self.range: tuple[float, float] | None = None  # the (lo, hi) the bins are cut by
        self.members: list[list[float]] | None = None  # each bin's volumes in window order
        self.profile = [0.0] * self.bins

    def _rebin(self, lo: float, scale: float) -> None:
        window = self.window
        end = self.written - 1
        end = end % window + window + 1
        start = end - len(self.volumes)
        typical, volume = self.buffer[0, start:end], self.buffer[1, start:end]
        scaled = typical - lo
        scaled *= scale
        index = scaled.astype(np.intp)
        np.maximum(index, 0, out=index)  # np.clip, without its Python-level wrapper's 7 us
        np.minimum(index, self.bins - 1, out=index)
        self.profile = np.bincount(index, weights=volume, minlength=self.bins).tolist()
        self.indexes = deque(index.tolist())
        self.members = None  # sorted into bins when a bar next leaves under this range

    def _sorted_members(self) -> list[list[float]]:
        members: list[list[float]] = [[] for _ in range(self.bins)]
        for i, kept in zip(self.indexes, self.volumes, strict=True):
            members[i].append(kept)
        self.members = members
        return members

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        self.seen += 1
        high, low, close = float(bar["high"]), float(bar["low"]), float(bar["close"])
        typical, volume = (high + low + close) / 3.0, float(bar["volume"])
        lo, hi = self.lowest.push(low), self.highest.push(high)
        window, buffer = self.window, self.buffer
        slot = self.written % window
        self.written += 1
        buffer[0, slot] = buffer[0, slot + window] = typical
        buffer[1, slot] = buffer[1, slot + window] = volume
        volumes = self.volumes
        volumes.append(volume)
        leaving = len(volumes) > window
        if leaving:
            volumes.popleft()
        span = hi - lo if hi > lo else 1.0
        scale = self.bins / span
        if self.range != (lo, hi):
            self.range = (lo, hi)
            self._rebin(lo, scale)
        else:
            top = self.bins - 1
            index = int((typical - lo) * scale)  # astype(intp): towards zero; then clipped
            index = 0 if index < 0 else top if index > top else index
            profile, indexes = self.profile, self.indexes
            indexes.append(index)
            left = indexes.popleft() if leaving else None
            members = self.members
            if members is None:  # sorted from the window as it is now
                members = self._sorted_members()
            else:
                members[index].append(volume)
                if left is not None:
                    del members[left][0]
            if left is not None:
                total = 0.0  # the bin added up again in order (the new volume included)
                for kept in members[left]:
                    total += kept
                profile[left] = total
            if left != index:
                profile[index] += volume
        if self.seen < window:
            return (NAN,) * 6
        return self._levels(lo, span, close)

    def _levels(self, lo: float, span: float, close: float) -> tuple[float, ...]:
        profile, bins = self.profile, self.bins
        total = _numpy_sum(profile)
        if total <= 0:
            return (NAN,) * 6
        top = bins - 1
        ranked = sorted(profile, reverse=True)
        # np.cumsum adds in order; count the shares under 70%: the volumes are >= 0, so the
        # shares only grow and the count stops at the first one that is not under
        running, below = 0.0, 0
        limit = self.value_area - 1e-12
        for volume in ranked:
            running += volume
            if running / total >= limit:
                break
            below += 1
        threshold = ranked[below if below < top else top]
        # the first and the last bin holding at least the threshold
        low_bin = 0
        while profile[low_bin] < threshold:
            low_bin += 1
        high_bin = top
        while profile[high_bin] < threshold:
            high_bin -= 1
        width = span / bins
        poc = lo + (profile.index(max(profile)) + 0.5) * width
        vah, val = lo + (high_bin + 1) * width, lo + low_bin * width
        return poc, vah, val, close / poc - 1.0, close / vah - 1.0, close / val - 1.0
