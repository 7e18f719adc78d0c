"""Running states for the statistical features: O(1) per bar in Python floats.

The log returns, rolling moments, z-scores, autocorrelations, Hurst exponents and sign
entropies are served by carrying, bar by bar, what their window formula sums (the pattern
of ``trademl.features._running``): the newest bar's terms are added, the ones leaving the
window subtracted, and every ``window`` bars the sums are added up again exactly
(``math.fsum``), so the running subtraction's rounding never builds up past one window.

Exact features (``logret``, ``entropy``) take the batch path's very numbers: numpy's log
of the close (once per bar, shared by every state: ``log_close``), integer counts, and the
entropy terms numpy computes for each possible count. The others agree with the batch
values within their declared tolerance (see each class).

``open(history)`` replays the history's last bars through the same per-bar code, so a
warm-up and a stream of the same bars carry the same terms.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from trademl.features._bars import Bars
from trademl.features._running import (
    CANCELLED,
    NAN,
    ReplayedState,
    _divide,
    log_close,
    readd_phase,
)

__all__ = [
    "AutocorrState",
    "EntropyState",
    "HurstState",
    "KurtState",
    "LogRetState",
    "SkewState",
    "ZScoreState",
]


class _CloseState(ReplayedState):
    """A state fed one number per bar (``_value_of`` the close; by default its log), which
    never reads the window serving hands it."""

    need = 1
    n_out = 1

    def _reset(self) -> None:
        raise NotImplementedError

    def _take(self, value: float) -> tuple[float, ...]:
        raise NotImplementedError

    def _replayed(self, close: np.ndarray) -> list[float]:
        return np.log(close).tolist()  # the batch path's logs, element for element

    def open(self, history: Bars) -> tuple[float, ...]:
        self._reset()
        close = history.columns["close"]
        out = (NAN,) * self.n_out
        for value in self._replayed(close[max(len(close) - self.span, 0) :]):
            out = self._take(value)
        return out

    def update(self, window: Bars | None, bar: Mapping[str, Any]) -> tuple[float, ...]:
        return self._take(log_close(float(bar["close"])))

    def _step(self, bar: Mapping[str, Any]) -> tuple[float, ...]:
        return self.update(None, bar)


class LogRetState(_CloseState):
    """log(close_t) - log(close_t-lag) from a ring of log closes: exact."""

    def __init__(self, lag: int):
        self.lag = lag
        self.span = lag + 1
        self._reset()

    def _reset(self) -> None:
        self.logs: deque[float] = deque(maxlen=self.lag + 1)

    def _take(self, value: float) -> tuple[float, ...]:
        logs = self.logs
        logs.append(value)
        return (value - logs[0] if len(logs) > self.lag else NAN,)


class _ReturnState(_CloseState):
    """A state of 1-bar log returns (the first bar has none: NaN in the batch path)."""

    def _reset(self) -> None:
        self.prev: float | None = None
        self._reset_returns()

    def _reset_returns(self) -> None:
        raise NotImplementedError

    def _take(self, value: float) -> tuple[float, ...]:
        prev, self.prev = self.prev, value
        if prev is None:
            return (NAN,)
        return self._return(value - prev)

    def _return(self, r: float) -> tuple[float, ...]:
        raise NotImplementedError


class EntropyState(_ReturnState):
    """Counts of down / flat / up returns over the window (exact integers) and numpy's
    p * log2(p) for every count the window can hold: the batch value bit for bit."""

    def __init__(self, window: int):
        self.window = window
        self.span = window + 1
        p = np.arange(window + 1) / window
        with np.errstate(divide="ignore", invalid="ignore"):
            self.terms = np.where(p > 0, p * np.log2(p), 0.0).tolist()
        self._reset()

    def _reset_returns(self) -> None:
        self.signs: deque[int] = deque()
        self.counts = [0, 0, 0]  # down, flat, up

    def _return(self, r: float) -> tuple[float, ...]:
        sign = (r > 0.0) - (r < 0.0)
        signs, counts = self.signs, self.counts
        signs.append(sign)
        counts[sign + 1] += 1
        if len(signs) > self.window:
            counts[signs.popleft() + 1] -= 1
        elif len(signs) < self.window:
            return (NAN,)
        terms = self.terms
        # the batch order: 0 - down - flat - up
        return (0.0 - terms[counts[0]] - terms[counts[1]] - terms[counts[2]],)


class _CentredSums:
    """Sums of d, d^2, ..., d^order over the last ``window`` values, d = value - centre.

    The centre is the window's mean at the last exact re-add (every ``window`` values),
    so the power sums hold the window's spread rather than its level: the central
    moments taken from them do not cancel the level's digits away (a close of ~60,000
    with a spread of ~20, or returns trending steadily). ``run`` counts the newest
    values equal to each other: a window of one value has moments of exactly 0."""

    def __init__(self, window: int, order: int):
        self.window = window
        self.order = order
        self.values: deque[float] = deque()
        self.centre = 0.0
        self.sums = [0.0] * order
        # re-added from the first bar (no readd_phase): shifted, the fourth powers of a
        # 20-bar kurtosis drift to 1.6e-11 of the exact window values over the sample,
        # past the 1e-11 the long-history test holds them to (measured)
        self.since_exact = 0
        self.run = 0
        self.newest = NAN

    def push(self, value: float) -> None:
        values = self.values
        values.append(value)
        self.run = self.run + 1 if value == self.newest else 1
        self.newest = value
        centre, sums = self.centre, self.sums
        d = value - centre
        d2 = d * d
        if len(values) > self.window:
            o = values.popleft() - centre
            o2 = o * o
            sums[0] += d - o
            sums[1] += d2 - o2
            if self.order >= 3:
                sums[2] += d2 * d - o2 * o
            if self.order >= 4:
                sums[3] += d2 * d2 - o2 * o2
                o2, even = o2 * o2, sums[3]
            else:
                even = sums[1]
            # a value far larger than the rest left the window: its rounding would stay in
            # the sums (a crash's r^4 dwarfs a quiet window's), so add them up again now
            if o2 > CANCELLED * even:
                self._recentre()
                return
        else:
            sums[0] += d
            sums[1] += d2
            if self.order >= 3:
                sums[2] += d2 * d
            if self.order >= 4:
                sums[3] += d2 * d2
        self.since_exact += 1
        if self.since_exact >= self.window:
            self._recentre()

    def _recentre(self) -> None:
        self.since_exact = 0
        values = self.values
        self.centre = centre = math.fsum(values) / len(values)
        # the powers elementwise in numpy (the same IEEE products as Python floats, without
        # a Python loop per value: this bar would otherwise cost ~40 us more than the rest)
        d = np.fromiter(values, dtype=np.float64, count=len(values)) - centre
        d2 = d * d
        fsum = math.fsum
        sums = [fsum(d.tolist()), fsum(d2.tolist())]
        if self.order >= 3:
            sums.append(fsum((d2 * d).tolist()))
        if self.order >= 4:
            sums.append(fsum((d2 * d2).tolist()))
        self.sums = sums


class _MomentState(_ReturnState):
    """pandas' rolling skew / kurt of 1-bar log returns (pandas >= 3.1: a window of one
    value, or fewer than 3 / 4, is NaN), from centred power sums.

    pandas takes the same central moments by Welford's updates over the whole series
    (recomputing a window where they cancel); both sides carry ~1e-16 of the window's
    own spread, so they agree within ``SUM_TOLERANCE`` of the feature's size. Where a
    window's returns differ only by rounding (an exact geometric trend) its moments are
    rounding noise on both sides, and no formula reproduces the other's."""

    order = 3

    def __init__(self, window: int):
        self.window = window
        self.span = window + 1
        n = float(window)
        self.n = n
        self._reset()

    def _reset_returns(self) -> None:
        self.sums = _CentredSums(self.window, self.order)

    def _return(self, r: float) -> tuple[float, ...]:
        sums = self.sums
        sums.push(r)
        if len(sums.values) < self.window or sums.run >= self.window:
            return (NAN,)
        return (self._value(sums.sums),)

    def _value(self, sums: list[float]) -> float:
        raise NotImplementedError


