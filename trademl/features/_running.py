"""Running trailing-window states for serving: O(1) per bar instead of recomputing a window.

Each state takes one closed bar at a time (``update(window, bar)``, ``bar`` the bar's values)
and carries the sums of its per-bar terms over the trailing window: the newest bar's terms
are added, the ones leaving the window subtracted. Every ``window`` bars the sums are added
up again exactly (``math.fsum`` of the terms kept), so the rounding of the running
subtraction never builds up past one window's worth. The batch functions take the same sums
from cumulative sums over the whole series (``trademl.features._rolling``), so both sides
agree within ``SUM_TOLERANCE``, like the window recompute they replace.

``open(history)`` rebuilds the state from the history's last bars with the same per-bar
code, so a warm-up and a stream of the same bars carry the same terms.

Where no tolerance would hold (Roll's square root of a covariance near 0, Kyle's division
by a variance the batch path's cumulative sums round by an amount that grows with the
series, a percentile rank that a 1e-13 tie flips), the state carries the batch path's own
cumulative sums instead (``PrefixSum``: ``np.cumsum``'s additions from the history's first
bar, numpy's log) and gives the batch values bit for bit.
"""

from __future__ import annotations

import bisect
import math
import zlib
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np

from trademl.features._bars import Bars
from trademl.features._rolling import rolling_std

__all__ = [
    "CmfState",
    "GarmanKlassState",
    "KyleLambdaState",
    "ParkinsonState",
    "PrefixSum",
    "RetStdState",
    "RogersSatchellState",
    "RollState",
    "TrailingSums",
    "VolPctState",
    "VolRatioState",
    "VwapState",
    "YangZhangState",
    "log_close",
]

NAN = float("nan")
# a term leaving the window this many times the sum that remains: ~3 digits would cancel
CANCELLED = 1e3
_GOLDEN = (math.sqrt(5.0) - 1.0) / 2.0


def readd_phase(window: int, *key: Any) -> int:
    """Where a running sum starts counting toward its first exact re-add. The windows of
    one feature set (10, 20, 50, 100, 250) divide each other, so sums that all started at
    the warm-up would all add up again on the same bar: every 100th bar was ~0.4 ms
    slower than the rest, the p99 of ``on_bar``. Each sum starts at its own point of the
    window instead, a golden-ratio step from a hash of ``key`` (the state and its
    parameters): the same for every instance, in every process, so two services or two
    runs of the same bars give the same numbers."""
    return int((zlib.crc32(repr(key).encode()) * _GOLDEN) % 1.0 * window)


# (close, np.log(close)) of the newest bar: every state of a bar asks for the same log, the
# first one pays for it (one tuple, swapped whole, so concurrent readers see a valid pair)
_NEWEST_LOG: tuple[float, float] = (NAN, NAN)


def log_close(close: float) -> float:
    """``np.log(close)`` as a float: the batch path's elementwise log (on AVX-512 machines
    ``math.log`` differs from numpy's SIMD log by an ulp at some values), taken once per
    distinct close."""
    global _NEWEST_LOG
    key, value = _NEWEST_LOG
    if close != key:
        value = float(np.log(close))
        _NEWEST_LOG = (close, value)
    return value


FOUR_LN2 = 4.0 * math.log(2.0)
GK_CO = 2.0 * math.log(2.0) - 1.0


