"""Resampling against the exchange's own candles, timeframes, and load_data(spec)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.config import load_spec
from trademl.data.dataset import load_data
from trademl.data.io import load_ohlcv
from trademl.data.resample import resample_ohlcv
from trademl.data.timeframe import (
    infer_timeframe,
    parse_timeframe,
    timeframe_to_timedelta,
)
from trademl.errors import DataError, SpecError

COLUMNS = ["open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def btc_5m(shared_data):
    return load_ohlcv(shared_data / "binance_intraday" / "BTCUSDT_5m_2024-2026.csv.gz")


def test_5m_to_1h_equals_the_real_1h_file(btc_5m, btc_1h):
    hourly = resample_ohlcv(btc_5m, "1h")
    common = hourly.index.intersection(btc_1h.index)
    assert len(common) > 9_900  # the whole 5m range, 2024-12-31 -> 2026-02-19
    assert len(common) == len(hourly)
    np.testing.assert_allclose(
        hourly.loc[common, COLUMNS].to_numpy(), btc_1h.loc[common, COLUMNS].to_numpy(), rtol=1e-12
    )


def test_15m_to_1h_equals_the_real_1h_file(shared_data, btc_1h):
    m15 = load_ohlcv(shared_data / "binance_intraday" / "BTCUSDT_15m_2024-2026.csv.gz")
    hourly = resample_ohlcv(m15, "1h")
    expected = btc_1h.loc[hourly.index]
    np.testing.assert_allclose(hourly[COLUMNS].to_numpy(), expected[COLUMNS].to_numpy(), rtol=1e-12)


def test_labels_are_open_times_and_aggregation_is_right(btc_1h):
    part = btc_1h.loc["2024-01-01":"2024-01-02 23:00"]
    four = resample_ohlcv(part, "4h")
    first = part.iloc[:4]
    assert four.index[0] == pd.Timestamp("2024-01-01 00:00", tz="UTC")
    assert four.iloc[0]["open"] == first["open"].iloc[0]
    assert four.iloc[0]["high"] == first["high"].max()
    assert four.iloc[0]["low"] == first["low"].min()
    assert four.iloc[0]["close"] == first["close"].iloc[-1]
    assert four.iloc[0]["volume"] == pytest.approx(first["volume"].sum())
    weekly = resample_ohlcv(btc_1h.loc["2024"], "1w")
    assert set(weekly.index.day_name()) == {"Monday"}


def test_incomplete_trailing_bar_dropped_or_flagged(btc_1h):
    part = btc_1h.loc["2024-01-01 00:00":"2024-01-01 05:00"]  # 6 bars: one full 4h, one half
    assert len(resample_ohlcv(part, "4h")) == 1
    flagged = resample_ohlcv(part, "4h", incomplete="flag")
    assert flagged["complete"].tolist() == [True, False]
    # an outage inside a bar keeps it (it traded) unless every incomplete bar is dropped
    outage = btc_1h.loc["2018-02-07":"2018-02-10"]
    daily = resample_ohlcv(outage, "1d")
    assert pd.Timestamp("2018-02-08", tz="UTC") in daily.index
    assert (
        pd.Timestamp("2018-02-08", tz="UTC")
        not in resample_ohlcv(outage, "1d", incomplete="drop").index
    )


def test_resample_refuses_lower_or_uneven_targets(btc_1h):
    part = btc_1h.iloc[:100]
    with pytest.raises(DataError, match="whole multiple of 1h"):
        resample_ohlcv(part, "30m")
    with pytest.raises(DataError, match="whole multiple of 1h"):
        resample_ohlcv(part, "90m")
    with pytest.raises(ValueError, match="incomplete must be"):
        resample_ohlcv(part, "4h", incomplete="maybe")


def test_timeframes(btc_1h, btc_5m):
    assert infer_timeframe(btc_1h.index) == "1h"  # despite 28 outages
    assert infer_timeframe(btc_5m.index) == "5m"
    assert infer_timeframe(resample_ohlcv(btc_1h, "1d").index) == "1d"
    assert timeframe_to_timedelta("15m") == pd.Timedelta(minutes=15)
    assert timeframe_to_timedelta("1w") == pd.Timedelta(days=7)
    assert parse_timeframe("4h") == (4, "h")
    for bad in ("1M", "h", "0m", "4 hours", ""):
        with pytest.raises(DataError, match="invalid timeframe"):
            parse_timeframe(bad)


def test_load_data_from_spec(tmp_path, shared_data):
    spec = load_spec(
        {
            "data": {
                "sample": "ETHUSDT-1h",
                "timeframe": "4h",
                "start": "2021-01-01",
                "end": "2021-02-01",
            }
        }
    )
    frames = load_data(spec.data)
    assert list(frames) == ["ETHUSDT"]
    eth = frames["ETHUSDT"]
    assert eth.index[0] == pd.Timestamp("2021-01-01", tz="UTC")
    assert eth.index[-1] == pd.Timestamp("2021-01-31 20:00", tz="UTC")
    assert infer_timeframe(eth.index) == "4h"
    folder = load_data(load_spec({"data": {"path": str(shared_data / "binance_1h")}}).data)
    assert len(folder) == 8 and "DOGEUSDT" in folder
    mixed = load_spec(
        {
            "data": {
                "symbols": {
                    "BTC": "BTCUSDT-1h",
                    "SOL": str(shared_data / "binance_1h" / "SOLUSDT_1h_2017-2022.csv.gz"),
                }
            }
        }
    )
    assert set(load_data(mixed.data)) == {"BTC", "SOL"}
    with pytest.raises(DataError, match="only be resampled to a higher timeframe"):
        load_data(load_spec({"data": {"timeframe": "5m"}}).data)


def test_data_spec_errors_name_the_field():
    with pytest.raises(SpecError, match="data.timeframe: invalid timeframe '4x'"):
        load_spec({"data": {"timeframe": "4x"}})
    with pytest.raises(
        SpecError, match="data.sample: unknown sample; available: BTCUSDT-1h, ETHUSDT-1h"
    ):
        load_spec({"data": {"sample": "nope"}})
    with pytest.raises(SpecError, match="data.columns: unknown key"):
        load_spec({"data": {"columns": {}}})
    with pytest.raises(SpecError, match="data.symbols: expected a mapping|data.symbols"):
        load_spec({"data": {"symbols": ["BTC"]}})
    with pytest.raises(SpecError, match="start .* must be before end"):
        load_spec({"data": {"start": "2024-02-01", "end": "2024-01-01"}})