class SkewState(_MomentState):
    order = 3

    def _value(self, sums: list[float]) -> float:
        n = self.n
        s1, s2, s3 = sums
        a = s1 / n
        m2 = s2 - s1 * a  # the central sums: sum((d - a)^k) from the sums of d^k
        if m2 <= 0.0:
            return NAN
        m3 = s3 - 3.0 * a * s2 + 2.0 * a * a * s1
        # pandas' calc_skew, operation for operation
        return m3 / (m2 * math.sqrt(m2)) * (n * math.sqrt(n - 1.0) / (n - 2.0))


class KurtState(_MomentState):
    order = 4

    def _value(self, sums: list[float]) -> float:
        n = self.n
        s1, s2, s3, s4 = sums
        a = s1 / n
        m2 = s2 - s1 * a  # the central sums: sum((d - a)^k) from the sums of d^k
        if m2 <= 0.0:
            return NAN
        m4 = s4 - 4.0 * a * s3 + 6.0 * a * a * s2 - 3.0 * a * a * a * s1
        # pandas' calc_kurt, operation for operation
        inner = n * (n + 1.0) * (m4 / (m2 * m2)) - 3.0 * (n - 1.0)
        return (n - 1.0) / ((n - 2.0) * (n - 3.0)) * inner


class ZScoreState(_CloseState):
    """(close - mean) / sample std of the last ``window`` closes, from sums centred on the
    window's mean (the price level's digits kept out of the sums); a window of one price
    is at its mean (0), as the batch path's."""

    def __init__(self, window: int):
        self.window = window
        self.span = window
        self._reset()

    def _reset(self) -> None:
        self.sums = _CentredSums(self.window, 2)

    def _replayed(self, close: np.ndarray) -> list[float]:
        return close.tolist()

    def update(self, window: Bars | None, bar: Mapping[str, Any]) -> tuple[float, ...]:
        return self._take(float(bar["close"]))

    def _take(self, value: float) -> tuple[float, ...]:
        sums = self.sums
        sums.push(value)
        n = self.window
        if len(sums.values) < n:
            return (NAN,)
        if sums.run >= n:
            return (0.0,)
        s1, s2 = sums.sums
        a = s1 / n
        std = math.sqrt(max((s2 - s1 * a) / (n - 1), 0.0))
        return ((value - sums.centre - a) / std if std > 0 else 0.0,)


