"""The input every feature function receives, and its checks.

Convention (the same for candles and for order-book/trade aggregates): a row stamped
``t`` is the bar that opened at ``t`` and covers ``[t, t + bar)``; its values are known
at the bar's close, ``t + bar``. A feature at row ``t`` uses rows ``<= t`` only, so it
is available at ``t + bar`` like the close itself.
"""

from __future__ import annotations

import logging
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError

__all__ = ["Bars", "bars_from_frame", "infer_bar_delta", "resample_bars"]

logger = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close")


class Bars:
    """Float64 column arrays of one OHLCV frame plus the extra data passed by the caller."""

    def __init__(
        self,
        index: pd.DatetimeIndex,
        columns: dict[str, np.ndarray],
        extra: dict[str, Any] | None = None,
        bar_delta: pd.Timedelta | None = None,
    ):
        self.index = index
        self.columns = columns
        self.extra = dict(extra or {})
        self.bar_delta = bar_delta
        # intermediates several features share (log returns, typical price...)
        self._memo: dict[Any, Any] = {}

    def __len__(self) -> int:
        return len(self.index)

    def __getattr__(self, name: str) -> Any:
        columns = self.__dict__.get("columns", {})
        if name in columns:
            return columns[name]
        extra = self.__dict__.get("extra", {})
        if name in extra:
            return extra[name]
        if name in ("trades", "book", "l2", "reference", "volume"):
            return None
        raise AttributeError(name)

    def has(self, name: str) -> bool:
        return getattr(self, name) is not None

    def memo(self, key: Any, make: Any) -> Any:
        if key not in self._memo:
            self._memo[key] = make()
        return self._memo[key]

    def logret(self) -> np.ndarray:
        """log(close_t / close_{t-1}); NaN at the first bar."""

        def make() -> np.ndarray:
            out = np.empty(len(self))
            out[0] = np.nan
            np.subtract(np.log(self.close[1:]), np.log(self.close[:-1]), out=out[1:])
            return out

        return self.memo("logret", make)


def infer_bar_delta(index: pd.DatetimeIndex) -> pd.Timedelta:
    """The bar length: the most common step (gaps are real outages and must not skew it)."""
    if len(index) < 2:
        raise DataError("cannot infer the bar length from fewer than 2 timestamps")
    return _most_common_step(np.diff(index.as_unit("ns").asi8))


def _most_common_step(steps: np.ndarray) -> pd.Timedelta:
    # a gap-free series (the usual case) needs no sort of every step
    if (steps == steps[0]).all():
        return pd.Timedelta(int(steps[0]), unit="ns")
    values, counts = np.unique(steps, return_counts=True)
    return pd.Timedelta(int(values[np.argmax(counts)]), unit="ns")


def _to_utc_index(index: pd.Index, what: str) -> pd.DatetimeIndex:
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(
            f"{what}: expected a DatetimeIndex (bar open times), got {type(index).__name__}; "
            "read the file with trademl.load_ohlcv or set the timestamp column as index"
        )
    if index.tz is None:
        index = index.tz_localize("UTC")
    else:
        index = index.tz_convert("UTC")
    return index.as_unit("ns")


def bars_from_frame(
    ohlcv: pd.DataFrame, *, on_nan: str = "raise", extra: dict[str, Any] | None = None
) -> Bars:
    """Check an OHLCV frame and turn it into :class:`Bars`; errors name column and rows."""
    if not isinstance(ohlcv, pd.DataFrame):
        raise DataError(f"ohlcv: expected a pandas DataFrame, got {type(ohlcv).__name__}")
    # lower-case name -> the caller's column, without renaming (copying) the frame
    by_name = {str(c).lower(): c for c in ohlcv.columns.tolist()}
    index = _to_utc_index(ohlcv.index, "ohlcv")
    if len(index) == 0:
        raise DataError("ohlcv: the frame has no rows")
    # one pass over the steps answers order, duplicates and the bar length
    steps = np.diff(index.asi8)
    if (steps < 0).any():
        bad = int(np.argmax(steps < 0)) + 1
        raise DataError(f"ohlcv: timestamps are not sorted ascending (row {bad}: {index[bad]})")
    if (steps == 0).any():
        dup = index[int(np.argmax(steps == 0)) + 1]
        raise DataError(f"ohlcv: duplicate timestamp {dup}")
    missing = [c for c in PRICE_COLUMNS if c not in by_name]
    if missing:
        raise DataError(
            f"ohlcv: missing column(s) {', '.join(missing)} (have: {', '.join(by_name)})"
        )
    columns: dict[str, np.ndarray] = {}
    names = [*PRICE_COLUMNS, *(["volume"] if "volume" in by_name else [])]
    for name in names:
        try:
            # no copy here: generate_features copies any output that aliases these arrays
            column = ohlcv[by_name[name]]
            values = np.ascontiguousarray(column.to_numpy(dtype=np.float64, na_value=np.nan))
        except (TypeError, ValueError) as exc:
            raise DataError(f"ohlcv: column {name!r} is not numeric ({exc})") from None
        finite = np.isfinite(values)
        if not finite.all():
            rows = np.flatnonzero(~finite)
            message = (
                f"ohlcv: column {name!r} has {len(rows)} NaN/inf value(s), first at row "
                f"{rows[0]} ({index[rows[0]]}); repair them first (trademl.repair_ohlcv) "
                "or pass on_nan='warn' to let them propagate"
            )
            if on_nan == "raise":
                raise DataError(message)
            logger.warning(message)
        if name == "volume" and not finite.any():
            continue  # an all-NaN volume column is the same as none
        columns[name] = values
    return Bars(
        index, columns, extra=extra, bar_delta=_most_common_step(steps) if len(steps) else None
    )


def resample_bars(bars: Bars, rule: str) -> tuple[Bars, np.ndarray]:
    """OHLCV on a higher timeframe, on the exchange grid of ``trademl.data.resample``
    (epoch-anchored, weeks from Monday), and per higher bar the time it closes.

    Same bars as ``resample_ohlcv(..., incomplete="keep")``; done here with numpy
    ``reduceat`` because it runs inside every feature call and is several times faster
    than a pandas resample. A trailing bar still forming is returned but never joined
    back: no base row is known late enough to see it.
    """
    from trademl.data.timeframe import grid_origin, timeframe_to_timedelta

    step = timeframe_to_timedelta(rule)
    if bars.bar_delta is not None and step <= bars.bar_delta:
        raise DataError(
            f"timeframe {rule!r} must be longer than the input's bar length {bars.bar_delta}"
        )
    origin = grid_origin(rule).value
    stamps = bars.index.asi8
    bins = (stamps - origin) // step.value
    starts = np.flatnonzero(np.r_[True, bins[1:] != bins[:-1]])
    ends = np.r_[starts[1:], len(stamps)] - 1
    columns = {
        "open": bars.open[starts],
        "high": np.maximum.reduceat(bars.high, starts),
        "low": np.minimum.reduceat(bars.low, starts),
        "close": bars.close[ends],
    }
    if bars.has("volume"):
        columns["volume"] = np.add.reduceat(bars.volume, starts)
    opens = origin + bins[starts] * step.value
    extra = dict(bars.extra)
    if "reference" in extra:
        extra["reference"] = extra["reference"][ends]
    index = pd.DatetimeIndex(opens, tz="UTC")
    return Bars(index, columns, extra=extra, bar_delta=step), opens + step.value
