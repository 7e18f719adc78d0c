"""The running states serving uses for rolling-sum features (trademl.features._running)
give the batch values bar by bar, also where the sums are degenerate: a stretch of
zero-volume bars (CMF and VWAP divide by the volume sum) and flat bars (high == low)."""

from __future__ import annotations

import numpy as np
import pytest

from trademl.datasets import load_sample
from trademl.features import registry
from trademl.features._bars import Bars, bars_from_frame
from trademl.features._online_state import _numpy_sum
from trademl.features._registry import SUM_TOLERANCE
from trademl.features._running import TrailingSums

CASES = [
    ("retstd", {"window": 10}),
    ("volratio", {"short": 10, "long": 50}),
    ("volpct", {"window": 20, "lookback": 100}),
    ("parkinson", {"window": 20}),
    ("garman_klass", {"window": 20}),
    ("rogers_satchell", {"window": 20}),
    ("yang_zhang", {"window": 20}),
    ("cmf", {"window": 20}),
    ("vwap", {"window": 20}),
    ("retmean", {"window": 20}),
    ("amihud", {"window": 20}),
    ("bipower", {"window": 20}),
    ("corwin_schultz", {"window": 20}),
]
WARM = 400


@pytest.fixture(scope="module")
def bars() -> Bars:
    candles = load_sample("BTCUSDT-1h").iloc[:1500].copy()
    # no trades for a little longer than a window, at every phase of the exact re-adds
    for start in range(600, 1100, 51):
        candles.iloc[start : start + 23, candles.columns.get_loc("volume")] = 0.0
    flat = candles.index[1200:1260]  # one price all bar long, bars after bars
    price = candles.loc[flat[0], "open"]
    candles.loc[flat, ["open", "high", "low", "close"]] = price
    return bars_from_frame(candles)


def _head(bars: Bars, n: int) -> Bars:
    return Bars(bars.index[:n], {k: v[:n] for k, v in bars.columns.items()})


@pytest.mark.parametrize(("name", "params"), CASES)
def test_state_streams_like_batch(bars, name, params):
    feature = registry()[name]
    batch = feature.run(bars, params)
    state = feature.online.state(**params)
    rows = [state.open(_head(bars, WARM))]
    for i in range(WARM, len(bars)):
        bar = {k: np.float64(v[i]) for k, v in bars.columns.items()}
        rows.append(state.update(_head(bars, i + 1), bar))
    got = np.array(rows)
    for j, want in enumerate(batch):
        want = want[WARM - 1 :]
        assert np.array_equal(np.isnan(got[:, j]), np.isnan(want)), f"{name}[{j}]: NaN differs"
        scale = np.nanmedian(np.abs(want))
        with np.errstate(invalid="ignore"):
            relative = np.abs(got[:, j] - want) / np.maximum(np.abs(want), scale)
        assert np.nanmax(relative) <= SUM_TOLERANCE, f"{name}[{j}]: {np.nanmax(relative):.1e}"


def test_a_cold_state_equals_a_warmed_one(bars):
    """Opened on one bar and fed the rest gives what opening on the whole history gives."""
    feature = registry()["yang_zhang"]
    cold = feature.online.state(window=20)
    cold.open(_head(bars, 1))
    for i in range(1, WARM):
        last = cold.update(None, {k: v[i] for k, v in bars.columns.items()})
    warm = feature.online.state(window=20).open(_head(bars, WARM))
    assert np.isfinite(last[0])
    np.testing.assert_allclose(last, warm, rtol=1e-12)


def test_trailing_sums_are_re_added_exactly():
    """Values 1e16 apart: the running subtraction loses the small ones, the exact re-add
    every window bars brings the sum back."""
    sums = TrailingSums(4, 1)
    for value in (1e16, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0):
        total = sums.push((value,))[0]
    assert total == 4.0


EXACT = [
    ("donchian", {"timeperiod": 20}),
    ("ichimoku", {"tenkan": 9, "kijun": 26, "senkou": 52}),
    ("vprofile", {"window": 50, "bins": 24}),
]


@pytest.mark.parametrize(("name", "params"), EXACT)
def test_exact_state_streams_bit_identical(bars, name, params):
    """Past the warm-up: the batch values exactly, flat and trade-less bars included."""
    feature = registry()[name]
    batch = feature.run(bars, params)
    state = feature.online.state(**params)
    start = feature.warmup_bars(params) + 1
    rows = [state.open(_head(bars, start))]
    for i in range(start, len(bars)):
        rows.append(state.update(None, {k: np.float64(v[i]) for k, v in bars.columns.items()}))
    got = np.array(rows)
    for j, want in enumerate(batch):
        np.testing.assert_array_equal(got[:, j], want[start - 1 :], err_msg=f"{name}[{j}]")


def test_numpy_sum_order_is_replicated():
    rng = np.random.default_rng(7)
    for n in (3, 8, 24, 50, 128, 200):
        for _ in range(200):
            values = rng.exponential(size=n) * 10 ** rng.uniform(-3, 6, size=n)
            assert _numpy_sum(values.tolist()) == values.sum(), n
