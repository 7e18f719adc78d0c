"""Backtest: predictions -> positions -> returns net of fees, slippage and funding.

``run_backtest(close, signal_or_proba, ...)`` is vectorised (numpy, no compile step) and
acts on the NEXT bar by default. ``backtest_predictions`` runs it on the out-of-sample
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
from trademl.backtest.result import BacktestResult

__all__ = [
    "BacktestResult",
    "backtest_predictions",
    "backtest_spec_from_run",
    "detect_kind",
    "load_predictions",
    "predictions_from_run",
    "run_backtest",
    "target_positions",
]
