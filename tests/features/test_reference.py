"""Every hand-written feature against an independent reference: pandas/scipy/arch or the
textbook formula written out plainly, on real BTC data."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import talib
from scipy import stats

from trademl.features import generate_features


def compute(frame, name, reference=None, **params):
    spec = {"indicators": [{"name": name, "params": params}]}
    data = {} if reference is None else {"reference": reference}
    return generate_features(frame, spec, **data)


def assert_close(actual, expected, rtol=1e-9, atol=0.0, name=""):
    actual = np.asarray(actual, dtype=float)
    expected = np.asarray(expected, dtype=float)
    assert np.isnan(actual).sum() == np.isnan(expected).sum(), f"{name}: NaN pattern differs"
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol, err_msg=name)


@pytest.fixture(scope="module")
def c(btc):
    return btc.copy()


@pytest.fixture(scope="module")
def r(btc):
    return np.log(btc["close"]).diff()


def test_ichimoku_causal_chikou_and_spans(c):
    out = compute(c, "ichimoku")
    mid = lambda n: (c["high"].rolling(n).max() + c["low"].rolling(n).min()) / 2  # noqa: E731
    assert_close(out["ichimoku_9_26_52_tenkan"], mid(9))
    assert_close(out["ichimoku_9_26_52_kijun"], mid(26))
    assert_close(out["ichimoku_9_26_52_senkou_a"], ((mid(9) + mid(26)) / 2).shift(26))
    assert_close(out["ichimoku_9_26_52_senkou_b"], mid(52).shift(26))
    # the chikou span is the close 26 bars AGO, never the close 26 bars ahead
    assert_close(out["ichimoku_9_26_52_chikou"], c["close"].shift(26))


def test_keltner_and_donchian(c):
    out = compute(c, "keltner")
    middle = talib.EMA(c["close"].to_numpy(), 20)
    atr = talib.ATR(c["high"].to_numpy(), c["low"].to_numpy(), c["close"].to_numpy(), 10)
    assert_close(out["keltner_20_10_2_upper"], middle + 2 * atr)
    assert_close(out["keltner_20_10_2_lower"], middle - 2 * atr)
    out = compute(c, "donchian", timeperiod=20)
    assert_close(out["donchian_20_upper"], c["high"].rolling(20).max())
    assert_close(out["donchian_20_lower"], c["low"].rolling(20).min())


def test_range_based_volatility_estimators(c, r):
    o, h, low, cl = (np.log(c[k]) for k in ("open", "high", "low", "close"))
    w = 20
    park = np.sqrt(((h - low) ** 2).rolling(w).mean() / (4 * math.log(2)))
    gk = np.sqrt((0.5 * (h - low) ** 2 - (2 * math.log(2) - 1) * (cl - o) ** 2).rolling(w).mean())
    rs_bar = (h - cl) * (h - o) + (low - cl) * (low - o)
    rs = np.sqrt(rs_bar.rolling(w).mean())
    k = 0.34 / (1.34 + (w + 1) / (w - 1))
    yz = np.sqrt(
        (o - cl.shift(1)).rolling(w).var() + k * (cl - o).rolling(w).var()
        + (1 - k) * rs_bar.rolling(w).mean()
    )  # fmt: skip
    assert_close(compute(c, "parkinson")["parkinson_20"], park, rtol=1e-7)
    assert_close(compute(c, "garman_klass")["garman_klass_20"], gk, rtol=1e-7)
    assert_close(compute(c, "rogers_satchell")["rogers_satchell_20"], rs, rtol=1e-7)
    assert_close(compute(c, "yang_zhang")["yang_zhang_20"], yz, rtol=1e-6)
    assert_close(compute(c, "retstd", window=20)["retstd_20"], r.rolling(20).std(), rtol=1e-6)
    ratio = r.rolling(10).std() / r.rolling(50).std()
    assert_close(compute(c, "volratio")["volratio_10_50"], ratio, rtol=1e-6)
    pct = r.rolling(20).std().rolling(100).rank(pct=True, method="max")
    # rank ties differ only by float noise between the two std implementations
    got = compute(c, "volpct")["volpct_20_100"]
    assert (np.abs(got - pct).dropna() > 0.011).mean() < 0.001


def test_volume_features(c):
    h, low, cl, v = c["high"], c["low"], c["close"], c["volume"]
    mfm = ((cl - low) - (h - cl)) / (h - low)
    cmf = (mfm.fillna(0) * v).rolling(20).sum() / v.rolling(20).sum()
    assert_close(compute(c, "cmf")["cmf_20"], cmf, rtol=1e-7)
    vpt = (v * cl.pct_change()).cumsum()
    assert_close(compute(c, "vpt")["vpt"], vpt, rtol=1e-9)
    tp = (h + low + cl) / 3
    vwap = (tp * v).rolling(20).sum() / v.rolling(20).sum()
    out = compute(c, "vwap", window=20)
    assert_close(out["vwap_20"], vwap, rtol=1e-7)
    assert_close(out["vwap_20_dist"], cl / vwap - 1, rtol=1e-5)
    out = compute(c, "vol_sma")
    assert_close(out["vol_sma_20_ratio"], v / v.rolling(20).mean(), rtol=1e-7)


def test_volume_profile_against_numpy_histogram(c):
    window, bins = 50, 24
    out = compute(c, "vprofile", window=window, bins=bins)
    tp = ((c["high"] + c["low"] + c["close"]) / 3).to_numpy()
    vol = c["volume"].to_numpy()
    mismatches = 0
    rows = range(window - 1, len(c), 7)
    for t in rows:
        lo = c["low"].iloc[t - window + 1 : t + 1].min()
        hi = c["high"].iloc[t - window + 1 : t + 1].max()
        hist, edges = np.histogram(tp[t - window + 1 : t + 1], bins=bins, range=(lo, hi),
                                   weights=vol[t - window + 1 : t + 1])  # fmt: skip
        poc = (edges[np.argmax(hist)] + edges[np.argmax(hist) + 1]) / 2
        order = np.argsort(-hist, kind="stable")
        share = np.cumsum(hist[order]) / hist.sum()
        take = order[: int(np.searchsorted(share, 0.7 - 1e-12)) + 1]
        threshold = hist[take[-1]]
        area = np.flatnonzero(hist >= threshold)
        expected = (poc, edges[area.max() + 1], edges[area.min()])
        got = (out["vprofile_50_24_poc"].iloc[t], out["vprofile_50_24_vah"].iloc[t],
               out["vprofile_50_24_val"].iloc[t])  # fmt: skip
        if not np.allclose(got, expected, rtol=1e-9):
            mismatches += 1
    # a typical price exactly on a bin edge may land one bin apart: allow a handful
    assert mismatches <= len(rows) * 0.002


def test_swing_support_resistance(c):
    order = 5
    out = compute(c, "swing", order=order)
    high, low = c["high"].to_numpy(), c["low"].to_numpy()
    resistance = np.full(len(c), np.nan)
    support = np.full(len(c), np.nan)
    last_high = last_low = np.nan
    for t in range(len(c)):
        j = t - order  # the candidate swing bar, confirmed now
        if j - order >= 0:
            if high[j] == high[j - order : t + 1].max():
                last_high = high[j]
            if low[j] == low[j - order : t + 1].min():
                last_low = low[j]
        resistance[t], support[t] = last_high, last_low
    assert_close(out["swing_5_resistance"], resistance)
    assert_close(out["swing_5_support"], support)


def test_statistical_features(c, r):
    assert_close(compute(c, "logret", lag=5)["logret_5"], np.log(c["close"] / c["close"].shift(5)))
    assert_close(compute(c, "retmean", window=20)["retmean_20"], r.rolling(20).mean(), rtol=1e-6)
    skew = compute(c, "retskew", window=50)["retskew_50"].to_numpy()
    kurt = compute(c, "retkurt", window=50)["retkurt_50"].to_numpy()
    values = r.to_numpy()
    assert np.isnan(skew[:50]).all() and np.isnan(kurt[:50]).all()
    for t in range(50, len(c), 37):
        window = values[t - 49 : t + 1]
        assert skew[t] == pytest.approx(stats.skew(window, bias=False), rel=1e-6)
        assert kurt[t] == pytest.approx(stats.kurtosis(window, bias=False), rel=1e-6)
    z = (c["close"] - c["close"].rolling(20).mean()) / c["close"].rolling(20).std()
    assert_close(compute(c, "zscore", window=20)["zscore_20"], z, rtol=1e-6, atol=1e-9)
    auto = r.rolling(50).corr(r.shift(2))
    assert_close(
        compute(c, "autocorr", window=50, lag=2)["autocorr_50_2"], auto, rtol=1e-5, atol=1e-9
    )


def test_hurst_against_polyfit_and_on_a_random_walk(c):
    window = 100
    got = compute(c, "hurst", window=window)["hurst_100"].to_numpy()
    logp = np.log(c["close"].to_numpy())
    lags = np.array([1, 2, 4, 8, 16])
    for t in range(window + 15, len(c), 97):
        stds = [np.std(logp[t - window + 1 : t + 1] - logp[t - window + 1 - k : t + 1 - k], ddof=1)
                for k in lags]  # fmt: skip
        slope = np.polyfit(np.log(lags), np.log(stds), 1)[0]
        assert got[t] == pytest.approx(slope, rel=1e-6)
    # a Gaussian random walk has H = 0.5
    rng = np.random.default_rng(7)
    walk = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, 20_000)))
    frame = pd.DataFrame({"open": walk, "high": walk, "low": walk, "close": walk},
                         index=pd.date_range("2020", periods=len(walk), freq="h", tz="UTC"))  # fmt: skip
    h = compute(frame, "hurst", window=250)["hurst_250"]
    assert h.mean() == pytest.approx(0.5, abs=0.03)


def test_entropy_against_scipy(c, r):
    got = compute(c, "entropy", window=50)["entropy_50"].to_numpy()
    signs = np.sign(r.to_numpy())
    for t in range(50, len(c), 53):
        counts = [np.sum(signs[t - 49 : t + 1] == s) for s in (-1, 0, 1)]
        assert got[t] == pytest.approx(stats.entropy(counts, base=2), rel=1e-9)
    assert np.isnan(got[:50]).all()


def test_cross_asset_correlation_and_beta(c, r, eth_close):
    out = compute(c, "xcorr", reference=eth_close, window=50)
    ref_r = np.log(eth_close.reindex(c.index)).diff()
    assert_close(out["xcorr_50_corr"], r.rolling(50).corr(ref_r), rtol=1e-5, atol=1e-9)
    beta = r.rolling(50).cov(ref_r) / ref_r.rolling(50).var()
    assert_close(out["xcorr_50_beta"], beta, rtol=1e-5, atol=1e-9)
    assert out["xcorr_50_corr"].mean() > 0.5  # BTC and ETH move together


def test_candle_microstructure_estimators(c, r):
    cov = r.rolling(20).cov(r.shift(1))
    assert_close(
        compute(c, "roll")["roll_20"], 2 * np.sqrt(np.maximum(-cov, 0)), rtol=1e-5, atol=1e-9
    )

    h, low = c["high"].to_numpy(), c["low"].to_numpy()
    spread = np.full(len(c), np.nan)
    for t in range(1, len(c)):
        beta = math.log(h[t] / low[t]) ** 2 + math.log(h[t - 1] / low[t - 1]) ** 2
        gamma = math.log(max(h[t], h[t - 1]) / min(low[t], low[t - 1])) ** 2
        k = 3 - 2 * math.sqrt(2)
        alpha = (math.sqrt(2 * beta) - math.sqrt(beta)) / k - math.sqrt(gamma / k)
        spread[t] = max(0.0, 2 * (math.exp(alpha) - 1) / (1 + math.exp(alpha)))
    expected = pd.Series(spread).rolling(20).mean().to_numpy()
    assert_close(compute(c, "corwin_schultz")["corwin_schultz_20"], expected, rtol=1e-7, atol=1e-12)

    dollar = c["close"] * c["volume"]
    ratio = (r.abs() / dollar).where(dollar > 0)
    amihud = ratio.rolling(20, min_periods=1).mean().where(r.notna().rolling(20).sum() == 20)
    assert_close(compute(c, "amihud")["amihud_20"], amihud, rtol=1e-7)

    signed = (np.sign(r) * dollar).to_numpy()
    kyle = compute(c, "kyle_lambda")["kyle_lambda_20"].to_numpy()
    for t in range(25, len(c), 61):
        slope = np.polyfit(signed[t - 19 : t + 1], r.to_numpy()[t - 19 : t + 1], 1)[0]
        assert kyle[t] == pytest.approx(slope, rel=1e-5)

    out = compute(c, "bipower")
    rv = (r**2).rolling(20).sum()
    bv = (math.pi / 2) * (r.abs() * r.abs().shift(1)).rolling(20).sum()
    assert_close(out["bipower_20_bv"], bv, rtol=1e-7)
    assert_close(out["bipower_20_rv"], rv.where(bv.notna()), rtol=1e-7)
    assert_close(out["bipower_20_jump"], np.maximum(rv - bv, 0) / rv, rtol=1e-6, atol=1e-12)


def test_garch_matches_arch_forecast_with_the_same_parameters(btc_full):
    from arch import arch_model

    frame = btc_full.iloc[:4000]
    window, refit = 1000, 1500
    got = compute(frame, "garch", window=window, refit=refit)[f"garch_{window}_{refit}"]
    r = 100 * np.log(frame["close"]).diff().to_numpy()
    assert got.iloc[: window + 1].isna().all() and got.iloc[window + 1 :].notna().all()
    for fit_at, t in ((1001, 1001), (1001, 2400), (2501, 3999)):
        model = arch_model(r[fit_at - window : fit_at], mean="Zero", vol="GARCH", p=1, q=1,
                           rescale=False)  # fmt: skip
        params = model.fit(disp="off", options={"maxiter": 200}).params
        # the same parameters, filtered by arch itself over the data up to bar t
        path = arch_model(r[fit_at - window : t + 1], mean="Zero", vol="GARCH", p=1, q=1,
                          rescale=False)  # fmt: skip
        forecast = path.fix(params.to_numpy()).forecast(horizon=1, reindex=False)
        expected = math.sqrt(forecast.variance.to_numpy()[-1, 0]) / 100
        assert got.iloc[t] == pytest.approx(expected, rel=1e-6)
