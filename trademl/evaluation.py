"""Every reported figure of a predictions frame comes from one function: ``score_predictions``.

The holdout (``oos_*`` metrics of a run), monitoring (live windows and ``trademl monitor
replay``) and, fold by fold, the tuning objective score predictions here: model scores
from the metric registry (``trademl.validation.metrics``) and strategy figures from the
backtest engine's cheap path (``trademl.backtest.run_strategy``) with the spec's
execution lag, fees, slippage and sizing. ``docs/metrics.md`` explains every figure.

The predictions frame is the pipeline's ``predictions/oos.parquet`` contract: index
``timestamp`` (UTC; repeated across symbols, rows sorted by timestamp then symbol),
columns ``symbol``, ``close``, ``y_true``, ``y_pred``, ``proba`` (P(up) for classifiers,
NaN for regressors), ``signal`` (-1/0/+1 target position) and ``forward_return``
(close[t+h] / close[t] - 1 over the label horizon h).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = [
    "PREDICTION_COLUMNS",
    "Scores",
    "model_metrics",
    "score_predictions",
    "strategy_metrics",
]

logger = logging.getLogger(__name__)

PREDICTION_COLUMNS = ("symbol", "close", "y_true", "y_pred", "proba", "signal", "forward_return")
_REQUIRED = ("symbol", "close", "y_true", "y_pred", "signal")
TASKS = ("classification", "regression")


@dataclass(frozen=True)
class Scores:
    """``metrics``: registry name -> value (undefined ones left out); ``returns``: the
    strategy's per-bar net returns (for the probabilistic / deflated Sharpe)."""

    metrics: dict[str, float]
    returns: pd.Series


def _attempt(out: dict, name: str, compute: Callable[[], float], log) -> None:
    """Store ``compute()`` under ``name`` unless the metric is undefined on these rows."""
    try:
        value = float(compute())
    except ValueError as exc:
        log("%s left out: undefined on these rows (%s)", name, exc)
        return
    if np.isfinite(value):
        out[name] = value
    else:
        log("%s left out: undefined on these rows (%s)", name, value)


def model_metrics(
    task: str,
    *,
    y_true: np.ndarray,
    y_pred: np.ndarray,
    proba: np.ndarray | None,
    signal: np.ndarray,
    forward_return: np.ndarray | None,
    log: Callable[..., None] = logger.warning,
) -> dict[str, float]:
    """The model's scores: its task's metrics, then ``ic`` and ``hit_rate``.

    Classification: accuracy and balanced accuracy over the classes as given; precision,
    recall, F1, ROC AUC and log loss of the event "up" (y > 0), the last two from P(up).
    Regression: RMSE, MAE, R². ``ic``: Spearman correlation of the model score (P(up), or
    the predicted value of a regressor) and ``forward_return``; ``hit_rate``: share of
    rows with a non-zero ``signal`` whose side matches the forward return's sign.
    """
    from trademl.validation import metrics as m

    if task not in TASKS:
        raise ValueError(f"task must be 'classification' or 'regression', got {task=}")
    out: dict[str, float] = {}
    y_true = np.asarray(y_true, dtype="float64")
    y_pred = np.asarray(y_pred, dtype="float64")
    has_proba = proba is not None and bool(np.isfinite(proba).any())
    if task == "classification":
        _attempt(out, "accuracy", lambda: m.accuracy(y_true, y_pred), log)
        _attempt(out, "balanced_accuracy", lambda: m.balanced_accuracy(y_true, y_pred), log)
        up_true = (y_true > 0).astype("int64")
        up_pred = (y_pred > 0).astype("int64")
        # the registry's precision, recall and f1, from one sklearn call
        prf = m.precision_recall_f1(up_true, up_pred)
        out.update(precision=prf[0], recall=prf[1], f1=prf[2])
        if has_proba:
            _attempt(out, "roc_auc", lambda: m.roc_auc(up_true, proba), log)
            _attempt(out, "log_loss", lambda: m.log_loss(up_true, proba), log)
        else:
            log("roc_auc and log_loss left out: no P(up) given")
        score = proba if has_proba else y_pred
    else:
        _attempt(out, "rmse", lambda: m.rmse(y_true, y_pred), log)
        _attempt(out, "mae", lambda: m.mae(y_true, y_pred), log)
        _attempt(out, "r2", lambda: m.r2(y_true, y_pred), log)
        score = y_pred
    if forward_return is None:
        log("ic and hit_rate left out: no forward_return given")
        return out
    forward = np.asarray(forward_return, dtype="float64")
    known = np.isfinite(forward) & np.isfinite(score)
    _attempt(out, "ic", lambda: m.information_coefficient(score[known], forward[known]), log)
    known = np.isfinite(forward)
    signal = np.asarray(signal, dtype="float64")
    _attempt(out, "hit_rate", lambda: m.hit_rate(forward[known], signal[known]), log)
    return out


