"""download_ohlcv against an in-memory exchange that serves the real BTC 1h candles.

The stand-in implements ccxt's one method the way exchanges behave: pages of at most
``max_page`` candles from ``since``, optionally overlapping the previous page by one
bar (as some exchanges do), and a ``rateLimit`` in milliseconds.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd
import pytest

from trademl.data.fetch import OHLCVExchange, cache_path, download_ohlcv
from trademl.data.io import load_ohlcv

COLUMNS = ["open", "high", "low", "close", "volume"]


class RealCandlesExchange:
    id = "standin"

    def __init__(self, frame, *, max_page=500, rate_limit_ms=0, overlap=False, fail_after=None):
        self.ms = frame.index.asi8 // 1_000_000
        self.values = frame[COLUMNS].to_numpy()
        self.max_page = max_page
        self.rateLimit = rate_limit_ms
        self.overlap = overlap
        self.fail_after = fail_after
        self.calls: list[tuple[int, int, float]] = []  # (since, limit, monotonic time)

    def fetch_ohlcv(self, symbol, timeframe="1m", since=None, limit=None):
        assert symbol == "BTC/USDT" and timeframe == "1h"
        if self.fail_after is not None and len(self.calls) >= self.fail_after:
            raise ConnectionError("network went away")
        self.calls.append((since, limit, time.monotonic()))
        start = int(np.searchsorted(self.ms, since))
        if self.overlap and start > 0:
            start -= 1  # repeat the last bar of the previous page
        stop = min(start + min(limit or self.max_page, self.max_page), len(self.ms))
        return [[int(self.ms[i]), *map(float, self.values[i])] for i in range(start, stop)]


@pytest.fixture(scope="module")
def real(btc_1h):
    return btc_1h.loc["2019-01-01":"2019-12-31"]


def test_standin_satisfies_the_interface(real):
    assert isinstance(RealCandlesExchange(real), OHLCVExchange)


def test_paginates_and_caches_exactly_the_real_candles(real, tmp_path):
    exchange = RealCandlesExchange(real, max_page=500, overlap=True)
    got = download_ohlcv(
        exchange,
        "BTC/USDT",
        "1h",
        since="2019-01-01",
        until="2019-04-01",
        cache_dir=tmp_path,
        limit=1000,
        progress=True,  # the rich bar the CLI shows
    )
    expected = real.loc["2019-01-01":"2019-03-31 23:00"]
    pd.testing.assert_frame_equal(got, expected, check_freq=False)
    # 2160 hours (a 2019 outage removes some) at <= 500 per page, overlapping by one bar
    assert len(exchange.calls) == 5
    path = cache_path(tmp_path, "standin", "BTC/USDT", "1h")
    assert path == tmp_path / "standin" / "BTC-USDT" / "1h.parquet"
    pd.testing.assert_frame_equal(load_ohlcv(path), expected, check_freq=False)


def test_rate_limit_is_respected_between_calls(real, tmp_path):
    exchange = RealCandlesExchange(real, max_page=200, rate_limit_ms=60)
    started = time.monotonic()
    download_ohlcv(
        exchange, "BTC/USDT", "1h", since="2019-01-01", until="2019-02-01", cache_dir=tmp_path
    )
    elapsed = time.monotonic() - started
    starts = [t for _, _, t in exchange.calls]
    assert len(starts) == 4  # 744 bars / 200
    assert min(np.diff(starts)) >= 0.059
    assert elapsed >= 3 * 0.06


def test_rate_limit_sleeps_are_requested_from_the_given_sleep(real, tmp_path):
    slept: list[float] = []
    exchange = RealCandlesExchange(real, max_page=100, rate_limit_ms=1000)
    download_ohlcv(
        exchange, "BTC/USDT", "1h", since="2019-01-01", until="2019-01-10", cache_dir=tmp_path,
        sleep=slept.append,
    )  # fmt: skip
    assert len(exchange.calls) == 3 and len(slept) == 2
    assert all(0.9 < s <= 1.0 for s in slept)


def test_second_call_fetches_only_the_missing_tail(real, tmp_path):
    first = RealCandlesExchange(real, max_page=500)
    download_ohlcv(
        first, "BTC/USDT", "1h", since="2019-01-01", until="2019-03-01", cache_dir=tmp_path
    )
    again = RealCandlesExchange(real, max_page=500)
    got = download_ohlcv(
        again, "BTC/USDT", "1h", since="2019-01-01", until="2019-03-15", cache_dir=tmp_path
    )
    last_cached = pd.Timestamp("2019-02-28 23:00", tz="UTC")
    assert [since for since, _, _ in again.calls] == [(last_cached.value // 1_000_000) + 3_600_000]
    pd.testing.assert_frame_equal(got, real.loc["2019-01-01":"2019-03-14 23:00"], check_freq=False)
    nothing_new = RealCandlesExchange(real)
    download_ohlcv(
        nothing_new, "BTC/USDT", "1h", since="2019-01-01", until="2019-03-15", cache_dir=tmp_path
    )
    assert nothing_new.calls == []


def test_interrupted_download_keeps_its_pages_and_resumes(real, tmp_path):
    flaky = RealCandlesExchange(real, max_page=300, fail_after=2)
    with pytest.raises(ConnectionError):
        download_ohlcv(
            flaky, "BTC/USDT", "1h", since="2019-01-01", until="2019-03-01", cache_dir=tmp_path
        )
    cached = load_ohlcv(cache_path(tmp_path, "standin", "BTC/USDT", "1h"))
    assert len(cached) == 600
    resumed = RealCandlesExchange(real, max_page=300)
    got = download_ohlcv(
        resumed, "BTC/USDT", "1h", since="2019-01-01", until="2019-03-01", cache_dir=tmp_path
    )
    assert resumed.calls[0][0] == cached.index[-1].value // 1_000_000 + 3_600_000
    pd.testing.assert_frame_equal(got, real.loc["2019-01-01":"2019-02-28 23:00"], check_freq=False)


def test_earlier_since_fetches_the_missing_head(real, tmp_path):
    download_ohlcv(
        RealCandlesExchange(real),
        "BTC/USDT",
        "1h",
        since="2019-03-01",
        until="2019-04-01",
        cache_dir=tmp_path,
    )
    head = RealCandlesExchange(real)
    got = download_ohlcv(
        head, "BTC/USDT", "1h", since="2019-02-01", until="2019-04-01", cache_dir=tmp_path
    )
    assert head.calls[0][0] == pd.Timestamp("2019-02-01", tz="UTC").value // 1_000_000
    pd.testing.assert_frame_equal(got, real.loc["2019-02-01":"2019-03-31 23:00"], check_freq=False)


def test_fetch_cli_reports_unreachable_exchange_in_one_line(cli, tmp_path, monkeypatch):
    # a real ccxt exchange sent through a closed loopback proxy: unreachable on any machine
    for name in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    code, _, err = cli(
        "data", "fetch", "--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--since", "2024-01-01", "--cache", tmp_path, "--timeout", "3",
    )  # fmt: skip
    assert code == 1
    assert "could not reach binance" in err
    assert "Traceback" not in err
    code, _, err = cli(
        "data", "fetch", "--exchange", "binanse", "--symbol", "BTC/USDT", "--timeframe", "1h",
        "--since", "2024-01-01", "--cache", tmp_path,
    )  # fmt: skip
    assert code == 2 and "unknown exchange 'binanse'" in err


def test_cache_stays_contiguous_when_a_later_range_is_asked(real, tmp_path):
    download_ohlcv(
        RealCandlesExchange(real),
        "BTC/USDT",
        "1h",
        since="2019-01-01",
        until="2019-02-01",
        cache_dir=tmp_path,
    )
    later = RealCandlesExchange(real)
    got = download_ohlcv(
        later, "BTC/USDT", "1h", since="2019-03-01", until="2019-03-08", cache_dir=tmp_path
    )
    pd.testing.assert_frame_equal(got, real.loc["2019-03-01":"2019-03-07 23:00"], check_freq=False)
    # February was downloaded too, so the cache has no hole that no later call would fill
    cached = load_ohlcv(cache_path(tmp_path, "standin", "BTC/USDT", "1h"))
    pd.testing.assert_frame_equal(
        cached, real.loc["2019-01-01":"2019-03-07 23:00"], check_freq=False
    )
