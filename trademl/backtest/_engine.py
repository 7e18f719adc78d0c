"""The vectorised backtest: target positions -> executed positions -> net returns.

The model, per bar k (close-to-close return r_k of the asset):
- the target decided at the close of bar t is executed at the close of bar
  t + ``execution_lag`` (default 1: never on the signal's own close);
- the position held during bar k is the one executed at close k - 1, so the gross
  return is ``e[k-1] * r[k]``;
- trading at close k from ``e[k-1]`` to ``e[k]`` costs ``c = fee + slippage`` (fees in bp
  per side; slippage in bp or a fraction of the bar's high-low range) on the traded
  notional, measured on the equity AFTER the trade, as a broker would: solving
  ``E' = E - c |e[k] E' - e[k-1] E|`` gives the kept fraction
  ``(1 + c e[k-1]) / (1 + c e[k])`` when buying and ``(1 - c e[k-1]) / (1 - c e[k])`` when
  selling (going all-in from cash keeps ``1 / (1 + c)``, exactly vectorbt's fill);
- funding for perpetuals: ``e[k-1] * sum of funding rates stamped in (t[k-1], t[k]]``
  (a positive rate costs longs and pays shorts);
- the position is a constant fraction of equity: for 0/1 (all-in long) positions that is
  exactly holding units; fractional and short positions are rebalanced to their fraction
  every bar WITHOUT charging that small drift rebalancing.
Net return ``R[k] = (1 + gross - funding) * kept - 1``; equity compounds ``(1 + R)``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from trademl.backtest._sizing import SignalKind, Sizing, target_positions
from trademl.backtest._trades import TRADE_COLUMNS, extract_trades
from trademl.backtest.result import BacktestResult
from trademl.errors import DataError


def _price_series(values, name: str) -> pd.Series:
    if not isinstance(values, pd.Series):
        raise DataError(f"{name}: expected a pandas Series, got {type(values).__name__}")
    series = pd.to_numeric(values, errors="coerce").astype("float64")
    if len(series) < 2:
        raise DataError(f"{name}: need at least 2 bars, got {len(series)}")
    stamps = series.index.asi8 if isinstance(series.index, pd.DatetimeIndex) else None
    if stamps is None or not (np.diff(stamps) > 0).all():  # strictly increasing: one pass
        if not series.index.is_unique:
            dup = series.index[series.index.duplicated()][0]
            raise DataError(f"{name}: duplicate timestamp {dup}")
        if not series.index.is_monotonic_increasing:
            raise DataError(f"{name}: the index must be sorted ascending")
    bad = ~np.isfinite(series.to_numpy()) | (series.to_numpy() <= 0)
    if bad.any():
        row = int(np.flatnonzero(bad)[0])
        raise DataError(
            f"{name}: prices must be positive and finite, got {values.iloc[row]!r} at row "
            f"{row} ({series.index[row]})"
        )
    return series


def _funding_per_bar(index: pd.Index, funding: pd.Series | None) -> np.ndarray:
    if funding is None:
        return np.zeros(len(index))
    if not isinstance(funding, pd.Series) or not isinstance(funding.index, pd.DatetimeIndex):
        raise DataError("funding: expected a Series of rates indexed by funding timestamps")
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError("funding needs prices with a DatetimeIndex")
    rates = pd.to_numeric(funding, errors="coerce").fillna(0.0).to_numpy(dtype="float64")
    stamps = funding.index.tz_convert(index.tz) if index.tz is not None else funding.index
    # funding stamped at t belongs to the first bar whose close time label is >= t,
    # i.e. the bar interval (t[k-1], t[k]] during which position e[k-1] was held
    bar = np.searchsorted(index.asi8, stamps.as_unit(index.unit).asi8, side="left")
    inside = (bar > 0) & (bar < len(index))
    return np.bincount(bar[inside], rates[inside], len(index))


def kept_after_costs(
    prices: np.ndarray,
    trade_bars: np.ndarray,
    held: np.ndarray,
    wanted: np.ndarray,
    *,
    fee_bp: float,
    slippage_bp: float,
    slippage_range_fraction: float = 0.0,
    bar_range: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """(share of equity kept, slippage rate) of each trade (see the module doc): fees and
    slippage paid on the traded notional, measured on the equity after the trade. The one
    cost model of the full backtest and of its cheap path."""
    slippage = np.full(len(trade_bars), slippage_bp / 1e4)
    if slippage_range_fraction:
        spread = bar_range[trade_bars] / prices[trade_bars]
        if not np.isfinite(spread).all() or (spread < 0).any():
            raise DataError("high/low: missing values or high below low where the range is used")
        slippage = slippage + slippage_range_fraction * spread
    rate = fee_bp / 1e4 + slippage
    if (rate * np.maximum(np.abs(held), np.abs(wanted)) >= 1).any():
        raise DataError("fees and slippage times the position size reach 100 % of a trade")
    kept = np.where(
        wanted >= held,
        (1 + rate * held) / (1 + rate * wanted),
        (1 - rate * held) / (1 - rate * wanted),
    )
    return kept, slippage


def _one_symbol(
    close: pd.Series,
    target: pd.Series,
    *,
    fee_bp: float,
    slippage_bp: float,
    slippage_range_fraction: float,
    high: pd.Series | None,
    low: pd.Series | None,
    funding: pd.Series | None,
    execution_lag: int,
    initial_capital: float,
) -> dict:
    prices = close.to_numpy()
    n = len(prices)
    if target.index.equals(close.index):
        wanted = target.to_numpy(dtype="float64")
    else:
        wanted = target.reindex(close.index).fillna(0.0).to_numpy(dtype="float64")
    executed = np.zeros(n)
    if execution_lag < n:
        executed[execution_lag:] = wanted[: n - execution_lag]
    asset = np.empty(n)
    asset[0] = 0.0
    np.divide(prices[1:], prices[:-1], out=asset[1:])
    asset[1:] -= 1.0
    previous = np.empty(n)
    previous[0] = 0.0
    previous[1:] = executed[:-1]
    gross = previous * asset
    # trades are rare next to bars: cost arithmetic runs on the trade bars only
    trade_bars = np.flatnonzero(executed != previous)
    held, wanted_at = previous[trade_bars], executed[trade_bars]
    bar_range = None
    if slippage_range_fraction:
        if high is None or low is None:
            raise DataError("slippage_range_fraction needs high and low prices")
        bar_range = (high.reindex(close.index) - low.reindex(close.index)).to_numpy()
    kept, slippage = kept_after_costs(
        prices, trade_bars, held, wanted_at,
        fee_bp=fee_bp, slippage_bp=slippage_bp,
        slippage_range_fraction=slippage_range_fraction, bar_range=bar_range,
    )  # fmt: skip
    funding_paid = None
    if funding is not None:
        funding_paid = previous * _funding_per_bar(close.index, funding)
        net = gross - funding_paid
    else:
        net = gross.copy()
    net[trade_bars] = (1.0 + net[trade_bars]) * kept - 1.0
    equity = np.cumprod(1.0 + net)
    equity *= initial_capital
    equity_before = np.empty(n)
    equity_before[0] = initial_capital
    equity_before[1:] = equity[:-1]
    trades = extract_trades(
        close.index, prices, executed, previous, gross, funding_paid, equity_before,
        trade_bars, 1.0 - kept, slippage,
    )  # fmt: skip
    costs = np.zeros(n)
    costs[trade_bars] = 1.0 - kept  # fraction of the equity at the moment of the trade
    turnover = np.zeros(n)
    turnover[trade_bars] = np.abs(wanted_at - held)
    return {
        "returns": net,
        "gross": gross,
        "positions": executed,
        "costs": costs,
        "funding": np.zeros(n) if funding_paid is None else funding_paid,
        "turnover": turnover,
        "asset": asset,
        "trades": trades,
        "equity": equity,
    }


def run_backtest(
    close: pd.Series | pd.DataFrame,
    signal_or_proba: pd.Series | pd.DataFrame,
    *,
    kind: SignalKind = "auto",
    sizing: Sizing = "sign",
    fraction: float = 1.0,
    kelly_payoff: float = 1.0,
    kelly_cap: float = 0.5,
    threshold: float = 0.0,
    allow_short: bool = True,
    max_leverage: float = 1.0,
    fee_bp: float = 10.0,
    slippage_bp: float = 0.0,
    slippage_range_fraction: float = 0.0,
    high: pd.Series | pd.DataFrame | None = None,
    low: pd.Series | pd.DataFrame | None = None,
    funding: pd.Series | dict | None = None,
    execution_lag: int = 1,
    initial_capital: float = 10_000.0,
    weights: dict[str, float] | None = None,
    benchmark: str | pd.Series | None = "buy_and_hold",
) -> BacktestResult:
    """Backtest signals (-1/0/+1 or any real: the sign is the side) or probabilities P(up).

    One symbol: ``close`` and ``signal_or_proba`` are Series on the same index (missing
    signals mean flat). Many symbols: DataFrames with one column per symbol; each symbol
    trades its ``weights`` share (equal by default) and the portfolio return is the
    weighted sum, rebalanced every bar; a portfolio trade's PnL is measured on its symbol's
    sleeve (its weight of the initial capital, compounded by that symbol's own returns),
    so across symbols the trades' PnL only approximately adds up to the portfolio's. ``funding`` is a Series of funding rates (or a
    dict symbol -> Series). ``benchmark`` is ``"buy_and_hold"`` (the same weights on the
    assets), a Series of benchmark prices, or None. See the module docstring for the
    exact cost and timing model and :func:`target_positions` for sizing.
    """
    for name, value in (("fee_bp", fee_bp), ("slippage_bp", slippage_bp),
                        ("slippage_range_fraction", slippage_range_fraction)):  # fmt: skip
        if not float(value) >= 0:
            raise ValueError(f"{name} must be non-negative, got {name}={value!r}")
    if int(execution_lag) != execution_lag or execution_lag < 0:
        raise ValueError(f"execution_lag must be a whole number of bars >= 0, got {execution_lag=}")
    if not float(initial_capital) > 0:
        raise ValueError(f"initial_capital must be positive, got {initial_capital=}")
    sizing_options = dict(
        kind=kind, sizing=sizing, fraction=fraction, kelly_payoff=kelly_payoff,
        kelly_cap=kelly_cap, threshold=threshold, allow_short=allow_short,
        max_leverage=max_leverage,
    )  # fmt: skip
    if isinstance(close, pd.DataFrame):
        return _portfolio(
            close, signal_or_proba, sizing_options, fee_bp=fee_bp, slippage_bp=slippage_bp,
            slippage_range_fraction=slippage_range_fraction, high=high, low=low,
            funding=funding, execution_lag=int(execution_lag),
            initial_capital=float(initial_capital), weights=weights, benchmark=benchmark,
        )  # fmt: skip
    prices = _price_series(close, "close")
    if isinstance(signal_or_proba, pd.DataFrame):
        raise DataError("signal_or_proba is a DataFrame but close is a Series; pass both as one")
    signal = _aligned_signal(signal_or_proba, prices)
    target = target_positions(signal, **sizing_options)
    parts = _one_symbol(
        prices, target, fee_bp=float(fee_bp), slippage_bp=float(slippage_bp),
        slippage_range_fraction=float(slippage_range_fraction), high=high, low=low,
        funding=funding, execution_lag=int(execution_lag),
        initial_capital=float(initial_capital),
    )  # fmt: skip
    index = prices.index
    returns = pd.Series(parts["returns"], index=index, name="returns", copy=False)
    return BacktestResult(
        returns=returns,
        gross_returns=pd.Series(parts["gross"], index=index, name="gross_returns", copy=False),
        positions=pd.Series(parts["positions"], index=index, name="position", copy=False),
        equity=pd.Series(parts["equity"], index=index, name="equity", copy=False),
        costs=pd.Series(parts["costs"], index=index, name="costs", copy=False),
        funding=pd.Series(parts["funding"], index=index, name="funding", copy=False),
        turnover=pd.Series(parts["turnover"], index=index, name="turnover", copy=False),
        trades=parts["trades"],
        benchmark_returns=_benchmark(
            benchmark, pd.Series(parts["asset"], index=index, copy=False), index
        ),
        initial_capital=float(initial_capital),
    )


def _aligned_signal(signal, prices: pd.Series) -> pd.Series:
    if not isinstance(signal, pd.Series):
        values = np.asarray(signal, dtype="float64")
        if len(values) != len(prices):
            raise DataError(
                f"signal_or_proba: length {len(values)} differs from close length {len(prices)}"
            )
        return pd.Series(values, index=prices.index)
    if signal.index.equals(prices.index):
        return signal
    common = signal.index.intersection(prices.index)
    if len(common) == 0:
        raise DataError("signal_or_proba: no timestamp in common with close")
    return signal.reindex(prices.index)


def _benchmark(benchmark, asset_returns: pd.Series, index: pd.Index) -> pd.Series | None:
    if benchmark is None or (isinstance(benchmark, str) and benchmark == "none"):
        return None
    if isinstance(benchmark, str):
        if benchmark != "buy_and_hold":
            raise ValueError(
                f"benchmark must be 'buy_and_hold', 'none' or a Series, got {benchmark=}"
            )
        return asset_returns.rename("benchmark")
    prices = _price_series(benchmark, "benchmark")
    return prices.reindex(index).ffill().pct_change().fillna(0.0).rename("benchmark")


def _portfolio(
    close: pd.DataFrame,
    signals: pd.DataFrame,
    sizing_options: dict,
    *,
    fee_bp: float,
    slippage_bp: float,
    slippage_range_fraction: float,
    high,
    low,
    funding,
    execution_lag: int,
    initial_capital: float,
    weights: dict[str, float] | None,
    benchmark,
) -> BacktestResult:
    if not isinstance(signals, pd.DataFrame):
        raise DataError("close is a DataFrame (many symbols): signal_or_proba must be one too")
    symbols = [str(c) for c in close.columns]
    missing = sorted(set(symbols) - {str(c) for c in signals.columns})
    if missing:
        raise DataError(f"signal_or_proba: no column for symbol(s) {', '.join(missing)}")
    if weights is None:
        weights = {s: 1.0 / len(symbols) for s in symbols}
    unknown = sorted(set(weights) - set(symbols))
    if unknown:
        raise DataError(f"weights: unknown symbol(s) {', '.join(unknown)}; have {symbols}")
    total = float(sum(weights.get(s, 0.0) for s in symbols))
    if total <= 0 or any(weights.get(s, 0.0) < 0 for s in symbols):
        raise DataError(f"weights must be non-negative and not all zero, got {weights}")
    share = {s: weights.get(s, 0.0) / total for s in symbols}
    index = close.index
    columns = {"returns": {}, "gross": {}, "positions": {}, "costs": {}, "funding": {},
               "turnover": {}, "asset": {}}  # fmt: skip
    trade_frames = []
    for column in close.columns:
        symbol = str(column)
        prices = _price_series(close[column].dropna(), f"close[{symbol}]")
        target = target_positions(_aligned_signal(signals[column], prices), **sizing_options)
        symbol_funding = funding.get(symbol) if isinstance(funding, dict) else funding
        parts = _one_symbol(
            prices, target, fee_bp=fee_bp, slippage_bp=slippage_bp,
            slippage_range_fraction=slippage_range_fraction,
            high=None if high is None else high[column].dropna(),
            low=None if low is None else low[column].dropna(),
            funding=symbol_funding, execution_lag=execution_lag,
            initial_capital=initial_capital * share[symbol],
        )  # fmt: skip
        for key, store in columns.items():
            store[symbol] = pd.Series(parts[key], index=prices.index)
        trades = parts["trades"]
        trades.insert(0, "symbol", symbol)
        trade_frames.append(trades)
    frames = {key: pd.DataFrame(store).reindex(index).fillna(0.0) for key, store in columns.items()}
    weight_vector = pd.Series(share)[frames["returns"].columns]
    returns = (frames["returns"] * weight_vector).sum(axis=1).rename("returns")
    trades = (
        pd.concat(trade_frames, ignore_index=True)
        if trade_frames
        else pd.DataFrame(columns=["symbol", *TRADE_COLUMNS])
    )
    trades = trades.sort_values(["entry_time", "symbol"], kind="stable", ignore_index=True)
    bench = _benchmark(benchmark, (frames["asset"] * weight_vector).sum(axis=1), index)
    return BacktestResult(
        returns=returns,
        gross_returns=(frames["gross"] * weight_vector).sum(axis=1).rename("gross_returns"),
        positions=frames["positions"] * weight_vector,
        equity=(initial_capital * (1 + returns).cumprod()).rename("equity"),
        costs=(frames["costs"] * weight_vector).sum(axis=1).rename("costs"),
        funding=(frames["funding"] * weight_vector).sum(axis=1).rename("funding"),
        turnover=(frames["turnover"] * weight_vector).sum(axis=1).rename("turnover"),
        trades=trades,
        benchmark_returns=bench,
        initial_capital=initial_capital,
    )