class TrailingSums:
    """Sums of per-bar term tuples over the last ``window`` bars.

    ``zeros_with``: a column whose 0 makes the whole row 0 (the volume of a bar without
    trades); while every row in the window has it 0 the sums are exactly 0, as the batch
    path's (equal cumulative sums subtracted), not the running subtraction's leftover
    rounding (which would turn a 0 / 0 = NaN into a ratio of two tiny numbers)."""

    def __init__(self, window: int, width: int, zeros_with: int | None = None, *, owner: str = ""):
        self.window = window
        self.width = width
        self.terms: deque[tuple[float, ...]] = deque()
        self.sums = [0.0] * width
        self.since_exact = readd_phase(window, owner, width)
        self.zeros_with = zeros_with
        self.nonzero = 0  # rows in the window whose `zeros_with` column is not 0

    @property
    def full(self) -> bool:
        return len(self.terms) == self.window

    def push(self, row: tuple[float, ...]) -> list[float]:
        terms, zeros_with = self.terms, self.zeros_with
        terms.append(row)
        if zeros_with is not None and row[zeros_with] != 0.0:
            self.nonzero += 1
        if len(terms) > self.window:
            old = terms.popleft()
            if zeros_with is not None and old[zeros_with] != 0.0:
                self.nonzero -= 1
            sums = [s + (x - o) for s, x, o in zip(self.sums, row, old, strict=True)]
            # a term far larger than what remains left the window (a crash, a volume
            # spike): its rounding would stay in the sums, so add them up again now
            for o, total in zip(old, sums, strict=True):
                if abs(o) > CANCELLED * abs(total):
                    self.since_exact = self.window
                    break
        else:
            sums = [s + x for s, x in zip(self.sums, row, strict=True)]
        self.since_exact += 1
        if zeros_with is not None and self.nonzero == 0:
            sums = [0.0] * self.width
        if self.since_exact >= self.window:
            self.since_exact = 0
            sums = [math.fsum(column) for column in zip(*terms, strict=True)]
        self.sums = sums
        return sums


def _divide(a: float, b: float) -> float:
    """a / b with numpy's answers for a zero divisor (inf with the signs, NaN for 0/0)."""
    if b != 0.0:
        return a / b
    if a == 0.0 or a != a:
        return NAN
    return math.copysign(math.inf, a) * math.copysign(1.0, b)


def _std(sums: list[float], window: int, first: int = 0) -> float:
    """Sample std from the sum and sum of squares at ``first``, ``first + 1`` (the batch
    formula of ``rolling_cov``: (sum x^2 - sum x^2 / n) / (n - 1), floored at 0)."""
    s1, s2 = sums[first], sums[first + 1]
    return math.sqrt(max((s2 - s1 * s1 / window) / (window - 1), 0.0))


class ReplayedState:
    """A state the stream carries bar by bar: ``_step(bar)`` takes the bar's floats and
    returns the outputs at that bar; ``open`` rebuilds it from a history's last ``span``
    bars with the same ``_step`` (``_rewind`` first sees where that replay starts), or,
    for the states on ``PrefixSum``, from the whole history's cumulative sums at once.
    Either way it reads no window of bars."""

    opened = True
    need = 1
    span = 1
    n_out = 0  # what ``open`` returns for an empty history: n_out NaNs

    def _reset(self) -> None:
        raise NotImplementedError

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        raise NotImplementedError

    def _rewind(self, columns: Mapping[str, Any], start: int) -> None:
        """Called before the replay from bar ``start`` of the history ``columns``."""

    def open(self, history: Bars) -> tuple[float, ...]:
        self._reset()
        columns, n = history.columns, len(history)
        start = max(n - self.span, 0)
        self._rewind(columns, start)
        out = (NAN,) * self.n_out
        for i in range(start, n):
            out = self._step({k: float(v[i]) for k, v in columns.items()})
        return out

    def update(self, window: Bars, bar: Mapping[str, Any]) -> tuple[float, ...]:
        return self._step(bar)


class _BarState(ReplayedState):
    """A state of log returns or ranges: the bar before the replayed span gives its close."""

    need = 2
    span = 2
    n_out = 1

    def _rewind(self, columns: Mapping[str, Any], start: int) -> None:
        if start > 0:
            self.prev_log_close = math.log(float(columns["close"][start - 1]))


class _ReturnsState(_BarState):
    """Sums of 1-bar log returns and their squares over one or more windows."""

    def __init__(self, *windows: int):
        self.windows = windows
        self.span = max(windows) + 1
        self._reset()

    def _reset(self) -> None:
        self.prev_log_close: float | None = None
        self.sums = [TrailingSums(w, 2, owner=type(self).__name__) for w in self.windows]

    def _push(self, bar: Mapping[str, Any]) -> bool:
        log_close = math.log(float(bar["close"]))
        prev, self.prev_log_close = self.prev_log_close, log_close
        if prev is None:  # the first bar has no return (NaN in the batch path)
            return False
        r = log_close - prev
        for sums in self.sums:
            sums.push((r, r * r))
        return True


