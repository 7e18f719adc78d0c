"""Order-book and trade features against plain pandas references on the real BTC capture."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.features import generate_features
from trademl.features.orderbook import CLOCK_CALIBRATION_TRADES

BAR = pd.Timedelta("10s")


def bar_of(times: pd.Series, index: pd.DatetimeIndex) -> pd.Series:
    # the bar containing each event: opened at or before it, closing after it
    opened = times.dt.floor(BAR)
    return opened.where(opened.isin(index))


@pytest.fixture(scope="module")
def book_times(micro):
    trades = micro["trades"].iloc[:CLOCK_CALIBRATION_TRADES]
    offset = np.median(trades["exch_time_ms"] * 1_000_000 - trades["local_ns"])
    return pd.to_datetime(micro["book"]["local_ns"] + int(offset), unit="ns", utc=True)


@pytest.fixture(scope="module")
def features(micro, micro_bars):
    return generate_features(micro_bars, {"categories": ["microstructure"]}, **micro)


def test_capture_clock_offset_is_about_a_second_and_a_quarter(book_times, micro):
    shift = book_times - pd.to_datetime(micro["book"]["local_ns"], unit="ns", utc=True)
    assert 1.0 < shift.iloc[0].total_seconds() < 1.6


def test_trade_imbalance(micro, micro_bars, features):
    trades = micro["trades"]
    time = pd.to_datetime(trades["exch_time_ms"], unit="ms", utc=True)
    signed = np.where(trades["is_buyer_maker"], -1.0, 1.0) * trades["qty"]
    groups = bar_of(time, micro_bars.index)
    expected = (signed.groupby(groups).sum() / trades["qty"].groupby(groups).sum()).reindex(
        micro_bars.index
    )
    np.testing.assert_allclose(features["trade_imbalance"], expected, rtol=1e-9)


def test_quoted_spread_microprice_and_ofi(micro, micro_bars, features, book_times):
    book = micro["book"].assign(time=book_times.to_numpy()).sort_values("time", kind="stable")
    mid = (book["bid"] + book["ask"]) / 2
    book["spread"] = (book["ask"] - book["bid"]) / mid
    groups = bar_of(book["time"], micro_bars.index)
    mean = book["spread"].groupby(groups).mean().reindex(micro_bars.index)
    np.testing.assert_allclose(features["quoted_spread_mean"].dropna(), mean.dropna(), rtol=1e-9)
    micro_price = (book["bid"] * book["ask_qty"] + book["ask"] * book["bid_qty"]) / (
        book["bid_qty"] + book["ask_qty"]
    )
    last = micro_price.groupby(groups).last().reindex(micro_bars.index).ffill()
    np.testing.assert_allclose(features["microprice"], last, rtol=1e-12)
    # OFI (Cont, Kukanov and Stoikov 2014, eq. 2) from each update and the one before it
    prev = book.shift(1)
    flow = (
        book["bid_qty"].where(book["bid"] >= prev["bid"], 0.0)
        - prev["bid_qty"].where(book["bid"] <= prev["bid"], 0.0)
        - book["ask_qty"].where(book["ask"] <= prev["ask"], 0.0)
        + prev["ask_qty"].where(book["ask"] >= prev["ask"], 0.0)
    ).fillna(0.0)
    ofi = flow.groupby(groups).sum().reindex(micro_bars.index).fillna(0)
    np.testing.assert_allclose(features["ofi"], ofi, rtol=1e-9, atol=1e-9)


def test_effective_spread_uses_the_quote_before_the_trade(micro, micro_bars, features, book_times):
    book = pd.DataFrame(
        {"time": book_times, "mid": (micro["book"]["bid"] + micro["book"]["ask"]) / 2}
    )
    book = book.sort_values("time", kind="stable")
    trades = micro["trades"]
    trades = pd.DataFrame({
        "time": pd.to_datetime(trades["exch_time_ms"], unit="ms", utc=True).astype(book["time"].dtype),
        "price": trades["price"], "qty": trades["qty"],
        "side": np.where(trades["is_buyer_maker"], -1.0, 1.0),
    }).sort_values("time", kind="stable")  # fmt: skip
    joined = pd.merge_asof(trades, book, on="time", allow_exact_matches=False).dropna()
    joined["eff"] = 2 * joined["side"] * (joined["price"] - joined["mid"]) / joined["mid"]
    groups = bar_of(joined["time"], micro_bars.index)
    weighted = (joined["eff"] * joined["qty"]).groupby(groups).sum() / joined["qty"].groupby(
        groups
    ).sum()
    np.testing.assert_allclose(
        features["effective_spread"], weighted.reindex(micro_bars.index), rtol=1e-9
    )


def test_depth_imbalance(micro, micro_bars, features):
    l2 = micro["l2"]
    time = pd.to_datetime(l2["second"], utc=True)
    bid = l2[[f"bid_qty_{i}" for i in range(1, 6)]].sum(axis=1)
    ask = l2[[f"ask_qty_{i}" for i in range(1, 6)]].sum(axis=1)
    expected = ((bid - ask) / (bid + ask)).groupby(bar_of(time, micro_bars.index)).mean()
    got = features["depth_imbalance_5"]
    np.testing.assert_allclose(got.loc[expected.index], expected, rtol=1e-9)
    assert {"depth_imbalance_1", "depth_imbalance_10"} <= set(features.columns)


def test_event_features_are_skipped_without_their_data_unless_named(micro_bars):
    from trademl.features import FeatureError

    frame = generate_features(micro_bars, {"categories": ["microstructure"], "on_short": "nan"})
    assert "ofi" not in frame.columns and "roll_20" in frame.columns
    with pytest.raises(FeatureError, match="needs book data: pass generate_features"):
        generate_features(micro_bars, {"indicators": ["ofi"]})
