"""Microstructure from order-book and trade events, aggregated to the bar grid.

Pass the raw events to ``generate_features(ohlcv, trades=..., book=..., l2=...)``:

- ``trades``: ``price, qty, is_buyer_maker`` with the exchange time ``exch_time_ms`` (or a
  DatetimeIndex). ``is_buyer_maker`` True means the seller was the aggressor.
- ``book`` (best bid/ask changes): ``bid, bid_qty, ask, ask_qty`` with ``exch_time_ms``, a
  DatetimeIndex, or ``local_ns`` (the capture clock; shifted onto exchange time by the
  median ``exch_time_ms - local_ns`` of the first 200 trades when trades are given).
- ``l2`` (top-N snapshots): ``bid_px_i, bid_qty_i, ask_px_i, ask_qty_i`` with ``second``
  (ISO time) or a DatetimeIndex.

Bar convention: an event at time e belongs to the bar stamped t with t <= e < t + bar
(events in missing bars are dropped), and that row's value is known at t + bar, like
the bar's close. Flows (order-flow and trade imbalance) cover the bar; states (spread,
microprice, depth) are the bar's average or its last value, carried forward into bars
without any update because the book's state is still the last one seen.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.features._registry import Online, feature

__all__ = ["BookEvents", "L2Snapshots", "TradeEvents", "assign_to_bars"]

CLOCK_CALIBRATION_TRADES = 200
# serving streams candles; the events these features aggregate are not part of that stream
EVENTS_NOT_STREAMED = Online(
    "none", reason="aggregates order-book/trade events, which a bar stream does not carry"
)


def _event_times(frame: pd.DataFrame, name: str, columns: tuple[str, ...]) -> np.ndarray:
    if isinstance(frame.index, pd.DatetimeIndex):
        index = frame.index.tz_localize("UTC") if frame.index.tz is None else frame.index
        return index.tz_convert("UTC").as_unit("ns").asi8
    for column in columns:
        if column not in frame.columns:
            continue
        values = frame[column]
        if column.endswith("_ms"):
            return values.to_numpy(np.int64) * 1_000_000
        if column.endswith("_ns"):
            return values.to_numpy(np.int64)
        return pd.DatetimeIndex(pd.to_datetime(values, utc=True)).as_unit("ns").asi8
    raise DataError(
        f"{name}: no time found: expected a DatetimeIndex or one of the columns {', '.join(columns)}"
    )


def _require(frame: Any, name: str, columns: list[str]) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataError(f"{name}: expected a pandas DataFrame, got {type(frame).__name__}")
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{name}: missing column(s) {', '.join(missing)}")


class TradeEvents:
    """Trades as sorted arrays: time (ns), price, qty, side (+1 buyer-initiated, -1 seller)."""

    def __init__(self, frame: pd.DataFrame):
        _require(frame, "trades", ["price", "qty", "is_buyer_maker"])
        times = _event_times(frame, "trades", ("exch_time_ms", "time", "timestamp"))
        order = np.argsort(times, kind="stable")
        self.time = times[order]
        self.price = frame["price"].to_numpy(np.float64)[order]
        self.qty = frame["qty"].to_numpy(np.float64)[order]
        maker = frame["is_buyer_maker"]
        if maker.dtype != bool:
            maker = maker.astype(str).str.lower().isin(["true", "1"])
        self.side = np.where(maker.to_numpy(bool)[order], -1.0, 1.0)
        self.clock_offset_ns = 0
        if "exch_time_ms" in frame.columns and "local_ns" in frame.columns:
            # calibrated on the first trades only, so data arriving later never moves it
            first = frame.iloc[order[:CLOCK_CALIBRATION_TRADES]]
            offset = first["exch_time_ms"].to_numpy(np.int64) * 1_000_000 - first[
                "local_ns"
            ].to_numpy(np.int64)
            self.clock_offset_ns = int(np.median(offset))


class BookEvents:
    """Best bid/ask updates as sorted arrays (time in ns on the exchange clock)."""

    def __init__(self, frame: pd.DataFrame, clock_offset_ns: int = 0):
        _require(frame, "book", ["bid", "bid_qty", "ask", "ask_qty"])
        times = _event_times(frame, "book", ("exch_time_ms", "time", "timestamp", "local_ns"))
        if "local_ns" in frame.columns and "exch_time_ms" not in frame.columns:
            times = times + clock_offset_ns
        order = np.argsort(times, kind="stable")
        self.time = times[order]
        for column in ("bid", "bid_qty", "ask", "ask_qty"):
            setattr(self, column, frame[column].to_numpy(np.float64)[order])
        self.mid = (self.bid + self.ask) / 2.0


class L2Snapshots:
    """Top-N book snapshots: time (ns) and (snapshots x levels) bid/ask quantities."""

    def __init__(self, frame: pd.DataFrame):
        if not isinstance(frame, pd.DataFrame):
            raise DataError(f"l2: expected a pandas DataFrame, got {type(frame).__name__}")
        levels = 0
        while f"bid_qty_{levels + 1}" in frame.columns and f"ask_qty_{levels + 1}" in frame.columns:
            levels += 1
        if levels == 0:
            raise DataError("l2: expected columns bid_qty_1, ask_qty_1, ... (top-N levels)")
        times = _event_times(frame, "l2", ("second", "time", "timestamp"))
        order = np.argsort(times, kind="stable")
        self.time = times[order]
        self.levels = levels
        self.bid_qty = frame[[f"bid_qty_{i}" for i in range(1, levels + 1)]].to_numpy(np.float64)[
            order
        ]
        self.ask_qty = frame[[f"ask_qty_{i}" for i in range(1, levels + 1)]].to_numpy(np.float64)[
            order
        ]


def assign_to_bars(times: np.ndarray, bars: Any) -> np.ndarray:
    """Row of the bar containing each event time, -1 outside every bar (t <= e < t + bar)."""
    starts = bars.index.asi8
    row = np.searchsorted(starts, times, side="right") - 1
    inside = (row >= 0) & (times < starts[np.maximum(row, 0)] + bars.bar_delta.value)
    return np.where(inside, row, -1)


def _bar_sum(row: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    keep = row >= 0
    return np.bincount(row[keep], weights=values[keep], minlength=n)[:n]


def _bar_last(row: np.ndarray, values: np.ndarray, n: int) -> np.ndarray:
    """The last event value in each bar, carried forward over bars without events."""
    keep = np.flatnonzero(row >= 0)
    out = np.full(n, np.nan)
    out[row[keep]] = values[keep]  # fancy assignment keeps the last write per bar
    filled = np.where(np.isnan(out), -1, np.arange(n))
    latest = np.maximum.accumulate(filled)
    return np.where(latest >= 0, out[np.maximum(latest, 0)], np.nan)


def _bar_mean(
    row: np.ndarray, values: np.ndarray, n: int, weights: np.ndarray | None = None
) -> np.ndarray:
    weights = np.ones(len(values)) if weights is None else weights
    total = _bar_sum(row, weights, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, _bar_sum(row, values * weights, n) / total, np.nan)


def _trades(bars: Any) -> TradeEvents:
    return bars.memo("trade_events", lambda: TradeEvents(bars.trades))


def _book(bars: Any) -> BookEvents:
    offset = _trades(bars).clock_offset_ns if bars.has("trades") else 0
    return bars.memo("book_events", lambda: BookEvents(bars.book, offset))


@feature(
    "quoted_spread",
    category="microstructure",
    inputs=("book",),
    outputs=("mean", "last"),
    online=EVENTS_NOT_STREAMED,
)
def quoted_spread(bars: Any) -> tuple[np.ndarray, np.ndarray]:
    """Relative quoted spread (ask - bid) / mid: mean over the bar's updates, and the last."""
    book = _book(bars)
    row = assign_to_bars(book.time, bars)
    spread = (book.ask - book.bid) / book.mid
    mean = _bar_mean(row, spread, len(bars))
    last = _bar_last(row, spread, len(bars))
    return np.where(np.isnan(mean), last, mean), last


