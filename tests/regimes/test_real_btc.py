"""Real BTC/USDT 1h (2017-2026): regimes that make sense, and causality on real data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.regimes import HMMRegimeDetector, regime_statistics


@pytest.fixture(scope="module")
def btc_model(btc_frame):
    # momentum (30-day trend) separates bull from bear; volatility separates calm from wild
    return HMMRegimeDetector(3, features=("momentum", "volatility"), n_init=3).fit(btc_frame)


def test_btc_regimes_make_sense(btc_model, btc_frame):
    labels = btc_model.predict(btc_frame)
    table = regime_statistics(btc_frame, labels)
    assert set(table.index) == {"bull", "sideways", "bear"}
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.loc["bull", "ann_return"] > 0.5  # the bull regime earned, causally labelled
    assert table.loc["bear", "volatility"] > 1.5 * table.loc["sideways", "volatility"]
    # the 2018 and 2022 bear markets are mostly not labelled bull
    for year in ("2018", "2022"):
        assert (labels.loc[year] == "bull").mean() < 0.3
    # and the 2020-21 and 2023-24 bull runs mostly not bear
    assert (labels.loc["2020-10":"2021-03"] == "bear").mean() < 0.5
    assert (labels.loc["2023"] == "bull").mean() > (labels.loc["2022"] == "bull").mean()
    # regimes last days to weeks, not hours
    assert (btc_model.expected_durations() > 24).all()


def test_btc_filtered_regimes_on_a_prefix_equal_the_full_run(btc_model, btc_frame):
    full = btc_model.predict_proba(btc_frame)
    cut = len(btc_frame) // 2
    prefix = btc_model.predict_proba(btc_frame.iloc[:cut])
    pd.testing.assert_frame_equal(prefix, full.iloc[:cut], rtol=1e-9, atol=1e-12)
    assert np.isfinite(full.iloc[800:].to_numpy()).all()  # through gaps and zero volume
