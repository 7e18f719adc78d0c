"""load_ohlcv / load_folder / load_sample against the real files in ../shared/data."""

from __future__ import annotations

import gzip
import json

import numpy as np
import pandas as pd
import pytest

from trademl.data.io import load_folder, load_ohlcv, save_ohlcv, symbol_from_filename
from trademl.datasets import available_samples, load_sample
from trademl.errors import DataError

COLUMNS = ["open", "high", "low", "close", "volume"]


@pytest.fixture(scope="module")
def btc(btc_1h_path):
    return load_ohlcv(btc_1h_path)


@pytest.fixture(scope="module")
def btc_reference(btc_1h_path):
    return pd.read_csv(btc_1h_path, parse_dates=["timestamp"], index_col="timestamp")


def assert_standard(frame):
    assert list(frame.columns[:5]) == COLUMNS
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert str(frame.index.tz) == "UTC"
    assert frame.index.name == "timestamp"
    assert all(frame[c].dtype == np.float64 for c in COLUMNS)


def test_real_csv_gz_matches_plain_pandas(btc, btc_reference):
    assert_standard(btc)
    assert len(btc) == 77_374
    assert btc.index[0] == pd.Timestamp("2017-08-17 04:00", tz="UTC")
    assert (btc.index == btc_reference.index).all()
    np.testing.assert_array_equal(btc[COLUMNS].to_numpy(), btc_reference[COLUMNS].to_numpy())


def test_round_trip_every_format(btc, tmp_path):
    part = btc.iloc[:500]
    for name in ("x.csv", "x.csv.gz", "x.parquet", "x.json", "x.json.gz"):
        back = load_ohlcv(save_ohlcv(part, tmp_path / name))
        assert_standard(back)
        pd.testing.assert_frame_equal(back, part, check_freq=False)


def test_epoch_seconds_and_milliseconds_are_detected(btc, tmp_path):
    part = btc.iloc[:200]
    epoch_s = part.index.asi8 // 1_000_000_000
    for values in (epoch_s, epoch_s * 1000):
        raw = part.reset_index(drop=True).assign(time=values)
        raw.to_csv(tmp_path / "e.csv", index=False)
        back = load_ohlcv(tmp_path / "e.csv")
        assert (back.index == part.index).all()


