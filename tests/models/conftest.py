"""Small real-data fixtures for the model zoo tests: BTC/USDT 1h bars and causal features."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


@pytest.fixture(scope="session")
def btc_bars(btc_1h_path) -> pd.DataFrame:
    frame = pd.read_csv(btc_1h_path, nrows=4000)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    return frame.set_index("timestamp")


@pytest.fixture(scope="session")
def xy(btc_bars):
    """Lagged returns and volatility (bars <= t) against the sign of the next 4-bar return."""
    close = btc_bars["close"]
    ret = np.log(close).diff()
    features = pd.DataFrame(
        {f"ret_{k}": ret.rolling(k).sum() for k in (1, 2, 4, 8, 24)}
        | {f"vol_{k}": ret.rolling(k).std() for k in (12, 48)}
        | {"volume_z": np.log1p(btc_bars["volume"]).diff(24)},
        index=btc_bars.index,
    )
    forward = np.log(close).shift(-4) - np.log(close)
    frame = features.assign(forward=forward).dropna()
    X = frame.drop(columns="forward")
    return X, np.where(frame["forward"] > 0, 1, -1), frame["forward"].to_numpy()
