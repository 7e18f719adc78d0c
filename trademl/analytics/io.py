"""Reading returns, trades and regime files for the command line and reports."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from trademl.data.io import read_table
from trademl.errors import DataError

__all__ = ["read_regimes", "read_returns", "read_trades"]

TIME_COLUMNS = ("timestamp", "date", "datetime", "time")


def _time_index(frame: pd.DataFrame, where: str) -> pd.DataFrame:
    column = next((c for c in frame.columns if str(c).lower() in TIME_COLUMNS), None)
    if column is None:
        return frame
    try:
        stamps = pd.to_datetime(frame[column], utc=True)
    except (ValueError, TypeError):
        raise DataError(f"{where}: column {column!r} does not hold dates") from None
    return frame.drop(columns=column).set_axis(pd.DatetimeIndex(stamps, name="timestamp"))


def read_returns(path: str | Path, column: str | None = None) -> pd.Series:
    """One return series from a CSV/Parquet file: a time column (timestamp, date, ...) if
    present becomes the index; the values come from ``column``, else a column named
    ``returns``/``return``, else the only numeric column."""
    where = str(path)
    frame = _time_index(read_table(path), where)
    if column is not None:
        if column not in frame.columns:
            raise DataError(f"{where}: no column {column!r}; have {list(frame.columns)}")
        chosen = column
    else:
        named = [c for c in frame.columns if str(c).lower() in ("returns", "return")]
        numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
        if named:
            chosen = named[0]
        elif len(numeric) == 1:
            chosen = numeric[0]
        else:
            raise DataError(
                f"{where}: cannot tell which column holds the returns ({list(frame.columns)}); "
                "name it 'returns' or pass --column"
            )
    series = frame[chosen]
    if isinstance(series.index, pd.DatetimeIndex) and not series.index.is_monotonic_increasing:
        series = series.sort_index(kind="stable")
    return series.rename("returns")


def read_trades(path: str | Path) -> pd.DataFrame:
    """A trade list (as written by ``trademl backtest --out``): needs a ``return`` column."""
    frame = read_table(path)
    if "return" not in frame.columns:
        raise DataError(
            f"{path}: a trades file needs a 'return' column; have {list(frame.columns)}"
        )
    for column in ("entry_time", "exit_time"):
        if column in frame.columns:
            frame[column] = pd.to_datetime(frame[column], utc=True, errors="coerce")
    if "duration" in frame.columns and not pd.api.types.is_timedelta64_dtype(frame["duration"]):
        frame["duration"] = pd.to_timedelta(frame["duration"], errors="coerce")
    return frame


def read_regimes(path: str | Path) -> pd.Series:
    """Regime labels by timestamp: a time column and a ``regime`` column (or the only other)."""
    where = str(path)
    frame = _time_index(read_table(path), where)
    if not isinstance(frame.index, pd.DatetimeIndex):
        raise DataError(f"{where}: a regimes file needs a timestamp column")
    column = "regime" if "regime" in frame.columns else None
    if column is None:
        if frame.shape[1] != 1:
            raise DataError(f"{where}: name the regime column 'regime'; have {list(frame.columns)}")
        column = frame.columns[0]
    return frame[column].rename("regime")
