"""Turning a timestamp column (ISO strings, epoch numbers, datetimes) into UTC datetimes.

ISO 8601 strings of one fixed layout (the usual case: every row written by the same
exporter) are parsed straight from Arrow's string buffer with numpy digit arithmetic,
which is several times faster than ``pandas.to_datetime``; anything else falls back to
pandas' ISO 8601 parser. Either way the result is ``datetime64[ns, UTC]``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from trademl.errors import DataError

__all__ = ["to_utc_datetimes"]

# epoch numbers: the unit is detected from the magnitude of a typical value (a date
# between 1973 and 5138 has 10-11 digits in seconds, 13-14 in ms, 16-17 in us)
_EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0.0, "s"))
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}
# separators the fast path accepts at each position of "YYYY-MM-DDTHH:MM:SS"
_SEPARATORS = {4: b"-", 7: b"-", 10: b"T ", 13: b":", 16: b":"}
_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18)
_DATE_DIGITS = (0, 1, 2, 3, 5, 6, 8, 9)


def to_utc_datetimes(
    values: pd.Series, *, column: str = "timestamp", unit: str = "auto"
) -> pd.DatetimeIndex:
    """Parse ``values`` into a ``DatetimeIndex`` in UTC (ns); raise ``DataError`` naming rows."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return _as_utc_ns(pd.DatetimeIndex(values), column)
    if pd.api.types.is_datetime64_dtype(values.dtype):
        # naive datetimes in a file are taken to be UTC, the convention of every exchange
        return _as_utc_ns(pd.DatetimeIndex(values).tz_localize("UTC"), column)
    if pd.api.types.is_numeric_dtype(values.dtype) and not pd.api.types.is_bool_dtype(values.dtype):
        return _from_epoch(values, column, unit)
    if unit != "auto":
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers.notna().all():
            return _from_epoch(numbers, column, unit)
    if not (pd.api.types.is_string_dtype(values.dtype) or values.dtype == object):
        raise DataError(f"column {column!r} has dtype {values.dtype}, not timestamps")
    numbers = pd.to_numeric(values, errors="coerce") if values.dtype == object else None
    if numbers is not None and numbers.notna().all():
        return _from_epoch(numbers, column, unit)
    parsed = _parse_fixed_iso(values)
    if parsed is None:
        parsed = _parse_any_iso(values, column)
    return parsed


def _as_utc_ns(index: pd.DatetimeIndex, column: str) -> pd.DatetimeIndex:
    index = index.tz_convert("UTC")
    try:
        return index.as_unit("ns")
    except (OverflowError, pd.errors.OutOfBoundsDatetime):
        return _out_of_range(index, column)


def _out_of_range(index: pd.DatetimeIndex, column: str) -> pd.DatetimeIndex:
    low, high = pd.Timestamp.min.tz_localize("UTC"), pd.Timestamp.max.tz_localize("UTC")
    bad = np.flatnonzero((index < low) | (index > high))
    raise DataError(
        f"column {column!r}: timestamp(s) outside the supported range 1677..2262 at "
        f"row(s) {_rows(bad)} (first: {index[bad[0]]})"
    )


def _rows(positions: np.ndarray, limit: int = 5) -> str:
    shown = ", ".join(str(int(p)) for p in positions[:limit])
    more = f" and {len(positions) - limit} more" if len(positions) > limit else ""
    return shown + more


def _from_epoch(values: pd.Series, column: str, unit: str) -> pd.DatetimeIndex:
    numbers = values.to_numpy(dtype="float64", na_value=np.nan)
    missing = np.flatnonzero(~np.isfinite(numbers))
    if missing.size:
        raise DataError(f"column {column!r} is empty or not a number at row(s) {_rows(missing)}")
    if unit == "auto":
        typical = float(np.median(np.abs(numbers))) if numbers.size else 0.0
        unit = next(name for bound, name in _EPOCH_UNITS if typical >= bound)
    if unit not in _NS_PER_UNIT:
        raise DataError(f"timestamp unit must be one of auto, s, ms, us, ns; got {unit!r}")
    scale = _NS_PER_UNIT[unit]
    limit = np.iinfo(np.int64).max / scale
    bad = np.flatnonzero(np.abs(numbers) >= limit)
    if bad.size:
        raise DataError(
            f"column {column!r}: epoch value(s) too large for unit {unit!r} at row(s) {_rows(bad)}"
        )
    if pd.api.types.is_integer_dtype(values.dtype):
        nanos = values.to_numpy(dtype="int64") * scale
    else:
        nanos = np.round(numbers * scale).astype("int64")
    return pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC")


def _string_matrix(values: pd.Series) -> np.ndarray | None:
    """Rows of a string column as an (n, width) uint8 matrix, or None if widths differ."""
    try:
        arrow = pa.array(values) if values.dtype != object else pa.array(values, pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    chunks = arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]
    parts = []
    for chunk in chunks:
        if chunk.null_count or len(chunk) == 0:
            if len(chunk) == 0:
                continue
            return None
        if pa.types.is_string(chunk.type):
            chunk = chunk.cast(pa.large_string())
        if not pa.types.is_large_string(chunk.type):
            return None
        _, offsets_buffer, data_buffer = chunk.buffers()
        offsets = np.frombuffer(offsets_buffer, dtype=np.int64)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        width = int(offsets[1] - offsets[0])
        if width == 0 or not np.all(np.diff(offsets) == width):
            return None
        data = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]]
        parts.append(data.reshape(len(chunk), width))
    if not parts or len({part.shape[1] for part in parts}) != 1:
        return None
    return parts[0] if len(parts) == 1 else np.concatenate(parts)


