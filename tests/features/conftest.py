"""Real data for the feature tests: a 3,000-bar BTC 1h slice, ETH on the same hours, and
11 minutes of BTC order book and trades on a 10-second bar grid built from the trades."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest


def read_candles(path) -> pd.DataFrame:
    frame = pd.read_csv(path)
    frame.index = pd.DatetimeIndex(
        pd.to_datetime(frame.pop("timestamp"), utc=True), name="timestamp"
    )
    return frame.astype("float64")


@pytest.fixture(scope="session")
def btc_full(btc_1h_path) -> pd.DataFrame:
    return read_candles(btc_1h_path)


@pytest.fixture(scope="session")
def btc(btc_full) -> pd.DataFrame:
    """3,000 real hourly bars from 2021 (a slice that contains a real exchange outage)."""
    start = btc_full.index.searchsorted(pd.Timestamp("2021-03-01", tz="UTC"))
    return btc_full.iloc[start : start + 3000]


@pytest.fixture(scope="session")
def eth_close(shared_data, btc) -> pd.Series:
    eth = read_candles(shared_data / "binance_1h" / "ETHUSDT_1h_2017-2022.csv.gz")
    return eth["close"].loc[btc.index[0] : btc.index[-1]]


@pytest.fixture(scope="session")
def micro(shared_data) -> dict[str, pd.DataFrame]:
    folder = shared_data / "microstructure"
    return {
        "trades": pd.read_csv(folder / "spot_BTCUSDT_trades_20240808.csv.gz"),
        "book": pd.read_csv(folder / "spot_BTCUSDT_bookticker_20240808.csv.gz"),
        "l2": pd.read_csv(folder / "spot_BTCUSDT_l2top10_1s_20240808.csv.gz"),
    }


@pytest.fixture(scope="session")
def micro_bars(micro) -> pd.DataFrame:
    """10-second OHLCV bars aggregated from the real trades (bar stamped by its open)."""
    trades = micro["trades"]
    time = pd.to_datetime(trades["exch_time_ms"], unit="ms", utc=True)
    frame = pd.DataFrame(
        {"price": trades["price"].to_numpy(), "qty": trades["qty"].to_numpy()},
        index=pd.DatetimeIndex(time, name="timestamp"),
    )
    bars = frame["price"].resample("10s").ohlc()
    bars["volume"] = frame["qty"].resample("10s").sum()
    bars = bars.dropna()
    assert len(bars) > 50 and np.isfinite(bars.to_numpy()).all()
    return bars