@feature(
    "effective_spread",
    category="microstructure",
    inputs=("trades", "book"),
    online=EVENTS_NOT_STREAMED,
)
def effective_spread(bars: Any) -> np.ndarray:
    """Volume-weighted 2 x side x (price - mid) / mid, the mid being the last quote strictly
    before the trade (trades without a prior quote are left out)."""
    trades, book = _trades(bars), _book(bars)
    quote = np.searchsorted(book.time, trades.time, side="left") - 1
    known = quote >= 0
    mid = np.where(known, book.mid[np.maximum(quote, 0)], np.nan)
    effective = 2.0 * trades.side * (trades.price - mid) / mid
    row = np.where(known, assign_to_bars(trades.time, bars), -1)
    return _bar_mean(row, np.nan_to_num(effective), len(bars), weights=trades.qty)


@feature("depth_imbalance", category="microstructure", inputs=("l2",), params={"levels": 5},
         grid={"levels": (1, 5, 10)}, online=EVENTS_NOT_STREAMED)  # fmt: skip
def depth_imbalance(bars: Any, levels: int) -> np.ndarray:
    """(bid depth - ask depth) / (bid + ask depth) over the top `levels` levels, averaged over
    the bar's snapshots (carried forward when a bar has none)."""
    l2 = bars.memo("l2_snapshots", lambda: L2Snapshots(bars.l2))
    if levels > l2.levels:
        raise DataError(f"depth_imbalance: levels={levels} but the l2 data has {l2.levels} levels")
    bid = l2.bid_qty[:, :levels].sum(axis=1)
    ask = l2.ask_qty[:, :levels].sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        imbalance = (bid - ask) / (bid + ask)
    row = assign_to_bars(l2.time, bars)
    mean = _bar_mean(row, imbalance, len(bars))
    return np.where(np.isnan(mean), _bar_last(row, imbalance, len(bars)), mean)