class RetStdState(_ReturnsState):
    def __init__(self, window: int):
        super().__init__(window)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        self._push(bar)
        (sums,) = self.sums
        return (_std(sums.sums, sums.window) if sums.full else NAN,)


class VolRatioState(_ReturnsState):
    def __init__(self, short: int, long: int):
        super().__init__(short, long)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        self._push(bar)
        short, long = self.sums
        if not (short.full and long.full):
            return (NAN,)
        return (_divide(_std(short.sums, short.window), _std(long.sums, long.window)),)


class _RangeState(_BarState):
    """Mean of one per-bar range term over the window (``_term`` from the bar's logs)."""

    def __init__(self, window: int):
        self.window = window
        self.span = window
        self._reset()

    def _reset(self) -> None:
        self.prev_log_close = None
        self.sums = TrailingSums(self.window, 1, owner=type(self).__name__)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        sums = self.sums.push((self._term(bar),))
        return (self._value(sums[0] / self.window) if self.sums.full else NAN,)

    @staticmethod
    def _value(mean: float) -> float:
        return math.sqrt(max(mean, 0.0))


class ParkinsonState(_RangeState):
    @staticmethod
    def _term(bar: Mapping[str, Any]) -> float:
        hl = math.log(float(bar["high"])) - math.log(float(bar["low"]))
        return hl * hl

    @staticmethod
    def _value(mean: float) -> float:
        return math.sqrt(max(mean / FOUR_LN2, 0.0))


class GarmanKlassState(_RangeState):
    @staticmethod
    def _term(bar: Mapping[str, Any]) -> float:
        log_o, log_c = math.log(float(bar["open"])), math.log(float(bar["close"]))
        hl = math.log(float(bar["high"])) - math.log(float(bar["low"]))
        co = log_c - log_o
        return 0.5 * hl * hl - GK_CO * co * co


def _rs_term(log_o: float, log_h: float, log_l: float, log_c: float) -> float:
    return (log_h - log_c) * (log_h - log_o) + (log_l - log_c) * (log_l - log_o)


class RogersSatchellState(_RangeState):
    @staticmethod
    def _term(bar: Mapping[str, Any]) -> float:
        return _rs_term(*(math.log(float(bar[k])) for k in ("open", "high", "low", "close")))


class YangZhangState(_BarState):
    """Overnight and open-to-close return stds and the Rogers-Satchell mean, together."""

    def __init__(self, window: int):
        self.window = window
        self.span = window + 1
        self.k = 0.34 / (1.34 + (window + 1) / (window - 1))
        self._reset()

    def _reset(self) -> None:
        self.prev_log_close: float | None = None
        self.sums = TrailingSums(self.window, 5, owner=type(self).__name__)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        log = math.log
        log_o, log_h = log(float(bar["open"])), log(float(bar["high"]))
        log_l, log_c = log(float(bar["low"])), log(float(bar["close"]))
        prev, self.prev_log_close = self.prev_log_close, log_c
        if prev is None:
            return (NAN,)
        overnight, co = log_o - prev, log_c - log_o
        sums = self.sums.push(
            (overnight, overnight * overnight, co, co * co, _rs_term(log_o, log_h, log_l, log_c))
        )
        if not self.sums.full:
            return (NAN,)
        w = self.window
        variance = (
            _std(sums, w, 0) ** 2 + self.k * _std(sums, w, 2) ** 2 + (1.0 - self.k) * (sums[4] / w)
        )
        return (math.sqrt(max(variance, 0.0)),)


class CmfState(_RangeState):
    """Chaikin money flow: sum(multiplier x volume) / sum(volume)."""

    def _reset(self) -> None:
        self.prev_log_close = None
        self.sums = TrailingSums(self.window, 2, zeros_with=1, owner=type(self).__name__)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        high, low = float(bar["high"]), float(bar["low"])
        close, volume = float(bar["close"]), float(bar["volume"])
        span = high - low
        multiplier = ((close - low) - (high - close)) / span if span > 0 else 0.0
        sums = self.sums.push((multiplier * volume, volume))
        return (_divide(sums[0], sums[1]) if self.sums.full else NAN,)


