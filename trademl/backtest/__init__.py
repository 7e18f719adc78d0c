"""Backtest: predictions -> positions -> returns net of fees, slippage and funding.

The one place where positions become returns. ``run_backtest(close, signal_or_proba,
...)`` is vectorised (numpy, no compile step) and acts on the NEXT bar by default;
``run_strategy`` / ``strategy_returns`` are its cheap path on long (timestamp, symbol)
rows, with the same numbers and no trade list, for tuning folds, the holdout and
monitoring. ``backtest_predictions`` runs the full engine on the out-of-sample
predictions a tracked pipeline run logs (``predictions/oos.parquet``), which
``load_predictions`` reads from a file or a run ID.
"""

from __future__ import annotations

from trademl.backtest._engine import run_backtest
from trademl.backtest._predictions import (
    backtest_predictions,
    backtest_spec_from_run,
    load_predictions,
    predictions_from_run,
)
from trademl.backtest._sizing import detect_kind, target_positions
from trademl.backtest._strategy import (
    StrategyRun,
    buy_and_hold_spec,
    run_strategy,
    sizing_input,
    strategy_returns,
)
from trademl.backtest.result import BacktestResult

__all__ = [
    "BacktestResult",
    "StrategyRun",
    "backtest_predictions",
    "backtest_spec_from_run",
    "buy_and_hold_spec",
    "detect_kind",
    "load_predictions",
    "predictions_from_run",
    "run_backtest",
    "run_strategy",
    "sizing_input",
    "strategy_returns",
    "target_positions",
]
