"""The engine's cheap path: rows of (timestamp, symbol, close, signal) -> per-bar net returns.

The same model as :func:`run_backtest` (execution lag, fee and slippage on the equity
after the trade, sizing, shorting, leverage cap, weighted symbol sleeves; see
``_engine``'s docstring), on the long layout that tuning folds, the holdout's
``predictions/oos.parquet`` and the monitoring store share: one row per (timestamp,
symbol), rows sorted by timestamp. Pure numpy on the rows: no trade list, no equity in
currency, no DataFrame per symbol. ``tests/backtest/test_strategy.py`` checks that it
returns exactly (1e-12) what ``run_backtest`` / ``backtest_predictions`` return.

Not covered here (use ``run_backtest``): funding payments and a benchmark price series.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Literal

import numpy as np
import pandas as pd

from trademl.backtest._engine import kept_after_costs
from trademl.backtest._sizing import target_positions
from trademl.errors import DataError

__all__ = ["StrategyRun", "buy_and_hold_spec", "run_strategy", "sizing_input", "strategy_returns"]


@dataclass(frozen=True)
class StrategyRun:
    """Per-bar series of one run of the engine (index: the bars' timestamps).

    ``returns``: the portfolio's net return per bar (fractions). ``turnover``: traded
    notional per bar as a fraction of equity, weighted over symbols. ``exposure``: the
    weighted share of symbols holding a non-zero executed position. ``fills``: how many
    symbols changed their executed position at that bar.
    """

    returns: pd.Series
    turnover: pd.Series
    exposure: pd.Series
    fills: pd.Series

    @classmethod
    def concat(cls, runs: list[StrategyRun]) -> StrategyRun:
        """Runs one after the other (e.g. cross-validation folds), bars pooled."""
        if not runs:
            empty = pd.Series([], dtype="float64")
            return cls(empty, empty, empty, empty)
        if len(runs) == 1:
            return runs[0]
        names = [f.name for f in fields(cls)]
        return cls(*(pd.concat([getattr(r, name) for r in runs]) for name in names))


def sizing_input(backtest) -> Literal["signal", "proba"]:
    """Which model output the spec's sizing reads: P(up) for probability/kelly, else the signal."""
    return "proba" if backtest.sizing in ("probability", "kelly") else "signal"


def buy_and_hold_spec(backtest):
    """The same settings holding every row long at full size (sizing ``sign``)."""
    return backtest.model_copy(update={"sizing": "sign", "allow_short": True})


def _floats(values, name: str, n: int) -> np.ndarray:
    array = np.asarray(values, dtype="float64")
    if array.shape != (n,):
        raise DataError(f"{name}: expected {n} values (one per row), got shape {array.shape}")
    return array


def _bars(index: pd.Index) -> np.ndarray:
    """Bar number of every row (rows of one timestamp share a bar)."""
    if not index.is_monotonic_increasing:
        raise DataError("rows must be sorted by timestamp (then symbol)")
    keys = index.asi8 if isinstance(index, pd.DatetimeIndex) else index.to_numpy()
    new_bar = np.empty(len(keys), dtype=bool)
    new_bar[0] = True
    np.not_equal(keys[1:], keys[:-1], out=new_bar[1:])
    return np.cumsum(new_bar) - 1


def _shares(uniques: np.ndarray, weights: dict[str, float] | None) -> np.ndarray:
    """Each symbol's share of the portfolio, as ``run_backtest`` computes it."""
    symbols = [str(s) for s in uniques]
    if len(symbols) == 1:
        return np.ones(1)  # one symbol trades the whole account, whatever the weights say
    if weights is None:
        return np.full(len(symbols), 1.0 / len(symbols))
    unknown = sorted(set(weights) - set(symbols))
    if unknown:
        raise DataError(f"weights: unknown symbol(s) {', '.join(unknown)}; have {symbols}")
    raw = np.array([weights.get(s, 0.0) for s in symbols], dtype="float64")
    total = float(sum(weights.get(s, 0.0) for s in symbols))
    if total <= 0 or (raw < 0).any():
        raise DataError(f"weights must be non-negative and not all zero, got {weights}")
    return raw / total


def _sleeves(prices, target, first, position, backtest, bar_range):
    """Net return, turnover and executed position per row, symbols grouped (``_one_symbol``)."""
    n = len(prices)
    lag = int(backtest.execution_lag)
    asset = np.empty(n)
    asset[0] = 0.0
    np.divide(prices[1:], prices[:-1], out=asset[1:])
    asset[1:] -= 1.0
    asset[first] = 0.0
    executed = np.zeros(n)
    if lag == 0:
        executed[:] = target
    else:
        late = np.flatnonzero(position >= lag)
        executed[late] = target[late - lag]
    previous = np.empty(n)
    previous[0] = 0.0
    previous[1:] = executed[:-1]
    previous[first] = 0.0
    gross = previous * asset
    trade_bars = np.flatnonzero(executed != previous)
    held, wanted_at = previous[trade_bars], executed[trade_bars]
    if backtest.slippage_range_fraction and bar_range is None:
        raise DataError("slippage_range_fraction needs high and low prices")
    kept, _ = kept_after_costs(
        prices, trade_bars, held, wanted_at,
        fee_bp=backtest.fee_bp, slippage_bp=backtest.slippage_bp,
        slippage_range_fraction=backtest.slippage_range_fraction, bar_range=bar_range,
    )  # fmt: skip
    net = gross.copy()
    net[trade_bars] = (1.0 + net[trade_bars]) * kept - 1.0
    turnover = np.zeros(n)
    turnover[trade_bars] = np.abs(wanted_at - held)
    return net, turnover, executed, previous


def run_strategy(
    close: pd.Series,
    signal=None,
    *,
    backtest,
    proba=None,
    symbols=None,
    high=None,
    low=None,
) -> StrategyRun:
    """Backtest rows through the engine and keep only the per-bar series.

    ``close``: the row's close, a Series whose index is the row's timestamp (repeated
    across symbols; sorted). ``signal`` (-1/0/+1 or any real: its sign) and ``proba``
    (P(up)): one value per row; the spec's sizing picks which one is used
    (:func:`sizing_input`). ``symbols``: the row's symbol (None: one symbol). ``high`` /
    ``low``: only for ``slippage_range_fraction``. ``backtest``: a ``BacktestSpec``.
    """
    if not isinstance(close, pd.Series):
        raise DataError(f"close: expected a pandas Series, got {type(close).__name__}")
    n = len(close)
    if n == 0:
        raise DataError("close: no rows to backtest")
    prices = _floats(close, "close", n)
    bad = ~np.isfinite(prices) | (prices <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"close: prices must be positive and finite, got {prices[row]!r} at row {row} "
            f"({close.index[row]})"
        )
    column = sizing_input(backtest)
    values = proba if column == "proba" else signal
    if values is None or (column == "proba" and not np.isfinite(_floats(values, column, n)).any()):
        raise DataError(
            f"sizing={backtest.sizing!r} needs probabilities, but no 'proba' values were given "
            "(a regression model?); use sizing 'sign' or 'fixed'"
            if column == "proba"
            else "signal: no signal given"
        )
    wanted = target_positions(
        pd.Series(_floats(values, column, n), copy=False),
        kind=column, sizing=backtest.sizing, fraction=backtest.fraction,
        kelly_payoff=backtest.kelly_payoff, kelly_cap=backtest.kelly_cap,
        threshold=backtest.threshold, allow_short=backtest.allow_short,
        max_leverage=backtest.max_leverage,
    ).to_numpy()  # fmt: skip
    bar_range = None
    if backtest.slippage_range_fraction and high is not None and low is not None:
        bar_range = _floats(high, "high", n) - _floats(low, "low", n)
    bar = _bars(close.index)
    stamps = close.index[np.flatnonzero(np.diff(bar, prepend=-1))]
    if symbols is None:
        codes, uniques = np.zeros(n, dtype=np.intp), np.array([""])
    else:
        codes, uniques = pd.factorize(np.asarray(symbols).astype(str), sort=True)
    if len(uniques) == 1:
        order = None
        first = np.zeros(1, dtype=np.intp)
        position = np.arange(n)
        if bar[-1] != n - 1:
            row = int(np.flatnonzero(np.diff(bar) == 0)[0]) + 1
            raise DataError(f"duplicate row for symbol {uniques[0]} at {close.index[row]}")
    else:
        order = np.argsort(codes, kind="stable")  # symbol by symbol, in time order
        codes, bar = codes[order], bar[order]
        prices, wanted = prices[order], wanted[order]
        bar_range = None if bar_range is None else bar_range[order]
        counts = np.bincount(codes, minlength=len(uniques))
        first = np.concatenate(([0], np.cumsum(counts)[:-1]))
        position = np.arange(n) - np.repeat(first, counts)
        same = (position[1:] > 0) & (bar[1:] == bar[:-1])
        if same.any():
            row = int(np.flatnonzero(same)[0]) + 1
            raise DataError(
                f"duplicate row for symbol {uniques[codes[row]]} at {close.index[order[row]]}"
            )
    net, turnover, executed, previous = _sleeves(
        prices, wanted, first, position, backtest, bar_range
    )
    share = _shares(uniques, backtest.weights)[codes]
    n_bars = len(stamps)

    def per_bar(values: np.ndarray, name: str) -> pd.Series:
        return pd.Series(np.bincount(bar, values, n_bars), index=stamps, name=name, copy=False)

    return StrategyRun(
        returns=per_bar(net * share, "returns"),
        turnover=per_bar(turnover * share, "turnover"),
        exposure=per_bar((executed != 0) * share, "exposure"),
        fills=per_bar((executed != previous).astype("float64"), "fills"),
    )


def strategy_returns(close: pd.Series, signal=None, *, backtest, proba=None, symbols=None,
                     high=None, low=None) -> pd.Series:  # fmt: skip
    """Per-bar net portfolio returns of the rows, exactly as ``run_backtest`` computes them.

    See :func:`run_strategy` for the inputs.
    """
    return run_strategy(
        close, signal, backtest=backtest, proba=proba, symbols=symbols, high=high, low=low
    ).returns
