"""The vectorised backtest against a hand-worked example and a plain event loop."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.backtest import run_backtest, target_positions
from trademl.errors import DataError

pytestmark = pytest.mark.filterwarnings("error")


def hours(n: int) -> pd.DatetimeIndex:
    return pd.date_range("2024-01-01", periods=n, freq="1h", tz="UTC")


def after_fee(equity, held, wanted, fee):
    """Equity after trading from fraction ``held`` to ``wanted`` of the post-trade equity,
    paying ``fee`` on the notional: solve E' = E - fee |wanted E' - held E| by iteration."""
    new = equity
    for _ in range(60):
        new = equity - fee * abs(wanted * new - held * equity)
    return new


def loop_backtest(close, target, fee, lag):
    """An independent bar-by-bar reference with the position held as a fraction of equity."""
    executed = np.concatenate([np.zeros(lag), target[: len(target) - lag]])
    held = executed[0]  # a same-bar fill (lag 0) trades at the very first close
    equity = [after_fee(1.0, 0.0, held, fee)]
    for k in range(1, len(close)):
        moved = equity[-1] * (1 + held * (close[k] / close[k - 1] - 1))
        equity.append(after_fee(moved, held, executed[k], fee))
        held = executed[k]
    return np.array(equity)


def test_hand_worked_example():
    close = pd.Series([100.0, 110.0, 99.0, 99.0, 108.9, 108.9], index=hours(6))
    signal = pd.Series([1, 1, 0, -1, 0, 0], index=close.index)
    result = run_backtest(close, signal, fee_bp=10, initial_capital=1000)
    # lag 1: the long decided at bar 0 fills at bar 1's close and earns bar 2 (-10 %);
    # the flat decided at bar 2 fills at bar 3; the short decided at bar 3 fills at bar 4
    np.testing.assert_array_equal(result.positions.to_numpy(), [0, 1, 1, 0, -1, 0])
    # buying all-in from cash keeps 1 / (1 + fee); selling out keeps 1 - fee
    expected = np.array([0.0, 1 / 1.001 - 1, -0.1, -0.001, 1 / 1.001 - 1, -0.001])
    np.testing.assert_allclose(result.returns.to_numpy(), expected, atol=1e-15)
    np.testing.assert_allclose(result.equity.iloc[-1], 1000 * np.prod(1 + expected))
    trades = result.trades
    assert list(trades["side"]) == ["long", "short"]
    assert list(trades["entry_time"]) == [close.index[1], close.index[4]]
    assert list(trades["exit_time"]) == [close.index[3], close.index[5]]
    assert trades["bars"].tolist() == [2, 1] and trades["closed"].all()
    assert trades["pnl"].sum() == pytest.approx(result.equity.iloc[-1] - 1000, abs=1e-9)


def test_same_bar_fill_only_when_configured():
    close = pd.Series([100.0, 110.0, 121.0], index=hours(3))
    signal = pd.Series([1, 1, 1], index=close.index)
    next_bar = run_backtest(close, signal, fee_bp=0)
    same_bar = run_backtest(close, signal, fee_bp=0, execution_lag=0)
    assert next_bar.returns.tolist() == pytest.approx([0.0, 0.0, 0.1])
    assert same_bar.returns.tolist() == pytest.approx([0.0, 0.1, 0.1])


def test_buy_and_hold_equals_the_price_path(btc):
    close = btc["close"]
    result = run_backtest(close, pd.Series(1.0, index=close.index), fee_bp=0, execution_lag=0)
    np.testing.assert_allclose(
        result.equity.to_numpy(), 10_000 * close.to_numpy() / close.iloc[0], rtol=1e-10
    )
    np.testing.assert_allclose(result.returns.to_numpy(), result.benchmark_returns.to_numpy())


@pytest.mark.parametrize("lag", [0, 1, 3])
def test_matches_an_event_loop_on_real_data(btc, lag):
    close = btc["close"].iloc[:3000]
    rng = np.random.default_rng(lag)
    target = rng.choice([-1.0, 0.0, 0.5, 1.0], size=len(close))
    result = run_backtest(
        close, pd.Series(target, index=close.index), fee_bp=7, execution_lag=lag,
        initial_capital=1.0, sizing="fixed", fraction=1.0, kind="signal",
    )  # fmt: skip
    # fixed sizing of a signal keeps only the sign: mirror that in the reference
    reference = loop_backtest(close.to_numpy(), np.sign(target), 7e-4, lag)
    np.testing.assert_allclose(result.equity.to_numpy(), reference, rtol=1e-10)


def test_fractional_and_short_positions_match_the_event_loop(btc):
    close = btc["close"].iloc[3000:6000]
    proba = pd.Series(np.random.default_rng(11).uniform(0, 1, len(close)), index=close.index)
    proba[proba.between(0.45, 0.55)] = 0.5  # some flat stretches
    result = run_backtest(close, proba, kind="proba", sizing="probability", fee_bp=12,
                          slippage_bp=3, initial_capital=1.0)  # fmt: skip
    target = target_positions(proba, kind="proba", sizing="probability").to_numpy()
    assert 0 < np.abs(target[target != 0]).min() < 0.2  # really fractional sizes
    reference = loop_backtest(close.to_numpy(), target, 15e-4, 1)
    np.testing.assert_allclose(result.equity.to_numpy(), reference, rtol=1e-10)
    assert result.trades["pnl"].sum() == pytest.approx(result.equity.iloc[-1] - 1.0, abs=1e-12)


def test_no_look_ahead(btc):
    close = btc["close"].iloc[:2000]
    signal = np.sign(close.diff(5)).fillna(0)
    full = run_backtest(close, signal, fee_bp=10)
    changed = signal.copy()
    changed.iloc[1500:] = -changed.iloc[1500:]
    altered = run_backtest(close, changed, fee_bp=10)
    # a signal changed at bar 1500 fills at bar 1501's close: nothing before can change,
    # bar 1501 only by the fill's cost, its price move only from bar 1502 on
    pd.testing.assert_series_equal(full.returns.iloc[:1501], altered.returns.iloc[:1501])
    pd.testing.assert_series_equal(
        full.gross_returns.iloc[:1502], altered.gross_returns.iloc[:1502]
    )
    assert not full.returns.iloc[1502:].equals(altered.returns.iloc[1502:])


def test_trade_pnl_adds_up_to_the_equity_change(btc):
    close = btc["close"]
    signal = np.sign(close.rolling(12).mean() - close.rolling(48).mean()).fillna(0)
    result = run_backtest(close, signal, fee_bp=10, slippage_bp=5)
    trades = result.trades
    assert len(trades) > 50
    assert trades["pnl"].sum() == pytest.approx(result.equity.iloc[-1] - 10_000, rel=1e-9)
    equity_before = result.equity.shift(1).fillna(10_000)
    at_trade = equity_before * (1 + result.gross_returns - result.funding)
    assert trades["fees"].sum() == pytest.approx((result.costs * at_trade).sum(), rel=1e-9)
    assert (trades["exit_time"] >= trades["entry_time"]).all()
    assert set(trades["side"]) == {"long", "short"}
    longs = trades[trades["side"] == "long"]
    assert (longs["entry_price"] > close.loc[longs["entry_time"]].to_numpy()).all()  # slippage


def test_slippage_from_the_bar_range(btc):
    close = btc["close"].iloc[:500]
    signal = pd.Series(np.where(np.arange(500) % 20 < 10, 1.0, -1.0), index=close.index)
    plain = run_backtest(close, signal, fee_bp=0)
    ranged = run_backtest(
        close, signal, fee_bp=0, slippage_range_fraction=0.5,
        high=btc["high"], low=btc["low"],
    )  # fmt: skip
    bar_range = ((btc["high"] - btc["low"]) / btc["close"]).reindex(close.index)
    rate = 0.5 * bar_range
    held, wanted = ranged.positions.shift(1).fillna(0.0), ranged.positions
    kept = np.where(wanted >= held, (1 + rate * held) / (1 + rate * wanted),
                    (1 - rate * held) / (1 - rate * wanted))  # fmt: skip
    expected = (1 + plain.returns) * kept - 1
    np.testing.assert_allclose(ranged.returns.to_numpy(), expected.to_numpy(), atol=1e-15)
    assert (ranged.returns <= plain.returns + 1e-15).all()
    with pytest.raises(DataError, match="high and low"):
        run_backtest(close, signal, slippage_range_fraction=0.5)


def test_funding_for_perpetuals(perp):
    close = perp["close"]
    funding_times = pd.date_range(close.index[0].ceil("8h"), close.index[-1], freq="8h")
    funding = pd.Series(0.0001, index=funding_times)
    long = run_backtest(close, pd.Series(1.0, index=close.index), fee_bp=0, funding=funding)
    short = run_backtest(close, pd.Series(-1.0, index=close.index), fee_bp=0, funding=funding)
    no_funding = run_backtest(close, pd.Series(1.0, index=close.index), fee_bp=0)
    paid = no_funding.returns - long.returns
    # longs pay 1 bp at every funding time after the position is on; shorts receive it
    assert paid.sum() == pytest.approx(0.0001 * (funding.index > close.index[1]).sum())
    assert (long.funding >= 0).all() and (short.funding <= 0).all()
    assert long.trades["funding"].sum() > 0 > short.trades["funding"].sum()


def test_sizing_from_probabilities():
    proba = pd.Series([0.5, 0.7, 0.3, 0.52, 0.9, np.nan], index=hours(6))
    assert target_positions(proba).tolist() == [0, 1, -1, 1, 1, 0]
    assert target_positions(proba, threshold=0.05).tolist() == [0, 1, -1, 0, 1, 0]
    assert target_positions(proba, sizing="probability").tolist() == pytest.approx(
        [0, 0.4, -0.4, 0.04, 0.8, 0]
    )
    kelly = target_positions(proba, sizing="kelly", kelly_payoff=1.0, kelly_cap=0.5)
    assert kelly.tolist() == pytest.approx([0, 0.4, -0.4, 0.04, 0.5, 0])
    assert target_positions(proba, allow_short=False).tolist() == [0, 1, 0, 1, 1, 0]
    levered = target_positions(pd.Series([1.0, -1.0]), sizing="fixed", fraction=3, max_leverage=2)
    assert levered.tolist() == [2, -2]
    with pytest.raises(DataError, match="needs probabilities"):
        target_positions(pd.Series([1, -1, 0]), sizing="kelly")
    with pytest.raises(DataError, match=r"\[0, 1\]"):
        target_positions(pd.Series([0.5, 1.5]), kind="proba")


def test_many_symbols_equal_and_given_weights(btc, eth):
    close = pd.DataFrame({"BTC": btc["close"], "ETH": eth["close"]}).dropna()
    signal = np.sign(close.diff(24)).fillna(0)
    portfolio = run_backtest(close, signal, fee_bp=10)
    singles = {s: run_backtest(close[s], signal[s], fee_bp=10) for s in close}
    expected = 0.5 * singles["BTC"].returns + 0.5 * singles["ETH"].returns
    np.testing.assert_allclose(portfolio.returns.to_numpy(), expected.to_numpy(), atol=1e-15)
    assert set(portfolio.trades["symbol"]) == {"BTC", "ETH"}
    assert list(portfolio.positions.columns) == ["BTC", "ETH"]
    weighted = run_backtest(close, signal, fee_bp=10, weights={"BTC": 3, "ETH": 1})
    expected = 0.75 * singles["BTC"].returns + 0.25 * singles["ETH"].returns
    np.testing.assert_allclose(weighted.returns.to_numpy(), expected.to_numpy(), atol=1e-15)
    with pytest.raises(DataError, match="unknown symbol"):
        run_backtest(close, signal, weights={"SOL": 1})


def test_bad_input_is_named(btc):
    close = btc["close"].iloc[:100]
    signal = pd.Series(1.0, index=close.index)
    broken = close.copy()
    broken.iloc[10] = np.nan
    with pytest.raises(DataError, match="row 10"):
        run_backtest(broken, signal)
    negative = close.copy()
    negative.iloc[3] = -1
    with pytest.raises(DataError, match="positive"):
        run_backtest(negative, signal)
    with pytest.raises(DataError, match="duplicate timestamp"):
        run_backtest(pd.concat([close, close.iloc[:1]]).sort_index(), signal)
    with pytest.raises(ValueError, match="fee_bp"):
        run_backtest(close, signal, fee_bp=-1)
    with pytest.raises(ValueError, match="execution_lag"):
        run_backtest(close, signal, execution_lag=-1)
    with pytest.raises(DataError, match="length 3"):
        run_backtest(close, [1, 0, 1])
    with pytest.raises(DataError, match="at least 2 bars"):
        run_backtest(close.iloc[:1], signal.iloc[:1])


def test_summary_of_a_backtest(btc):
    close = btc["close"]
    signal = np.sign(close.rolling(24).mean() - close.rolling(96).mean()).fillna(0)
    summary = run_backtest(close, signal).summary()
    assert summary["periods_per_year"] == 8760
    assert summary["trades"] > 0 and 0 < summary["trade_exposure"] <= 1
    assert np.isfinite(summary["beta"])