def test_freqtrade_json_list_layout(btc, tmp_path):
    part = btc.iloc[:300]
    rows = [
        [int(ts.value // 1_000_000), *map(float, row)]
        for ts, row in zip(part.index, part[COLUMNS].to_numpy(), strict=True)
    ]
    path = tmp_path / "BTC_USDT-1h.json.gz"
    with gzip.open(path, "wt") as handle:
        json.dump(rows, handle)
    back = load_ohlcv(path)
    pd.testing.assert_frame_equal(back, part, check_freq=False)


def test_column_aliases_cryptodatadownload_style(btc, tmp_path):
    part = btc.iloc[:100]
    raw = pd.DataFrame(
        {
            "unix": part.index.asi8 // 1_000_000,
            "date": part.index.strftime("%Y-%m-%d %H:%M:%S"),
            "symbol": "BTC/USDT",
            "Open": part["open"].to_numpy(),
            "High": part["high"].to_numpy(),
            "Low": part["low"].to_numpy(),
            "Close": part["close"].to_numpy(),
            "Volume BTC": part["volume"].to_numpy(),
            "Volume USDT": (part["volume"] * part["close"]).to_numpy(),
        }
    )
    raw.to_csv(tmp_path / "cdd.csv", index=False)
    back = load_ohlcv(tmp_path / "cdd.csv")
    assert (back.index == part.index).all()
    np.testing.assert_array_equal(back["volume"].to_numpy(), part["volume"].to_numpy())
    quote = load_ohlcv(tmp_path / "cdd.csv", columns={"volume": "Volume USDT"})
    np.testing.assert_allclose(quote["volume"], part["volume"] * part["close"])


def test_iso_variants_parse_to_the_same_instants(tmp_path):
    instants = pd.date_range("2024-01-01", periods=5, freq="h", tz="UTC")
    layouts = {
        "%Y-%m-%dT%H:%M:%SZ": 0,
        "%Y-%m-%d %H:%M:%S": 0,
        "%Y-%m-%dT%H:%M:%S.000Z": 0,
        "%Y-%m-%dT%H:%M:%S+02:00": 2,  # same wall clock, two hours earlier in UTC
        "%Y-%m-%dT%H:%M": 0,
    }
    for layout, offset_hours in layouts.items():
        raw = pd.DataFrame({"date": instants.strftime(layout)})
        for c in COLUMNS:
            raw[c] = 1.0
        back = load_ohlcv(raw)
        expected = instants - pd.Timedelta(hours=offset_hours)
        assert (back.index == expected).all(), layout


def test_unknown_layout_lists_found_and_expected(tmp_path):
    path = tmp_path / "odd.csv"
    path.write_text("when,a,b,c,d,e\n2024-01-01,1,2,3,4,5\n")
    with pytest.raises(DataError) as info:
        load_ohlcv(path)
    message = str(info.value)
    assert "no column for timestamp, open, high, low, volume" in message
    assert "['when', 'a', 'b', 'c', 'd', 'e']" in message


def test_load_folder_is_a_dict_of_symbols(shared_data):
    frames = load_folder(shared_data / "binance_1h", pattern="[ES]*USDT_1h_*.csv.gz")
    assert list(frames) == ["ETHUSDT", "SOLUSDT"]
    for frame in frames.values():
        assert_standard(frame)


def test_load_folder_refuses_ambiguous_symbols(shared_data):
    with pytest.raises(DataError, match="both symbol 'BTCUSDT'"):
        load_folder(shared_data / "binance_intraday", pattern="BTCUSDT_*")


def test_symbol_from_filename():
    assert symbol_from_filename("BTCUSDT_1h_2017-2026.csv.gz") == "BTCUSDT"
    assert (
        symbol_from_filename("futures_ETHUSDT_PERP_1h_2024-2026.csv.gz") == "futures_ETHUSDT_PERP"
    )
    assert symbol_from_filename("ETHUSDT.parquet") == "ETHUSDT"


def test_bundled_samples(btc):
    assert available_samples() == ["BTCUSDT-1h", "ETHUSDT-1h"]
    sample = load_sample("BTCUSDT-1h")
    assert_standard(sample)
    assert len(sample) == 17_530
    # a verbatim slice of the real file
    pd.testing.assert_frame_equal(sample, btc.loc[sample.index[0] :], check_freq=False)
    eth = load_sample("ETHUSDT-1h")
    assert eth.index[-1] == pd.Timestamp("2022-10-11 10:00", tz="UTC")
    with pytest.raises(DataError, match="available samples: BTCUSDT-1h, ETHUSDT-1h"):
        load_sample("DOGE-1m")


def test_fast_iso_path_agrees_with_pandas_on_random_instants():
    from trademl.data._timestamps import to_utc_datetimes

    rng = np.random.default_rng(0)
    low, high = pd.Timestamp("1700-01-01").value, pd.Timestamp("2260-01-01").value
    seconds = rng.integers(low, high, 50_000) // 1_000_000_000
    instants = pd.DatetimeIndex((seconds * 1_000_000_000).view("datetime64[ns]"), tz="UTC")
    for layout in ("%Y-%m-%dT%H:%M:%SZ", "%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S-05:30"):
        text = pd.Series(instants.strftime(layout))
        expected = pd.DatetimeIndex(pd.to_datetime(text, format="ISO8601", utc=True)).as_unit("ns")
        assert (to_utc_datetimes(text) == expected).all(), layout
        assert (to_utc_datetimes(text.astype(object)) == expected).all(), layout


def test_impossible_dates_are_named_by_row():
    text = pd.Series(["2024-02-28T00:00:00Z", "2023-02-29T00:00:00Z", "2024-03-01T00:00:00Z"])
    from trademl.data._timestamps import to_utc_datetimes

    with pytest.raises(
        DataError, match=r"not timestamps at row\(s\) 1 \(first: '2023-02-29T00:00:00Z'\)"
    ):
        to_utc_datetimes(text)


def test_headerless_binance_kline_dump_with_microseconds(btc, tmp_path):
    # data.binance.vision monthly files: no header, 12 columns, epoch microseconds (2025+)
    part = btc.loc["2024-01-01":"2024-01-03"]
    micros = part.index.asi8 // 1_000
    raw = pd.DataFrame({"t": micros, **{c: part[c].to_numpy() for c in COLUMNS}})
    raw["close_time"] = micros + 3_599_999_999
    for name in ("quote", "trades", "taker_base", "taker_quote", "ignore"):
        raw[name] = 0
    path = tmp_path / "BTCUSDT-1h-2024-01.csv"
    raw.to_csv(path, header=False, index=False)
    back = load_ohlcv(path)
    pd.testing.assert_frame_equal(back[COLUMNS], part, check_freq=False)
    assert "quote_volume" in back.columns and "ignore" in back.columns


def test_metatrader_split_date_and_time_columns(tmp_path):
    path = tmp_path / "EURUSD_H1.csv"
    path.write_text(
        "<DATE>,<TIME>,<OPEN>,<HIGH>,<LOW>,<CLOSE>,<TICKVOL>,<VOL>\n"
        "2024.01.02,00:00,1.1,1.2,1.0,1.15,100,0\n"
        "2024.01.02,01:00,1.15,1.25,1.1,1.2,120,0\n"
    )
    frame = load_ohlcv(path, columns={"volume": "<TICKVOL>"})
    assert list(frame.index) == list(pd.date_range("2024-01-02", periods=2, freq="h", tz="UTC"))
    assert frame["volume"].tolist() == [100.0, 120.0]