def _number(digits: np.ndarray, positions: tuple[int, ...]) -> np.ndarray:
    total = np.zeros(digits.shape[0], dtype=np.int64)
    for position in positions:
        total = total * 10 + digits[:, position]
    return total


def _parse_fixed_iso(values: pd.Series) -> pd.DatetimeIndex | None:
    """Fast path for ``YYYY-MM-DD[THH:MM[:SS]]<suffix>`` with the same suffix on every row.

    Returns None (caller falls back to pandas) whenever the layout is anything else, so
    it never has to be right about unusual inputs, only about the common one.
    """
    matrix = _string_matrix(values)
    if matrix is None:
        return None
    width = matrix.shape[1]
    body = 19 if width >= 19 else 16 if width >= 16 else 10 if width >= 10 else 0
    if body == 0 or (body == 16 and width > 16 and matrix[0, 16] == ord(":")):
        return None
    for position, allowed in _SEPARATORS.items():
        if position < body and not np.isin(matrix[:, position], list(allowed)).all():
            return None
    digit_positions = [p for p in _DIGITS if p < body]
    digits = matrix[:, digit_positions].astype(np.int64) - ord("0")
    if ((digits < 0) | (digits > 9)).any():
        return None
    suffix = matrix[0, body:]
    if width > body and not (matrix[:, body:] == suffix).all():
        return None  # per-row fractions or offsets: let pandas judge them
    lookup = {p: i for i, p in enumerate(digit_positions)}
    year = _number(digits, tuple(lookup[p] for p in (0, 1, 2, 3)))
    month = _number(digits, (lookup[5], lookup[6]))
    day = _number(digits, (lookup[8], lookup[9]))
    hour = _number(digits, (lookup[11], lookup[12])) if body >= 16 else 0
    minute = _number(digits, (lookup[14], lookup[15])) if body >= 16 else 0
    second = _number(digits, (lookup[17], lookup[18])) if body >= 19 else 0
    if (
        ((month < 1) | (month > 12) | (day < 1) | (day > 31)).any()
        or np.any(hour > 23)
        or np.any(minute > 59)
        or np.any(second > 59)
    ):
        return None
    if ((year < 1678) | (year > 2261)).any():
        return None  # out of the ns range: the slow path reports the rows
    months = (year - 1970) * 12 + (month - 1)
    first_of_month = months.astype("datetime64[M]").astype("datetime64[D]")
    dates = first_of_month + (day - 1).astype("timedelta64[D]")
    if (dates.astype("datetime64[M]") != months.astype("datetime64[M]")).any():
        return None  # e.g. February 30th
    nanos = dates.astype("datetime64[ns]").view(np.int64) + (
        (hour * 3600 + minute * 60 + second) * 1_000_000_000
    )
    shift = _suffix_shift_ns(bytes(suffix).decode("ascii", errors="replace"))
    if shift is None:
        return None
    index = pd.DatetimeIndex((nanos - shift).view("datetime64[ns]"))
    return index.tz_localize("UTC")


def _suffix_shift_ns(suffix: str) -> int | None:
    """Nanoseconds to subtract for a constant suffix such as ``Z``, ``.000Z`` or ``+02:00``."""
    if suffix in ("", "Z", "+00:00", "+0000"):
        return 0
    try:
        reference = pd.Timestamp("1970-01-01T00:00:00" + suffix)
    except ValueError:
        return None
    if reference.tzinfo is not None:
        reference = reference.tz_convert("UTC").tz_localize(None)
    return -int(reference.value)


def _parse_any_iso(values: pd.Series, column: str) -> pd.DatetimeIndex:
    text = values.astype("str")
    blank = np.flatnonzero(text.str.strip().eq("").to_numpy() | values.isna().to_numpy())
    if blank.size:
        raise DataError(f"column {column!r} is empty at row(s) {_rows(blank)}")
    has_zone = text.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True).to_numpy()
    if has_zone.any() and not has_zone.all():
        naive, aware = np.flatnonzero(~has_zone), np.flatnonzero(has_zone)
        raise DataError(
            f"column {column!r} mixes timestamps with a time zone (row(s) {_rows(aware)}) and "
            f"without one (row(s) {_rows(naive)}); write every timestamp in UTC"
        )
    if has_zone.any():
        zones = text.str.extract(r"(Z|[+-]\d\d:?\d\d)$")[0].replace(
            {"Z": "+00:00", "+0000": "+00:00"}
        )
        distinct = zones.unique()
        if len(distinct) > 1:
            first = zones.to_numpy() != zones.iloc[0]
            raise DataError(
                f"column {column!r} mixes time zones ({', '.join(map(str, distinct[:4]))}): rows "
                f"{_rows(np.flatnonzero(first))} differ from row 0 ({zones.iloc[0]}); a candle "
                "file from one source has one zone, so this looks like two files pasted together"
            )
    try:
        parsed = pd.to_datetime(text, format="ISO8601", utc=True)
    except (ValueError, OverflowError) as exc:
        coerced = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
        bad = np.flatnonzero(coerced.isna().to_numpy())
        where = f" at row(s) {_rows(bad)} (first: {text.iloc[bad[0]]!r})" if bad.size else ""
        raise DataError(
            f"column {column!r} holds values that are not timestamps{where}: {exc}"
        ) from None
    return _as_utc_ns(pd.DatetimeIndex(parsed), column)
