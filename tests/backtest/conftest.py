"""Real candles for the backtest tests."""

from __future__ import annotations

import pandas as pd
import pytest


def _candles(path) -> pd.DataFrame:
    return pd.read_csv(path, parse_dates=["timestamp"], index_col="timestamp")


@pytest.fixture(scope="session")
def btc(btc_1h_path) -> pd.DataFrame:
    return _candles(btc_1h_path).loc["2022-01-01":"2022-12-31"]


@pytest.fixture(scope="session")
def eth(shared_data) -> pd.DataFrame:
    return _candles(shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz").loc[
        "2022-01-01":"2022-09-30"
    ]


@pytest.fixture(scope="session")
def perp(shared_data) -> pd.DataFrame:
    path = shared_data / "binance_intraday" / "futures_BTCUSDT_PERP_1h_2024-2026.csv.gz"
    return _candles(path).iloc[:3000]