@feature("ofi", category="microstructure", inputs=("book",), online=EVENTS_NOT_STREAMED)
def order_flow_imbalance(bars: Any) -> np.ndarray:
    """Order-flow imbalance (Cont, Kukanov and Stoikov 2014), summed over the bar's best
    bid/ask updates, in base-asset units; 0 in a bar without updates."""
    book = _book(bars)
    bid, bid_qty, ask, ask_qty = book.bid, book.bid_qty, book.ask, book.ask_qty
    flow = np.zeros(len(bid))
    flow[1:] = (
        np.where(bid[1:] >= bid[:-1], bid_qty[1:], 0.0)
        - np.where(bid[1:] <= bid[:-1], bid_qty[:-1], 0.0)
        - np.where(ask[1:] <= ask[:-1], ask_qty[1:], 0.0)
        + np.where(ask[1:] >= ask[:-1], ask_qty[:-1], 0.0)
    )
    return _bar_sum(assign_to_bars(book.time, bars), flow, len(bars))


@feature(
    "trade_imbalance", category="microstructure", inputs=("trades",), online=EVENTS_NOT_STREAMED
)
def trade_imbalance(bars: Any) -> np.ndarray:
    """(buyer- minus seller-initiated volume) / total volume in the bar; NaN without trades."""
    trades = _trades(bars)
    row = assign_to_bars(trades.time, bars)
    return _bar_mean(row, trades.side, len(bars), weights=trades.qty)


@feature(
    "microprice",
    category="microstructure",
    inputs=("book",),
    outputs=("", "dist"),
    online=EVENTS_NOT_STREAMED,
)
def microprice(bars: Any) -> tuple[np.ndarray, np.ndarray]:
    """Last microprice of the bar, (bid x ask_qty + ask x bid_qty) / (bid_qty + ask_qty),
    and its relative distance to the mid (> 0: pressure to the upside)."""
    book = _book(bars)
    depth = book.bid_qty + book.ask_qty
    with np.errstate(divide="ignore", invalid="ignore"):
        price = np.where(
            depth > 0, (book.bid * book.ask_qty + book.ask * book.bid_qty) / depth, book.mid
        )
    row = assign_to_bars(book.time, bars)
    last_price = _bar_last(row, price, len(bars))
    last_mid = _bar_last(row, book.mid, len(bars))
    return last_price, last_price / last_mid - 1.0
