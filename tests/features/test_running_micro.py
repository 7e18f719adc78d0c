"""Kyle's lambda and the Roll spread are served by states that carry the batch path's own
cumulative sums (trademl.features._running.PrefixSum), so they give the batch values bit
for bit, also where the batch formula is fragile: a covariance within rounding of 0 under
Roll's square root, a flow variance of 1e18 from a volume spike, windows without flow."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trademl.datasets import load_sample
from trademl.features import registry
from trademl.features._bars import Bars, bars_from_frame
from trademl.features._registry import SUM_TOLERANCE
from trademl.features._rolling import rolling_sum
from trademl.features._running import PrefixSum

MICRO = [("roll", {"window": 20}), ("kyle_lambda", {"window": 20}), ("roll", {"window": 3}),
         ("kyle_lambda", {"window": 2})]  # fmt: skip
# the window states made cheaper: bit-identical still (volpct: its declared tolerance is
# 1e-9, its state now carries the batch sums and is exact), or within their tolerance
EXACT = [
    ("volpct", {"window": 20, "lookback": 100}),
    ("vprofile", {"window": 50, "bins": 24}),
    ("vprofile", {"window": 5, "bins": 7}),
    ("ichimoku", {"tenkan": 9, "kijun": 26, "senkou": 52}),
    ("ichimoku", {"tenkan": 3, "kijun": 2, "senkou": 5}),
    ("swing", {"order": 5}),
]
WITHIN = [("corwin_schultz", {"window": 20}), ("yang_zhang", {"window": 20})]


def _awkward_candles() -> pd.DataFrame:
    candles = load_sample("BTCUSDT-1h").iloc[:1400].copy()
    volume, column = candles["volume"].to_numpy(), candles.columns.get_loc
    for start in range(300, 700, 47):  # no trades for a little longer than a window
        candles.iloc[start : start + 23, column("volume")] = 0.0
    candles.iloc[750, column("volume")] = volume[750] * 1e4  # a flow 1e4x the others
    candles.iloc[760:800, column("volume")] = volume[760:800] * 1e-3  # then a quiet stretch
    flat = candles.index[900:960]  # one price all bar long, bars after bars: no returns
    candles.loc[flat, ["open", "high", "low", "close"]] = candles.loc[flat[0], "open"]
    candles.iloc[1000] = candles.iloc[999]  # a bar equal to the previous one
    # up, up, down, down by the same factor: the returns' autocovariance is 0 but for
    # rounding, so Roll's max(-cov, 0) falls either side of 0 by 1e-19
    price = float(candles["close"].iloc[1099])
    for i in range(1100, 1200):
        price *= 1.001 if (i // 2) % 2 == 0 else 1 / 1.001
        candles.iloc[i, [column(k) for k in ("open", "high", "low", "close")]] = price
    return candles


@pytest.fixture(scope="module")
def bars() -> Bars:
    return bars_from_frame(_awkward_candles())


def _head(bars: Bars, n: int) -> Bars:
    return Bars(bars.index[:n], {k: v[:n] for k, v in bars.columns.items()})


def _stream(state, bars: Bars, start: int) -> np.ndarray:
    rows = [state.open(_head(bars, start))]
    for i in range(start, len(bars)):
        rows.append(state.update(None, {k: np.float64(v[i]) for k, v in bars.columns.items()}))
    return np.array(rows)


@pytest.mark.parametrize(("name", "params"), MICRO + EXACT)
@pytest.mark.parametrize("warm", [1, 2, "filled", 400])
def test_state_streams_bit_identical(bars, name, params, warm):
    """Opened on one bar, two, the bars that just fill the first window, or 400 bars, then
    streamed: the batch values exactly, NaNs of the warm-up included."""
    feature = registry()[name]
    batch = feature.run(bars, params)
    start = feature.warmup_bars(params) + 1 if warm == "filled" else warm
    got = _stream(feature.online.state(**params), bars, start)
    for j, want in enumerate(batch):
        np.testing.assert_array_equal(got[:, j], want[start - 1 :], err_msg=f"{name}[{j}] @{start}")
    assert np.isfinite(got[-200:]).all()


@pytest.mark.parametrize(("name", "params"), WITHIN)
@pytest.mark.parametrize("warm", [1, "filled", 400])
def test_state_streams_within_its_tolerance(bars, name, params, warm):
    feature = registry()[name]
    batch = feature.run(bars, params)
    start = feature.warmup_bars(params) + 1 if warm == "filled" else warm
    got = _stream(feature.online.state(**params), bars, start)
    for j, want in enumerate(batch):
        want = want[start - 1 :]
        assert np.array_equal(np.isnan(got[:, j]), np.isnan(want)), f"{name}[{j}]: NaN differs"
        scale = np.nanmedian(np.abs(want))
        relative = np.abs(got[:, j] - want) / np.maximum(np.abs(want), scale)
        assert np.nanmax(relative) <= feature.online.tolerance, f"{name}[{j}] @{start}"


def test_the_awkward_bars_are_in_the_stream(bars):
    """The fixture really holds what the parity test claims to cover."""
    params = {"window": 20}
    roll = registry()["roll"].run(bars, params)[0]
    kyle = registry()["kyle_lambda"].run(bars, params)[0]
    assert np.isnan(kyle[320:323]).all()  # 20 bars without trades: 0 / 0
    assert (roll[920:960] == 0.0).all() and np.isnan(kyle[920:960]).all()  # no returns
    # Roll's covariance within 1e-17 of 0 where it is 0 in exact arithmetic
    r = bars.logret()
    cov = (rolling_sum(r[1:] * r[:-1], 20)[1:] - rolling_sum(r, 20)[2:]
           * rolling_sum(r, 20)[1:-1] / 20) / 19  # fmt: skip
    assert np.nanmax(np.abs(cov[1125:1195])) < 1e-17
    assert (roll[1126:1196] > 0).any() and (roll[1126:1196] == 0).any()


def test_a_window_sum_would_not_hold_roll_near_zero(bars):
    """Why Roll is served from the batch path's own sums: where the covariance is 0 but
    for rounding, a window's sums taken otherwise (math.fsum, or the two-pass formula the
    tail recompute used) round to the other side of 0 at some bars, and the square root
    turns that 1e-20 into a spread several 1e-9 of the column's size (1e-7 on other
    bars): past SUM_TOLERANCE, where the carried cumulative sums are exact."""
    roll = registry()["roll"].run(bars, {"window": 20})[0]
    r = bars.logret()
    worst = 0.0
    for t in range(1125, 1195):
        x, y = r[t - 19 : t + 1], r[t - 20 : t]
        exact = (math.fsum(x * y) - math.fsum(x) * math.fsum(y) / 20) / 19
        two_pass = float(np.sum((x - x.sum() / 20) * (y - y.sum() / 20))) / 19
        for cov in (exact, two_pass):
            worst = max(worst, abs(2.0 * math.sqrt(max(-cov, 0.0)) - roll[t]))
    assert worst / np.nanmedian(roll) > SUM_TOLERANCE


def test_prefix_sums_are_rolling_sum():
    """Seeded with a history and pushed the rest, in any split: rolling_sum's numbers."""
    rng = np.random.default_rng(3)
    values = rng.normal(size=300) * 10 ** rng.uniform(-3, 9, size=300)
    values[:40:7] = 0.0
    values[0] = -0.0  # np.cumsum keeps a leading -0.0
    want = rolling_sum(values, 10)
    for split in (0, 1, 9, 10, 11, 150):
        sums = PrefixSum(10)
        got = [sums.seed(values[:split])]
        got += [sums.push(float(value)) for value in values[split:]]
        expected = want[split - 1 :] if split else np.concatenate(([np.nan], want))
        np.testing.assert_array_equal(got, expected, err_msg=f"split {split}")
