"""The trade list: one row per run of same-side positions, PnL attributed exactly."""

from __future__ import annotations

import numpy as np
import pandas as pd

TRADE_COLUMNS = [
    "side", "size", "entry_time", "exit_time", "entry_price", "exit_price", "pnl", "return",
    "fees", "funding", "bars", "duration", "closed",
]  # fmt: skip


def extract_trades(
    index: pd.Index,
    close: np.ndarray,
    executed: np.ndarray,
    gross: np.ndarray,
    costs: np.ndarray,
    slippage_rate: np.ndarray,
    funding: np.ndarray,
    equity_before: np.ndarray,
) -> pd.DataFrame:
    """Trades from executed positions; ``equity_before[k]`` is the equity entering bar k
    and ``costs[k]`` the fraction of equity the trade at close k costs.

    A trade opens at the close where the position's side changes to long or short and
    closes where the side changes again (a flip closes one trade and opens another at
    the same close). Each bar's PnL is split between trades so that the trades' PnL adds
    up to the equity change: the move on the held position, its funding and any resize
    cost belong to the trade held during the bar; on a side change the exit part of the
    cost goes to the old trade and the entry part to the new one.
    """
    n = len(executed)
    side = np.sign(executed)
    previous = np.concatenate(([0.0], executed[:-1]))
    previous_side = np.sign(previous)
    change = side != previous_side
    run = np.cumsum(change)
    previous_run = np.concatenate(([0], run[:-1]))
    # on a side change the cost splits in proportion to the two positions' sizes
    size_old, size_new = np.abs(previous), np.abs(executed)
    total = np.where(change, size_old + size_new, 1.0)
    old_share = np.where(change, size_old / np.where(total > 0, total, 1.0), 1.0)
    at_trade = equity_before * (1.0 + gross - funding)  # equity when the close trades
    old_cost = at_trade * costs * old_share
    new_cost = at_trade * costs * (1.0 - old_share)
    n_runs = int(run[-1]) + 1 if n else 1
    pnl = np.bincount(previous_run, equity_before * (gross - funding) - old_cost, n_runs)
    pnl -= np.bincount(run, new_cost, n_runs)
    fees = np.bincount(previous_run, old_cost, n_runs) + np.bincount(run, new_cost, n_runs)
    paid_funding = np.bincount(previous_run, equity_before * funding, n_runs)

    starts = np.flatnonzero(change)  # run j (j >= 1) starts at bar starts[j - 1]
    exits = np.append(starts[1:], n - 1)
    # every run but the last ended at the next side change; the last is still held
    closed = np.arange(len(starts)) < len(starts) - 1
    runs = np.arange(1, len(starts) + 1)
    keep = side[starts] != 0
    starts, exits, closed, runs = starts[keep], exits[keep], closed[keep], runs[keep]
    trade_side = side[starts]
    entry_equity = equity_before[starts]
    entry_price = close[starts] * (1 + trade_side * slippage_rate[starts])
    exit_price = close[exits] * (1 - trade_side * slippage_rate[exits])
    trades = pd.DataFrame(
        {
            "side": np.where(trade_side > 0, "long", "short"),
            "size": np.abs(executed[starts]),
            "entry_time": index[starts],
            "exit_time": index[exits],
            "entry_price": entry_price,
            "exit_price": exit_price,
            "pnl": pnl[runs],
            "return": pnl[runs] / entry_equity,
            "fees": fees[runs],
            "funding": paid_funding[runs],
            "bars": exits - starts,
            "closed": closed,
        }
    )
    if isinstance(index, pd.DatetimeIndex):
        trades["duration"] = trades["exit_time"] - trades["entry_time"]
    else:
        trades["duration"] = trades["bars"]
    return trades[TRADE_COLUMNS]