class AutocorrState(_ReturnState):
    """Correlation of r_t with r_t-lag over the window: the batch path's running sums of
    both, their squares and products (``rolling_cov`` / ``rolling_std``), within
    ``SUM_TOLERANCE``; added up again exactly every ``window`` bars, as ``TrailingSums``.
    Counts of non-zero returns on each side keep a window of zero returns (flat bars) at
    the batch value, 0 / 0 = NaN, not the running sums' leftover rounding."""

    def __init__(self, window: int, lag: int):
        self.window = window
        self.lag = lag
        self.span = window + lag + 1
        self._reset()

    def _reset_returns(self) -> None:
        self.recent: deque[float] = deque(maxlen=self.lag + 1)
        self.pairs: deque[tuple[float, float]] = deque()
        self.sums = [0.0] * 5  # x, x^2, y, y^2, xy (x = r_t, y = r_t-lag)
        self.nonzero = [0, 0]  # returns in the window that are not 0: x, y
        self.since_exact = readd_phase(self.window, type(self).__name__, self.lag)

    def _return(self, x: float) -> tuple[float, ...]:
        recent = self.recent
        recent.append(x)
        if len(recent) <= self.lag:
            return (NAN,)
        y = recent[0]
        pairs, s, nonzero = self.pairs, self.sums, self.nonzero
        pairs.append((x, y))
        nonzero[0] += x != 0.0
        nonzero[1] += y != 0.0
        if len(pairs) > self.window:
            ox, oy = pairs.popleft()
            nonzero[0] -= ox != 0.0
            nonzero[1] -= oy != 0.0
            s[0] += x - ox
            s[1] += x * x - ox * ox
            s[2] += y - oy
            s[3] += y * y - oy * oy
            s[4] += x * y - ox * oy
        else:
            s[0] += x
            s[1] += x * x
            s[2] += y
            s[3] += y * y
            s[4] += x * y
        self.since_exact += 1
        if self.since_exact >= self.window:
            self.since_exact = 0
            fsum = math.fsum
            x, y = zip(*pairs, strict=True)
            s[:] = [
                fsum(x),
                fsum([a * a for a in x]),
                fsum(y),
                fsum([b * b for b in y]),
                fsum([a * b for a, b in zip(x, y, strict=True)]),
            ]
        if len(pairs) < self.window or not (nonzero[0] and nonzero[1]):
            return (NAN,)
        n = self.window
        cov = (s[4] - s[0] * s[2] / n) / (n - 1)
        std_x = math.sqrt(max((s[1] - s[0] * s[0] / n) / (n - 1), 0.0))
        std_y = math.sqrt(max((s[3] - s[2] * s[2] / n) / (n - 1), 0.0))
        return (_divide(cov, std_x * std_y),)


