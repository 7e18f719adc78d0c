"""Out-of-sample predictions from a tracked run (or a file) -> a backtest.

The pipeline logs ``predictions/oos.parquet``: index ``timestamp`` (UTC), columns
``symbol``, ``close``, ``y_true``, ``y_pred``, ``proba`` (P(up), NaN for regressors) and
``signal`` (-1/0/+1 target position).
"""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from trademl.errors import DataError

logger = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("symbol", "close", "signal")


def load_predictions(path: str | Path) -> pd.DataFrame:
    """Read a predictions file (Parquet or CSV) and check its shape."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: predictions file not found")
    if path.suffix.lower() == ".parquet":
        frame = pd.read_parquet(path)
    elif path.name.lower().endswith((".csv", ".csv.gz")):
        frame = pd.read_csv(path)
    else:
        raise DataError(f"{path}: expected a .parquet or .csv predictions file")
    return _checked(frame, str(path))


def _checked(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    missing = [c for c in REQUIRED_COLUMNS if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: predictions need columns {list(REQUIRED_COLUMNS)}; missing {missing} "
            f"(have {list(frame.columns)})"
        )
    try:
        index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True), name="timestamp")
    except (ValueError, TypeError) as exc:
        raise DataError(f"{where}: the timestamp index cannot be read as dates ({exc})") from None
    frame = frame.set_axis(index, axis=0)
    frame["symbol"] = frame["symbol"].astype(str)
    if len(frame) == 0:
        raise DataError(f"{where}: predictions are empty")
    return frame.sort_index(kind="stable")


def predictions_from_run(run_id: str) -> pd.DataFrame:
    """Download ``predictions/oos.parquet`` from a tracked MLflow run and load it."""
    from trademl.tracking.artifacts import read_predictions

    return _checked(read_predictions(run_id), f"run {run_id}")


def backtest_spec_from_run(run_id: str):
    """The ``backtest:`` settings the run was made with (from its logged spec), or None."""
    from trademl.tracking.artifacts import read_spec

    try:
        return read_spec(run_id).backtest
    except DataError:
        return None


def backtest_predictions(predictions: pd.DataFrame, spec=None, **overrides):
    """Backtest a predictions frame (one or many symbols) with a ``BacktestSpec``.

    Sizing ``probability`` and ``kelly`` use the ``proba`` column; the others use the
    pipeline's ``signal``. ``overrides`` replace fields of ``spec``.
    """
    from trademl.backtest._engine import run_backtest
    from trademl.config.backtest import BacktestSpec

    spec = BacktestSpec() if spec is None else spec
    settings = spec.model_dump() | overrides
    settings = BacktestSpec.model_validate(settings).model_dump()
    frame = _checked(predictions, "predictions")
    use_proba = settings["sizing"] in ("probability", "kelly")
    column = "proba" if use_proba else "signal"
    if use_proba and ("proba" not in frame.columns or frame["proba"].isna().all()):
        raise DataError(
            f"sizing={settings['sizing']!r} needs probabilities, but the predictions have no "
            "'proba' values (a regression model?); use sizing 'sign' or 'fixed'"
        )
    duplicated = frame.reset_index().duplicated(["timestamp", "symbol"])
    if duplicated.any():
        row = frame.iloc[int(duplicated.to_numpy().argmax())]
        raise DataError(f"predictions: duplicate row for symbol {row['symbol']} at {row.name}")
    close = frame.pivot_table(index=frame.index, columns="symbol", values="close", aggfunc="first")
    signal = frame.pivot_table(index=frame.index, columns="symbol", values=column, aggfunc="first")
    options = dict(
        kind="proba" if use_proba else "signal",
        sizing=settings["sizing"], fraction=settings["fraction"],
        kelly_payoff=settings["kelly_payoff"], kelly_cap=settings["kelly_cap"],
        threshold=settings["threshold"], allow_short=settings["allow_short"],
        max_leverage=settings["max_leverage"], fee_bp=settings["fee_bp"],
        slippage_bp=settings["slippage_bp"], execution_lag=settings["execution_lag"],
        initial_capital=settings["initial_capital"],
        benchmark=None if settings["benchmark"] == "none" else "buy_and_hold",
    )  # fmt: skip
    if close.shape[1] == 1:
        symbol = close.columns[0]
        return run_backtest(close[symbol].dropna(), signal[symbol], **options)
    return run_backtest(close, signal, weights=settings["weights"], **options)
