"""No feature sees the future: on real data, features computed on the first k bars equal the
first k rows computed on all bars. Parametrised over the WHOLE registry, so every feature
added later (ours or a user's, registered before collection) is covered automatically."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.config.features import FeatureSpec
from trademl.features import FeatureError, check_causality, feature, registry, unregister

EVENT_INPUTS = {"trades", "book", "l2"}
PREFIXES = (150, 700, 1601, 2500, 2999)


@pytest.mark.parametrize("name", sorted(registry()))
def test_every_registered_feature_is_causal(name, btc, eth_close, micro, micro_bars):
    feat = registry()[name]
    if EVENT_INPUTS & set(feat.inputs):
        data = {k: v for k, v in micro.items() if k in feat.inputs}
        n = len(micro_bars)
        compared = check_causality(micro_bars, name, prefixes=(10, 25, n // 2, n - 1), **data)
        frame = micro_bars
    elif "reference" in feat.inputs:
        compared = check_causality(btc, name, prefixes=PREFIXES, reference=eth_close)
        frame = btc
    else:
        compared = check_causality(btc, name, prefixes=PREFIXES)
        frame = btc
    # the whole default grid of the feature (e.g. rsi 7, 14, 21) was compared
    assert set(compared) == {c for params in feat.param_sets() for c in feat.columns(params)}
    # a check that compares only NaNs proves nothing: every column has real values
    from trademl.features import generate_features

    extra = {k: v for k, v in micro.items() if k in feat.inputs}
    if "reference" in feat.inputs:
        extra["reference"] = eth_close
    full = generate_features(frame, {"indicators": [name], "on_short": "nan"}, **extra)
    assert full.notna().sum().min() > 0, f"{name}: a column is entirely NaN"


def test_full_default_set_with_higher_timeframes_lags_and_normalisation_is_causal(btc):
    spec = FeatureSpec(
        timeframes=["4h", "1d"],
        exclude=["garch_*"],  # covered above; its 2,000-bar fit window dwarfs daily bars
        lags={"rsi_14": [1, 3], "4h_macd_12_26_9*": [1]},
        normalise={"window": 100, "columns": ["sma_*_dist", "4h_atr_14"]},
    )
    compared = check_causality(btc, spec, prefixes=(1000, 1777, 2999))
    assert len(compared) > 500
    assert "1d_rsi_14" in compared and "rsi_14_lag3" in compared and "4h_atr_14_z100" in compared


def test_a_leaky_user_feature_is_caught(btc):
    @feature("peek_next_close", category="statistical", replace=True)
    def peek_next_close(bars):
        out = np.full(len(bars), np.nan)
        out[:-1] = bars.close[1:]  # tomorrow's close: the classic leak
        return out

    try:
        with pytest.raises(FeatureError, match="peek_next_close is not causal"):
            check_causality(btc, "peek_next_close", prefixes=(500,))
    finally:
        unregister("peek_next_close")


def test_event_data_after_the_prefix_is_cut(micro, micro_bars):
    # a feature reading the trades directly, without the bar assignment, must be caught too
    @feature("last_trade_anywhere", category="microstructure", inputs=("trades",), replace=True)
    def last_trade_anywhere(bars):
        return np.full(len(bars), float(bars.trades["price"].iloc[-1]))

    try:
        with pytest.raises(FeatureError, match="not causal"):
            check_causality(
                micro_bars, "last_trade_anywhere", prefixes=(20,), trades=micro["trades"]
            )
    finally:
        unregister("last_trade_anywhere")


def test_higher_timeframe_value_appears_only_after_its_bar_closed(btc):
    from trademl.data.resample import resample_ohlcv
    from trademl.features import generate_features

    frame = generate_features(btc, {"indicators": ["rsi"], "timeframes": ["4h"]})
    four_hour = resample_ohlcv(btc, "4h", incomplete="keep")
    import talib

    expected = pd.Series(talib.RSI(four_hour["close"].to_numpy(), 14), index=four_hour.index)
    # the 4h bar opened at T closes at T+4h: the 1h row stamped T+3h (closing at T+4h) is
    # the first that may see it
    for opened in four_hour.index[40:60]:
        row = opened + pd.Timedelta("3h")
        if row not in frame.index:
            continue
        assert frame.at[row, "4h_rsi_14"] == pytest.approx(expected[opened], rel=1e-12)
        before = row - pd.Timedelta("1h")
        if before in frame.index:
            assert frame.at[before, "4h_rsi_14"] == pytest.approx(
                expected[opened - pd.Timedelta("4h")], rel=1e-12
            )
