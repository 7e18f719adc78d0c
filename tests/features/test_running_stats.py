"""The running states serving uses for the statistical features
(trademl.features._running_stats) give the batch values bar by bar: on real BTC/USDT 1h
bars and on awkward synthetic ones (a flat stretch longer than every window, bars equal
to the one before, a crash), from a cold start (through the bar where each window just
fills) and after a warm-up, and they stay on the exact window values over a long history,
where pandas' own running moments drift."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.datasets import load_sample
from trademl.features import registry
from trademl.features._bars import Bars, bars_from_frame
from trademl.features._running import log_close

CASES = [
    *(("logret", {"lag": lag}) for lag in (1, 2, 3, 5, 10, 20, 50)),
    ("retskew", {"window": 20}),
    ("retskew", {"window": 100}),
    ("retkurt", {"window": 20}),
    ("retkurt", {"window": 100}),
    ("zscore", {"window": 20}),
    ("zscore", {"window": 50}),
    ("zscore", {"window": 200}),
    *(("autocorr", {"window": 50, "lag": lag}) for lag in (1, 2, 5)),
    ("hurst", {"window": 100}),
    ("hurst", {"window": 250}),
    ("entropy", {"window": 50}),
]
IDS = [f"{name}-{'-'.join(map(str, params.values()))}" for name, params in CASES]
WARM = 400
# the batch Hurst adds -inf and +inf (log std 0 of a flat stretch at both signs of weight)
FLAT_HURST = pytest.mark.filterwarnings("ignore:invalid value encountered in add:RuntimeWarning")
FLAT = slice(1500, 1800)  # longer than the longest window (hurst 250: 266 closes)


def _head(bars: Bars, n: int) -> Bars:
    return Bars(bars.index[:n], {k: v[:n] for k, v in bars.columns.items()})


def _bar(bars: Bars, i: int) -> dict[str, np.float64]:
    return {k: np.float64(v[i]) for k, v in bars.columns.items()}


def _stream(bars: Bars, name: str, params: dict, start: int) -> np.ndarray:
    """Open the state on the first ``start`` bars, feed the rest one by one: the value at
    every bar from ``start - 1`` on."""
    state = registry()[name].online.state(**params)
    rows = [state.open(_head(bars, start))]
    rows += [state.update(None, _bar(bars, i)) for i in range(start, len(bars))]
    return np.array(rows)[:, 0]


def _assert_like_batch(bars: Bars, name: str, params: dict, got: np.ndarray, start: int):
    feature = registry()[name]
    want = feature.run(bars, params)[0][start - 1 :]
    assert np.array_equal(np.isnan(got), np.isnan(want)), f"{name}: NaN differs"
    assert np.isfinite(got).mean() > 0.5  # a comparison of NaNs proves nothing
    if feature.online.mode == "exact":
        np.testing.assert_array_equal(got, want)
        return
    scale = np.nanmedian(np.abs(want))
    with np.errstate(invalid="ignore"):
        relative = np.abs(got - want) / np.maximum(np.abs(want), scale)
    worst = np.nanmax(relative)
    assert worst <= feature.online.tolerance, f"{name}: {worst:.1e} > {feature.online.tolerance}"


@pytest.fixture(scope="module")
def btc() -> Bars:
    return bars_from_frame(load_sample("BTCUSDT-1h").iloc[:8000])


@pytest.fixture(scope="module")
def awkward() -> Bars:
    """A random walk of 2,500 bars around 100 with a flat stretch of 300 bars (entered and
    left with ordinary moves), a run of bars closing where the one before closed, a crash."""
    rng = np.random.default_rng(11)
    log_close = np.log(100.0) + np.cumsum(rng.normal(0.0, 0.01, 2500))
    close = np.exp(log_close)
    close[FLAT] = close[FLAT.start - 1] * 1.004
    close[FLAT.stop :] *= close[FLAT.start] * 0.997 / close[FLAT.stop]
    for i in range(400, 700, 3):  # an unchanged close every third bar
        close[i] = close[i - 1]
    close[1000] = close[999]
    close[1001:] *= 0.65  # a 35% crash, the walk goes on from there
    index = pd.date_range("2024-01-01", periods=len(close), freq="1h", tz="UTC")
    frame = pd.DataFrame(
        {"open": close, "high": close * 1.002, "low": close * 0.998, "close": close},
        index=index,
    )
    frame["volume"] = np.where((index.hour % 5) == 0, 0.0, 10.0)
    return bars_from_frame(frame)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_real_bars_after_a_warm_up_stream_like_batch(btc, name, params):
    _assert_like_batch(btc, name, params, _stream(btc, name, params, WARM), WARM)


@FLAT_HURST
@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_awkward_bars_from_a_cold_start_stream_like_batch(awkward, name, params):
    """Opened on 3 bars: NaN until each window fills, the batch value at the bar it does."""
    _assert_like_batch(awkward, name, params, _stream(awkward, name, params, 3), 3)


@FLAT_HURST
def test_flat_windows_take_the_batch_values(awkward):
    """A window of one price: z-score 0 (at its mean), skew, kurtosis, autocorrelation and
    Hurst NaN (no spread), entropy 0 (every return flat), every 1-bar return 0."""
    at = FLAT.stop - 1  # every window ends inside the flat stretch
    expected = {"zscore": 0.0, "retskew": np.nan, "retkurt": np.nan, "autocorr": np.nan,
                "hurst": np.nan, "entropy": 0.0, "logret": 0.0}  # fmt: skip
    for name, params in CASES:
        got = _stream(awkward, name, params, 3)[at - 2]
        np.testing.assert_array_equal(got, expected[name], err_msg=name)
        np.testing.assert_array_equal(registry()[name].run(awkward, params)[0][at], got)


@pytest.mark.parametrize(("name", "params"), CASES, ids=IDS)
def test_a_warm_up_continues_like_a_stream_from_the_start(btc, name, params):
    """Warmed up on 1,500 bars, then streamed: the values a state fed every bar from the
    first gives (exact states bit for bit; sums re-added at another phase: within 1e-12)."""
    bars = _head(btc, 3000)
    cold = _stream(bars, name, params, 2)[1500 - 2 :]  # from bar 1,499 on
    warm = _stream(bars, name, params, 1500)
    if registry()[name].online.mode == "exact":
        np.testing.assert_array_equal(warm, cold)
    else:
        np.testing.assert_allclose(warm, cold, rtol=1e-12, atol=1e-12 * np.nanmedian(abs(cold)))


def test_long_history_stays_on_the_exact_window_values():
    """Over the whole 17,530-bar sample the states keep to a two-pass computation of each
    window (the tail formulas serving used before), checked every 97th bar: no drift,
    where pandas' running variance and 4th moment drift to ~1e-8 of the z-score and
    ~1e-9 of the kurtosis by the end (their declared tolerances)."""
    bars = bars_from_frame(load_sample("BTCUSDT-1h"))
    states = [registry()[name].online.state(**params) for name, params in CASES]
    for state in states:
        state.open(_head(bars, 2))
    worst: dict[str, float] = {}
    for i in range(2, len(bars)):
        bar = _bar(bars, i)
        values = [state.update(None, bar)[0] for state in states]
        if i % 97 or i < 300:
            continue
        window = _head(bars, i + 1)
        for (name, params), value in zip(CASES, values, strict=True):
            online = registry()[name].online
            want = online.last(window, **params)[0]
            size = max(abs(want), 0.1)  # values near 0: the rounding of a typical size
            key = f"{name}{params}"
            worst[key] = max(worst.get(key, 0.0), abs(value - want) / size)
    assert max(worst.values()) <= 1e-11, max(worst.items(), key=lambda kv: kv[1])


def test_log_close_is_numpys_log():
    """One log per bar, shared by the states, is numpy's: logret is exact with it."""
    close = load_sample("BTCUSDT-1h")["close"].to_numpy()[:3000]
    logs = [log_close(float(c)) for c in close]
    np.testing.assert_array_equal(logs, np.log(close))
    assert log_close(float(close[0])) == float(np.log(close[0]))
