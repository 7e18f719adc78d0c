"""Triple-barrier labels keep the label set asked for: a flat vertical return stays binary."""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.labels import triple_barrier


def _flat_then_moves(n: int = 400) -> pd.Series:
    rng = np.random.default_rng(4)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    close[200:230] = close[199]  # 30 identical closes: exact ties at the vertical barrier
    return pd.Series(close, index=pd.date_range("2026-01-01", periods=n, freq="h", tz="UTC"))


def test_sign_vertical_ties_are_labelled_not_up():
    close = _flat_then_moves()
    labels = triple_barrier(close, horizon=6, vol_window=50).dropna()
    assert set(np.unique(labels.values)) == {-1.0, 1.0}
    ties = labels.details["return"] == 0
    assert ties.sum() > 0
    assert (labels.values[ties] == -1.0).all()
    assert (labels.details.loc[ties, "barrier"] == "vertical").all()


def test_zero_vertical_is_the_three_class_labelling():
    labels = triple_barrier(_flat_then_moves(), horizon=6, vol_window=50, vertical="zero")
    assert set(np.unique(labels.dropna().values)) == {-1.0, 0.0, 1.0}


def test_eth_full_history_labels_stay_binary(shared_data):
    from trademl.data.io import load_ohlcv

    eth = load_ohlcv(shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz")
    labels = triple_barrier(eth, horizon=12).dropna()
    # the issue found 13 flat vertical returns here; they are "not up", not a third class
    assert set(np.unique(labels.values)) == {-1.0, 1.0}
