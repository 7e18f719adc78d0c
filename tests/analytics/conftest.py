"""Real BTC/USDT returns for the analytics tests."""

from __future__ import annotations

import pandas as pd
import pytest


@pytest.fixture(scope="session")
def btc_close(btc_1h_path) -> pd.Series:
    frame = pd.read_csv(btc_1h_path, parse_dates=["timestamp"], index_col="timestamp")
    return frame["close"]


@pytest.fixture(scope="session")
def btc_returns(btc_close) -> pd.Series:
    """Two years of real 1h returns (24/7 market)."""
    return btc_close.loc["2022-01-01":"2023-12-31"].pct_change().dropna().rename("returns")


@pytest.fixture(scope="session")
def eth_returns(shared_data, btc_returns) -> pd.Series:
    path = shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz"
    frame = pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")
    return frame["close"].pct_change().dropna().loc["2021-01-01":"2022-09-30"].rename("eth")


@pytest.fixture(scope="session")
def btc_daily(btc_close) -> pd.Series:
    return btc_close.resample("1D").last().pct_change().dropna().rename("returns")
