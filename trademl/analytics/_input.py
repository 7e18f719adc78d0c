"""Where returns arrive: one place that turns user input into a clean float Series.

Every metric goes through :func:`as_returns`, so the rules for bad input are the same
everywhere: NaNs are dropped (like empyrical's nan-aware functions), infinities and
non-numeric values are errors naming the position, and a series that looks like prices
(every value above 1) triggers a :class:`PricesAsReturnsWarning`.
"""

from __future__ import annotations

import logging
import warnings

import numpy as np
import pandas as pd

from trademl.errors import DataError

logger = logging.getLogger(__name__)


class PricesAsReturnsWarning(UserWarning):
    """The values look like prices, not returns (every value is above 1)."""


def as_returns(returns, name: str = "returns") -> pd.Series:
    """Return ``returns`` as a float64 Series without NaNs; raise ``DataError`` if unusable."""
    if isinstance(returns, pd.DataFrame):
        if returns.shape[1] != 1:
            raise DataError(
                f"{name}: expected one column of returns, got {returns.shape[1]} columns "
                f"({', '.join(map(str, returns.columns[:5]))})"
            )
        returns = returns.iloc[:, 0]
    if not isinstance(returns, pd.Series):
        returns = pd.Series(np.asarray(returns))
    if returns.dtype == object or isinstance(returns.dtype, pd.StringDtype):
        converted = pd.to_numeric(returns, errors="coerce")
        bad = converted.isna() & returns.notna()
        if bad.any():
            where = returns.index[bad.to_numpy()][0]
            raise DataError(f"{name}: non-numeric value {returns[bad].iloc[0]!r} at {where}")
        returns = converted
    if not (
        pd.api.types.is_float_dtype(returns.dtype)
        or pd.api.types.is_integer_dtype(returns.dtype)
        or pd.api.types.is_bool_dtype(returns.dtype)
    ):
        raise DataError(f"{name}: expected numeric returns, got dtype {returns.dtype}")
    values = returns if returns.dtype == np.float64 else returns.astype("float64")
    array = values.to_numpy()
    below = np.flatnonzero(array < -1.0)
    if len(below):
        position = int(below[0])
        raise DataError(
            f"{name}: {array[position]:g} at row {position} ({values.index[position]}) is a loss "
            "of more than 100%; simple returns are >= -1 (pass simple, not log or % returns)"
        )
    if len(array) and np.isfinite(array.sum()):
        # fast path (one pass): a finite sum means no NaN and no infinity
        if array.min() > 1.0:
            _warn_prices(name, array[0])
        return values
    infinite = np.isinf(array)
    if infinite.any():
        position = int(np.flatnonzero(infinite)[0])
        raise DataError(f"{name}: infinite value at row {position} ({values.index[position]})")
    n_nan = int(values.isna().sum())
    if n_nan:
        logger.info("%s: dropped %d NaN value(s)", name, n_nan)
        values = values.dropna()
    if len(values) and values.to_numpy().min() > 1.0:
        _warn_prices(name, values.iloc[0])
    return values


def _warn_prices(name: str, first: float) -> None:
    warnings.warn(
        f"{name}: every value is above 1 (first {first:g}); these look like prices, not "
        "returns. Pass returns, e.g. close.pct_change().",
        PricesAsReturnsWarning,
        stacklevel=4,
    )


def aligned(returns: pd.Series, other, name: str = "benchmark") -> tuple[np.ndarray, np.ndarray]:
    """Both series on their common index (by label if both are Series), NaN rows dropped."""
    other_series = other if isinstance(other, pd.Series) else pd.Series(np.asarray(other))
    if isinstance(other, pd.Series) and not other.index.equals(returns.index):
        other_series = other.reindex(returns.index)
    elif not isinstance(other, pd.Series):
        if len(other_series) != len(returns):
            raise DataError(
                f"{name}: length {len(other_series)} differs from returns length {len(returns)}"
            )
        other_series.index = returns.index
    frame = pd.DataFrame({"r": returns, "b": other_series.astype("float64")}).dropna()
    return frame["r"].to_numpy(), frame["b"].to_numpy()