class VwapState(_RangeState):
    """Rolling VWAP of the typical price, and the close's distance to it."""

    n_out = 2

    def _reset(self) -> None:
        self.prev_log_close = None
        self.sums = TrailingSums(self.window, 2, zeros_with=1, owner=type(self).__name__)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        close, volume = float(bar["close"]), float(bar["volume"])
        typical = (float(bar["high"]) + float(bar["low"]) + close) / 3.0
        sums = self.sums.push((typical * volume, volume))
        if not self.sums.full:
            return (NAN, NAN)
        level = sums[0] / sums[1] if sums[1] > 0 else NAN
        return level, _divide(close, level) - 1.0


class RetMeanState(_ReturnsState):
    def __init__(self, window: int):
        super().__init__(window)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        self._push(bar)
        (sums,) = self.sums
        return (sums.sums[0] / sums.window if sums.full else NAN,)


class AmihudState(_BarState):
    """Mean |r| / quote volume over the bars that traded: sums of the ratio and the count."""

    def __init__(self, window: int):
        self.window = window
        self.span = window + 1
        self._reset()

    def _reset(self) -> None:
        self.prev_log_close: float | None = None
        self.sums = TrailingSums(self.window, 2, owner=type(self).__name__)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        close = float(bar["close"])
        log_close = math.log(close)
        prev, self.prev_log_close = self.prev_log_close, log_close
        if prev is None:
            return (NAN,)
        dollar_volume = close * float(bar["volume"])
        traded = dollar_volume > 0
        ratio = abs(log_close - prev) / dollar_volume if traded else 0.0
        sums = self.sums.push((ratio, 1.0 if traded else 0.0))
        if not self.sums.full:
            return (NAN,)
        return (sums[0] / sums[1] if sums[1] > 0 else NAN,)


class BipowerState(_BarState):
    """Realised variance and bipower variation: sums of r_t^2 and |r_t||r_t-1|."""

    n_out = 3

    def __init__(self, window: int):
        self.window = window
        self.span = window + 2
        self._reset()

    def _reset(self) -> None:
        self.prev_log_close: float | None = None
        self.prev_abs: float | None = None
        self.sums = TrailingSums(self.window, 2, owner=type(self).__name__)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        log_close = math.log(float(bar["close"]))
        prev, self.prev_log_close = self.prev_log_close, log_close
        if prev is None:
            return (NAN,) * 3
        r = log_close - prev
        prev_abs, self.prev_abs = self.prev_abs, abs(r)
        if prev_abs is None:
            return (NAN,) * 3
        sums = self.sums.push((r * r, abs(r) * prev_abs))
        if not self.sums.full:
            return (NAN,) * 3
        rv, bv = sums[0], (math.pi / 2.0) * sums[1]
        return rv, bv, max(rv - bv, 0.0) / rv if rv > 0 else 0.0


CS_DENOM = 3.0 - 2.0 * math.sqrt(2.0)


class CorwinSchultzState(_BarState):
    """The mean of the two-bar Corwin-Schultz spread (``corwin_schultz_spread`` per bar)."""

    def __init__(self, window: int):
        self.window = window
        self.span = window + 1
        self._reset()

    def _reset(self) -> None:
        self.prev: tuple[float, float, float] | None = None  # high, low, log(high / low)
        self.sums = TrailingSums(self.window, 1, owner=type(self).__name__)

    def open(self, history: Bars) -> tuple[float, ...]:
        self._reset()
        n = len(history)
        start = max(n - self.span, 0)
        if start > 0:  # the bar before the span gives its high and low
            high, low = (float(history.columns[k][start - 1]) for k in ("high", "low"))
            self.prev = (high, low, math.log(high / low))
        out = (NAN,)
        for i in range(start, n):
            out = self._step({k: history.columns[k][i] for k in ("high", "low")})
        return out

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        high, low = float(bar["high"]), float(bar["low"])
        log_hl = math.log(high / low)
        prev, self.prev = self.prev, (high, low, log_hl)
        if prev is None:
            return (NAN,)
        beta = log_hl**2 + prev[2] ** 2
        gamma = math.log(max(high, prev[0]) / min(low, prev[1])) ** 2
        alpha = (math.sqrt(2.0 * beta) - math.sqrt(beta)) / CS_DENOM - math.sqrt(gamma / CS_DENOM)
        growth = math.exp(alpha)
        spread = 2.0 * (growth - 1.0) / (1.0 + growth)
        sums = self.sums.push((max(spread, 0.0),))
        return (sums[0] / self.window if self.sums.full else NAN,)