def strategy_metrics(
    run,
    periods_per_year: float,
    *,
    buy_and_hold=None,
    log: Callable[..., None] = logger.warning,
) -> dict[str, float]:
    """Strategy figures of one engine run (a ``StrategyRun``), by their registry functions.

    ``buy_and_hold``: the run of the same rows held long (adds ``buy_hold_sharpe`` and
    ``excess_sharpe``).
    """
    from trademl.validation.metrics import METRICS

    returns = run.returns.to_numpy(dtype="float64")
    ppy = float(periods_per_year)
    out: dict[str, float] = {}
    for name in ("sharpe", "sortino", "calmar", "annual_return", "volatility"):
        _attempt(out, name, lambda f=METRICS[name].function: f(returns, ppy), log)
    for name in ("max_drawdown", "total_return"):
        _attempt(out, name, lambda f=METRICS[name].function: f(returns), log)
    for name in ("turnover", "time_in_market", "n_trades"):
        _attempt(out, name, lambda f=METRICS[name].function: f(run), log)
    if buy_and_hold is not None:
        held = buy_and_hold.returns.to_numpy(dtype="float64")
        _attempt(
            out, "buy_hold_sharpe", lambda: METRICS["buy_hold_sharpe"].function(held, ppy), log
        )
        _attempt(
            out,
            "excess_sharpe",
            lambda: METRICS["excess_sharpe"].function(returns, held, ppy),
            log,
        )
    return out


def _frame(predictions: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(predictions, pd.DataFrame):
        raise DataError(f"predictions: expected a DataFrame, got {type(predictions).__name__}")
    frame = predictions
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    missing = [c for c in _REQUIRED if c not in frame.columns]
    if missing:
        raise DataError(
            f"predictions: missing column(s) {missing}; the contract is "
            f"{list(PREDICTION_COLUMNS)} (have {list(frame.columns)})"
        )
    if len(frame) == 0:
        raise DataError("predictions: no rows to score")
    if not isinstance(frame.index, pd.DatetimeIndex):
        try:
            index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True), name="timestamp")
        except (TypeError, ValueError) as exc:
            raise DataError(
                f"predictions: the index cannot be read as timestamps ({exc})"
            ) from None
        frame = frame.set_axis(index, axis=0)
    if not frame.index.is_monotonic_increasing:
        frame = frame.sort_index(kind="stable")
    for column in ("close", "y_true", "y_pred", "signal"):
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype="float64")
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise DataError(
                f"predictions: column {column!r} has {bad.size} missing or non-numeric "
                f"value(s), first at {frame.index[bad[0]]}"
            )
    return frame


def _column(frame: pd.DataFrame, name: str) -> np.ndarray | None:
    if name not in frame.columns:
        return None
    return pd.to_numeric(frame[name], errors="coerce").to_numpy(dtype="float64")


def score_predictions(
    predictions: pd.DataFrame, *, task: str, backtest, periods_per_year: float
) -> Scores:
    """Every figure of a predictions frame: model scores, then the engine's strategy figures.

    ``task``: ``"classification"`` or ``"regression"``. ``backtest``: the spec's
    ``BacktestSpec`` (lag, fees, slippage, sizing, shorting, leverage, weights).
    ``periods_per_year``: from the timeframe
    (``trademl.analytics.periods.periods_per_year_for``). Metrics undefined on these
    rows (one class only, a flat model's IC) are left out with a logged warning.
    """
    from trademl.backtest._strategy import buy_and_hold_spec, run_strategy

    ppy = float(periods_per_year)
    if not np.isfinite(ppy) or ppy <= 0:
        raise ValueError(f"periods_per_year must be a positive number, got {periods_per_year=}")
    frame = _frame(predictions)
    proba = _column(frame, "proba")
    signal = _column(frame, "signal")
    metrics = model_metrics(
        task,
        y_true=_column(frame, "y_true"),
        y_pred=_column(frame, "y_pred"),
        proba=proba,
        signal=signal,
        forward_return=_column(frame, "forward_return"),
    )
    close = pd.Series(_column(frame, "close"), index=frame.index, copy=False)
    symbols = frame["symbol"].astype(str).to_numpy()
    run = run_strategy(close, signal, proba=proba, symbols=symbols, backtest=backtest)
    held = run_strategy(
        close, np.ones(len(frame)), symbols=symbols, backtest=buy_and_hold_spec(backtest)
    )
    metrics.update(strategy_metrics(run, ppy, buy_and_hold=held))
    return Scores(metrics=metrics, returns=run.returns)
