"""The trade list: one row per run of same-side positions, PnL attributed exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADE_COLUMNS = [
    "side", "size", "entry_time", "exit_time", "entry_price", "exit_price", "pnl", "return",
    "fees", "funding", "bars", "duration", "closed",
]  # fmt: skip


def _run_sums(per_bar: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """Sum of ``per_bar`` over bars (start, end] of each run, from one cumulative sum."""
    total = np.concatenate(([0.0], np.cumsum(per_bar)))
    return total[ends + 1] - total[starts + 1]


def extract_trades(
    index: pd.Index,
    close: np.ndarray,
    executed: np.ndarray,
    previous: np.ndarray,
    gross: np.ndarray,
    funding: np.ndarray | None,
    equity_before: np.ndarray,
    trade_bars: np.ndarray,
    cost_fraction: np.ndarray,
    slippage: np.ndarray,
) -> pd.DataFrame:
    """Trades from executed positions.

    ``equity_before[k]`` is the equity entering bar k; ``trade_bars`` are the bars whose
    close trades, each costing ``cost_fraction`` of the equity at that moment (with
    ``slippage`` of it from slippage, to report fill prices).

    A trade opens at the close where the position's side changes to long or short and
    closes where the side changes again (a flip closes one trade and opens another at
    the same close). Each bar's PnL goes to the trade held during the bar (its price
    move and funding) and each trading close's cost to the trade it changes; on a side
    change the cost is split in proportion to the old and new sizes. So the trades' PnL
    adds up exactly to the equity change.
    """
    n = len(executed)
    old_side = np.sign(previous[trade_bars])
    new_side = np.sign(executed[trade_bars])
    flips = new_side != old_side
    starts = trade_bars[flips]  # run j >= 1 starts at starts[j - 1]; run 0 is the flat start
    ends = np.append(starts[1:], n - 1)  # where the next run starts: this one's exit close

    moved = gross if funding is None else gross - funding
    pnl = _run_sums(equity_before * moved, starts, ends)
    paid = (
        _run_sums(equity_before * funding, starts, ends)
        if funding is not None
        else np.zeros(len(starts))
    )
    at_trade = equity_before[trade_bars] * (1.0 + moved[trade_bars])
    cost = at_trade * cost_fraction
    size_old = np.abs(previous[trade_bars])
    size_new = np.abs(executed[trade_bars])
    both = np.where(flips, size_old + size_new, 1.0)
    old_share = np.where(flips, size_old / np.where(both > 0, both, 1.0), 1.0)
    # run owning each trade bar: before the bar (old side) and after it (new side)
    run_old = np.searchsorted(starts, trade_bars, side="left")
    run_new = np.searchsorted(starts, trade_bars, side="right")
    n_runs = len(starts) + 1
    fees = np.bincount(run_old, cost * old_share, n_runs)
    fees += np.bincount(run_new, cost * (1.0 - old_share), n_runs)
    fees = fees[1:]
    pnl = pnl - fees

    closed = np.arange(len(starts)) < len(starts) - 1
    keep = np.sign(executed[starts]) != 0
    starts, ends, closed = starts[keep], ends[keep], closed[keep]
    pnl, fees, paid = pnl[keep], fees[keep], paid[keep]
    side = np.sign(executed[starts])
    slip_at = slippage[np.searchsorted(trade_bars, starts)]
    exit_is_trade = np.isin(ends, trade_bars)
    slip_exit = np.where(
        exit_is_trade,
        slippage[np.minimum(np.searchsorted(trade_bars, ends), len(trade_bars) - 1)],
        0.0,
    )
    entry_equity = equity_before[starts]
    trades = pd.DataFrame(
        {
            "side": np.where(side > 0, "long", "short"),
            "size": np.abs(executed[starts]),
            "entry_time": index[starts],
            "exit_time": index[ends],
            "entry_price": close[starts] * (1 + side * slip_at),
            "exit_price": close[ends] * (1 - side * slip_exit),
            "pnl": pnl,
            "return": pnl / entry_equity,
            "fees": fees,
            "funding": paid,
            "bars": ends - starts,
            "closed": closed,
        }
    )
    if isinstance(index, pd.DatetimeIndex):
        trades["duration"] = trades["exit_time"] - trades["entry_time"]
    else:
        trades["duration"] = trades["bars"]
    return trades[TRADE_COLUMNS]
