"""generate_features: the default set, names, spec, bad input, cache, float32, user features."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from trademl.errors import DataError, SpecError
from trademl.features import FeatureError, feature, generate_features, list_features, unregister


@pytest.fixture(scope="module")
def default_frame(btc):
    return generate_features(btc)


def test_default_set_has_over_200_named_columns_aligned_to_the_input(btc, default_frame):
    assert default_frame.shape[1] >= 200
    assert default_frame.index.equals(btc.index)
    expected = [
        "rsi_14", "sma_20", "ema_200", "macd_12_26_9", "macd_12_26_9_signal", "macd_12_26_9_hist",
        "bbands_20_2_upper", "bbands_20_2_pctb", "atr_14", "adx_14", "stoch_14_3_3_k",
        "ichimoku_9_26_52_tenkan", "cdl_engulfing", "logret_1", "sma_20_dist", "obv",
        "vprofile_50_24_poc", "garch_2000_10000", "hurst_100", "roll_20", "yang_zhang_20",
    ]  # fmt: skip
    missing = [c for c in expected if c not in default_frame.columns]
    assert not missing
    assert all(c == c.lower() for c in default_frame.columns)
    # after the longest warm-up (GARCH's 2,000 bars) every column has a value
    assert default_frame.iloc[2100:].notna().all().all()
    categories = {row["category"] for row in list_features()}
    assert categories == {"trend", "momentum", "volatility", "volume", "pattern", "statistical",
                          "microstructure"}  # fmt: skip


def test_threads_give_the_same_frame(btc, default_frame):
    threaded = generate_features(btc, {"n_jobs": 2})
    pd.testing.assert_frame_equal(threaded, default_frame)


def test_higher_timeframe_lags_normalise_and_excludes(btc):
    spec = {
        "indicators": ["rsi", {"name": "sma", "params": {"timeperiod": [20, 50]}}],
        "timeframes": ["4h", {"timeframe": "1d", "indicators": ["atr"]}],
        "lags": {"rsi_14": [1, 2]},
        "normalise": {"window": 50, "columns": ["sma_20"]},
        "exclude": ["sma_*_dist"],
    }
    frame = generate_features(btc, spec)
    assert "4h_rsi_14" in frame and "1d_atr_14" in frame and "1d_rsi_14" not in frame
    assert "sma_50" in frame and "sma_20_dist" not in frame and "sma_100" not in frame
    np.testing.assert_array_equal(frame["rsi_14_lag2"].iloc[2:], frame["rsi_14"].iloc[:-2])
    z = (frame["sma_20"] - frame["sma_20"].rolling(50).mean()) / frame["sma_20"].rolling(50).std()
    np.testing.assert_allclose(frame["sma_20_z50"], z, rtol=1e-6)


def test_too_short_series_names_the_feature_and_bars_needed(btc):
    short = btc.iloc[:150]
    with pytest.raises(FeatureError, match=r"ema_200 needs 200") as info:
        generate_features(short, {"indicators": ["ema", "rsi"]})
    assert "have 150" in str(info.value) and "rsi" not in str(info.value)
    frame = generate_features(short, {"indicators": ["ema", "rsi"], "on_short": "nan"})
    assert frame["ema_200"].isna().all() and frame["rsi_14"].notna().any()
    assert frame.attrs["too_short"] == ["ema_200", "ema_200_dist"]


def test_missing_volume_skips_volume_features_with_one_warning(btc):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = generate_features(btc.drop(columns="volume"), {"categories": ["volume", "trend"]})
    relevant = [w for w in caught if "no volume column" in str(w.message)]
    assert len(relevant) == 1
    message = str(relevant[0].message)
    assert "obv" in message and "vwap_20" in message and "cmf_20" in message
    assert "obv" not in frame and "sma_20" in frame


def test_nan_in_input_is_reported_with_column_and_row(btc):
    bad = btc.copy()
    bad.iloc[123, bad.columns.get_loc("close")] = np.nan
    with pytest.raises(
        DataError, match=r"column 'close' has 1 NaN/inf value\(s\), first at row 123"
    ):
        generate_features(bad, {"indicators": ["rsi"]})
    frame = generate_features(bad, {"indicators": ["sma"], "on_nan": "warn"})
    assert frame["sma_5"].iloc[123:128].isna().all()


def test_bad_input_and_bad_spec_messages(btc):
    with pytest.raises(DataError, match="missing column"):
        generate_features(btc.drop(columns="high"))
    with pytest.raises(DataError, match="DatetimeIndex"):
        generate_features(btc.reset_index())
    with pytest.raises(DataError, match="not sorted"):
        generate_features(btc.iloc[::-1])
    with pytest.raises(FeatureError, match="no feature named 'rsx'"):
        generate_features(btc, {"indicators": ["rsx"]})
    with pytest.raises(FeatureError, match="has no parameter 'period'"):
        generate_features(btc, {"indicators": [{"name": "rsi", "params": {"period": 3}}]})
    with pytest.raises(SpecError, match="features.categories.0"):
        generate_features(btc, {"categories": ["magic"]})
    with pytest.raises(SpecError, match="negative lag looks ahead"):
        generate_features(btc, {"lags": {"rsi_14": [-1]}})
    with pytest.raises(FeatureError, match="unknown data argument 'orderbook'"):
        generate_features(btc, orderbook=btc)


def test_spec_from_yaml_file(tmp_path, btc):
    path = tmp_path / "experiment.yaml"
    path.write_text("name: x\nfeatures:\n  indicators: [rsi, atr]\n  float32: true\n")
    frame = generate_features(btc, path)
    assert list(frame.columns) == ["rsi_7", "rsi_14", "rsi_21", "atr_14"]
    assert (frame.dtypes == np.float32).all()


def test_float32_halves_memory_and_keeps_values(btc):
    f64 = generate_features(btc, {"categories": ["trend"]})
    f32 = generate_features(btc, {"categories": ["trend"]}, float32=True)
    assert f32.memory_usage(index=False).sum() * 2 == f64.memory_usage(index=False).sum()
    np.testing.assert_allclose(f32.to_numpy(), f64.to_numpy(), rtol=1e-6)


def test_disk_cache_is_keyed_by_data_and_spec(tmp_path, btc):
    calls = []

    @feature("counted_close", category="statistical", replace=True)
    def counted_close(bars):
        calls.append(len(bars))
        return bars.close / bars.close[0]

    try:
        spec = {"indicators": ["counted_close", "rsi", "macd", "bbands"]}
        first = generate_features(btc, spec, cache_dir=tmp_path, check_causality=False)
        assert len(list(tmp_path.glob("*.parquet"))) == 1 and calls == [len(btc)]
        again = generate_features(btc, spec, cache_dir=tmp_path, check_causality=False)
        assert calls == [len(btc)]  # served from disk: nothing recomputed
        pd.testing.assert_frame_equal(first, again)
        generate_features(
            btc.iloc[:-1], spec, cache_dir=tmp_path, check_causality=False
        )  # other data
        generate_features(
            btc, {**spec, "exclude": ["rsi_7"]}, cache_dir=tmp_path, check_causality=False
        )  # other spec
        assert len(calls) == 3 and len(list(tmp_path.glob("*.parquet"))) == 3
    finally:
        unregister("counted_close")


def test_user_feature_via_decorator_gets_the_same_checks(btc):
    @feature("range_share", category="volatility", inputs=("high", "low", "close"),
             params={"window": 10}, warmup=lambda window: window - 1)  # fmt: skip
    def range_share(bars, window):
        """Share of the bar's range above the close, averaged."""
        share = (bars.high - bars.close) / (bars.high - bars.low + 1e-12)
        return pd.Series(share).rolling(window).mean().to_numpy()

    @feature("broken_length", category="statistical")
    def broken_length(bars):
        return bars.close[1:]

    try:
        frame = generate_features(btc, {"indicators": ["range_share", "rsi"]})
        assert "range_share_10" in frame and frame["range_share_10"].iloc[9:].notna().all()
        assert any(row["name"] == "range_share" for row in list_features("volatility"))
        with pytest.raises(FeatureError, match="broken_length.*shape"):
            generate_features(btc, {"indicators": ["broken_length"]})
        with pytest.raises(FeatureError, match="already registered"):
            feature("rsi", category="momentum")(lambda bars: bars.close)
        with pytest.raises(FeatureError, match="category must be one of"):
            feature("x_feature", category="magic")
    finally:
        unregister("range_share")
        unregister("broken_length")


def test_output_never_aliases_the_input(btc):
    @feature("raw_close", category="statistical", replace=True)
    def raw_close(bars):
        return bars.close  # returning an input array as-is must not tie the frames together

    try:
        frame = generate_features(btc, {"indicators": ["raw_close"]})
        assert not np.shares_memory(frame["raw_close"].to_numpy(), btc["close"].to_numpy())
        np.testing.assert_array_equal(frame["raw_close"], btc["close"])
    finally:
        unregister("raw_close")