# ---- rolling_sum's own arithmetic, carried: bit-identical to the batch path -------------
class PrefixSum:
    """``rolling_sum``'s arithmetic carried bar by bar for one column: the running total,
    added in the order ``np.cumsum`` adds from the first row, and the totals of the last
    ``window + 1`` rows; a window's sum is the newest total minus the one ``window`` rows
    before, the subtraction ``rolling_sum`` makes. So it is the batch value bit for bit,
    the batch path's own rounding included (which grows with the series' length: where a
    formula cancels, as a covariance near 0 does, no other sum can hold a tight tolerance
    against it). ``seed`` takes a history's rows at once (np.cumsum over them)."""

    __slots__ = ("window", "total", "past")

    def __init__(self, window: int):
        self.window = window
        # -0.0 + x is x for every x (-0.0 too): the first total is the first row, as in
        # np.cumsum; rolling_sum's csum starts from an exact 0.0
        self.total = -0.0
        self.past: deque[float] = deque([0.0], maxlen=window + 1)

    def seed(self, values: np.ndarray) -> float:
        """The state after these rows; returns the last window's sum (NaN if not full)."""
        if len(values) == 0:
            return self.sum()
        totals = np.cumsum(values)
        start = len(values) - self.window - 1  # the total `window` rows before the last
        if start >= 0:  # else the leading 0.0 is still in the window
            self.past.clear()
        self.past.extend(totals[max(start, 0) :].tolist())
        self.total = self.past[-1]
        return self.sum()

    def push(self, value: float) -> float:
        """Add a row; the window's sum once it is full, else NaN."""
        total = self.total = self.total + value
        past = self.past
        past.append(total)
        return total - past[0] if len(past) > self.window else NAN

    def sum(self) -> float:
        past = self.past
        return past[-1] - past[0] if len(past) > self.window else NAN


def _next_return(state: Any, bar: Mapping[str, Any]) -> float | None:
    """The new bar's log return from the batch path's logs (``log_close``), carrying the
    newest log close in ``state.prev_log_close``; None on the first bar (no return)."""
    logged = log_close(float(bar["close"]))
    prev, state.prev_log_close = state.prev_log_close, logged
    return None if prev is None else logged - prev


def _cov(sxy: float, sx: float, sy: float, window: int) -> float:
    """``rolling_cov``'s last step, the same IEEE operations in the same order."""
    return (sxy - sx * sy / window) / (window - 1)


class KyleLambdaState(ReplayedState):
    """cov(r, flow) / var(flow) from the rolling sums of r, the signed flow sign(r) x close
    x volume, r x flow and flow^2, as ``kyle_lambda`` takes them: bit-identical."""

    def __init__(self, window: int):
        self.window = window
        self._reset()

    def _reset(self) -> None:
        self.sums = tuple(PrefixSum(self.window) for _ in range(4))
        self.prev_log_close: float | None = None

    def open(self, history: Bars) -> tuple[float, ...]:
        self._reset()
        close, volume = history.columns["close"], history.columns["volume"]
        if len(close) == 0:
            return (NAN,)
        log_close = np.log(close)
        self.prev_log_close = float(log_close[-1])
        r = log_close[1:] - log_close[:-1]
        signed = np.sign(r) * close[1:] * volume[1:]
        columns = (r, signed, r * signed, signed * signed)
        return self._value(*(s.seed(c) for s, c in zip(self.sums, columns, strict=True)))

    def _value(self, sr: float, sf: float, srf: float, sff: float) -> tuple[float, ...]:
        w = self.window
        return (_divide(_cov(srf, sr, sf, w), _cov(sff, sf, sf, w)),)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        r = _next_return(self, bar)
        if r is None:
            return (NAN,)
        sign = 1.0 if r > 0 else -1.0 if r < 0 else 0.0  # np.sign
        signed = sign * float(bar["close"]) * float(bar["volume"])
        sr, sf, srf, sff = self.sums
        return self._value(sr.push(r), sf.push(signed), srf.push(r * signed),
                           sff.push(signed * signed))  # fmt: skip