class HurstState(_CloseState):
    """The aggregated-variance Hurst slope: per lag k the k-bar log returns' sums and
    squares over the window (the arithmetic of ``TrailingSums``: running, re-added
    exactly every ``window`` bars, exactly 0 over a flat stretch as the batch path's),
    std -> log -> the weighted slope.

    One ring of log closes serves every lag: the k-bar return entering the window and the
    one leaving it are differences of two of its logs (the same floats the batch path
    subtracts). Every lag starts with the longest one, so all windows fill at the bar the
    slope gets its first value, and one count says when to add them up again."""

    def __init__(self, window: int, lags: Sequence[int]):
        self.window = window
        self.lags = tuple(lags)
        self.longest = max(self.lags)
        self.span = window + self.longest
        x = np.log(np.array(self.lags, dtype=float))
        x_centred = x - x.mean()
        weights = (x_centred / (x_centred**2).sum()).tolist()
        self.lanes = list(zip(range(len(self.lags)), self.lags, weights, strict=True))
        self._reset()

    def _reset(self) -> None:
        k = len(self.lags)
        # the window's k-bar returns and the longest lag's logs before them, and one more
        self.logs: deque[float] = deque(maxlen=self.window + self.longest + 1)
        self.s1, self.s2 = [0.0] * k, [0.0] * k
        self.nonzero = [0] * k  # k-bar returns in the window that are not 0
        self.since_exact = readd_phase(self.window, type(self).__name__, self.lags)

    def _take(self, value: float) -> tuple[float, ...]:
        logs = self.logs
        logs.append(value)
        longest, n = self.longest, self.window
        size = len(logs)
        if size <= longest:
            return (NAN,)
        s1, s2, nonzero = self.s1, self.s2, self.nonzero
        leaving = size == logs.maxlen  # the window was full: its oldest return leaves
        base = logs[longest]  # the log closing the oldest return (when one leaves)
        self.since_exact += 1
        exact = self.since_exact >= n
        # the logs the re-add reads, once for every lag
        recent = np.fromiter(logs, dtype=np.float64, count=size)[-n - longest :] if exact else None
        filled = size >= n + longest
        slope = 0.0
        for j, lag, weight in self.lanes:
            d = value - logs[-1 - lag]
            a, b = s1[j], s2[j]
            if leaving:
                o = base - logs[longest - lag]
                a += d - o
                b += d * d - o * o
                count = nonzero[j] + (d != 0.0) - (o != 0.0)
            else:
                a += d
                b += d * d
                count = nonzero[j] + (d != 0.0)
            nonzero[j] = count
            if not count:
                a = b = 0.0
            elif exact:
                a, b = self._add_up(lag, recent)
            s1[j], s2[j] = a, b
            if filled:
                std = math.sqrt(max((b - a * a / n) / (n - 1), 0.0))
                slope += weight * (math.log(std) if std > 0.0 else -math.inf)
        if exact:
            self.since_exact = 0
        if not filled:
            return (NAN,)
        return (slope if math.isfinite(slope) else NAN,)

    def _add_up(self, lag: int, logs: np.ndarray) -> tuple[float, float]:
        """The sums of one lag's k-bar returns over the window, added up exactly (the same
        differences as the loop's, taken elementwise by numpy)."""
        diffs = logs[self.longest :] - logs[self.longest - lag : len(logs) - lag]
        return math.fsum(diffs.tolist()), math.fsum((diffs * diffs).tolist())