class RollState(ReplayedState):
    """2 sqrt(max(-cov(r_t, r_t-1), 0)) from the rolling sums ``roll`` takes: of r (from the
    first return) and of r_t x r_t-1 (from the second); the sum of r_t-1 is the one of r a
    bar earlier (the same cumulative sums, one row later). Bit-identical, so also where the
    covariance is within rounding of 0 (where the square root turns any other sum's 1e-20
    into a spread of 1e-11)."""

    def __init__(self, window: int):
        self.window = window
        self._reset()

    def _reset(self) -> None:
        self.returns = PrefixSum(self.window)
        self.products = PrefixSum(self.window)
        self.prev_log_close: float | None = None
        self.prev_r: float | None = None
        self.prev_sum = NAN  # the sum of r over the window ending a bar ago

    def open(self, history: Bars) -> tuple[float, ...]:
        self._reset()
        close = history.columns["close"]
        if len(close) == 0:
            return (NAN,)
        log_close = np.log(close)
        self.prev_log_close = float(log_close[-1])
        r = log_close[1:] - log_close[:-1]
        if len(r) == 0:
            return (NAN,)
        self.prev_r = float(r[-1])
        # the window ending a bar ago: the same cumulative sums, one row shorter
        self.prev_sum = PrefixSum(self.window).seed(r[:-1])
        return self._value(self.returns.seed(r), self.products.seed(r[1:] * r[:-1]))

    def _value(self, sx: float, sxy: float) -> tuple[float, ...]:
        sy, self.prev_sum = self.prev_sum, sx
        # NaN (a window not full yet) stays NaN through max and sqrt, as np.maximum's
        return (2.0 * math.sqrt(max(-_cov(sxy, sx, sy, self.window), 0.0)),)

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        r = _next_return(self, bar)
        if r is None:
            return (NAN,)
        prev_r, self.prev_r = self.prev_r, r
        sx = self.returns.push(r)
        if prev_r is None:
            self.prev_sum = sx
            return (NAN,)
        return self._value(sx, self.products.push(r * prev_r))


class VolPctState(ReplayedState):
    """The return std's rank among its last ``lookback`` values (``rolling_rank_pct``):
    the std from the batch path's own cumulative sums of r and r^2 (``PrefixSum``), so the
    same number bit for bit. A std 1e-13 off would move the rank by 1 / lookback wherever
    two stds of the lookback are that close (a flat stretch gives many equal ones); the
    earlier stds are kept sorted, so the rank is one bisection."""

    def __init__(self, window: int, lookback: int):
        self.window = window
        self.lookback = lookback
        self._reset()

    def _reset(self) -> None:
        self.sums = PrefixSum(self.window)
        self.squares = PrefixSum(self.window)
        self.prev_log_close: float | None = None
        self.stds: deque[float] = deque()  # the last `lookback` stds (none NaN), in order
        self.ranked: list[float] = []  # the same, sorted

    def open(self, history: Bars) -> tuple[float, ...]:
        self._reset()
        close = history.columns["close"]
        if len(close) == 0:
            return (NAN,)
        r = history.logret()
        self.prev_log_close = float(np.log(close[-1]))
        self.sums.seed(r[1:])
        self.squares.seed(r[1:] * r[1:])
        stds = rolling_std(r, self.window)[-self.lookback :].tolist()
        self.stds.extend(s for s in stds if s == s)
        self.ranked = sorted(self.stds)
        return (self._rank(stds[-1]) if stds else NAN,)

    def _rank(self, current: float) -> float:
        if len(self.stds) < self.lookback:
            return NAN
        return bisect.bisect_right(self.ranked, current) / self.lookback

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        r = _next_return(self, bar)
        if r is None:
            return (NAN,)
        s1, s2 = self.sums.push(r), self.squares.push(r * r)
        if s1 != s1:  # the first window is not full yet
            return (NAN,)
        # rolling_std: sqrt(max((sum x^2 - sum x sum x / n) / (n - 1), 0))
        current = math.sqrt(max(_cov(s2, s1, s1, self.window), 0.0))
        stds, ranked = self.stds, self.ranked
        if len(stds) == self.lookback:
            del ranked[bisect.bisect_left(ranked, stds.popleft())]
        stds.append(current)
        bisect.insort(ranked, current)
        return (self._rank(current),)
