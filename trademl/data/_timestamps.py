"""Turning a timestamp column (ISO strings, epoch numbers, datetimes) into UTC datetimes.

ISO 8601 strings of one fixed layout (the usual case: every row written by the same
exporter) are checked for a single shared zone suffix straight in Arrow's string
buffer and cast by Arrow's vectorised ISO 8601 parser, about ten times faster than
``pandas.to_datetime``; anything else falls back to pandas' ISO 8601 parser, which
also names the offending rows. Either way the result is ``datetime64[ns, UTC]``.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from trademl.errors import DataError

__all__ = ["to_utc_datetimes"]

# epoch numbers: the unit is detected from the magnitude of a typical value (a date
# between 1973 and 5138 has 10-11 digits in seconds, 13-14 in ms, 16-17 in us)
_EPOCH_UNITS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"), (0.0, "s"))
_NS_PER_UNIT = {"s": 1_000_000_000, "ms": 1_000_000, "us": 1_000, "ns": 1}


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


def _unit_of(typical: float) -> str:
    return next(name for bound, name in _EPOCH_UNITS if typical >= bound)


def _from_epoch(values: pd.Series, column: str, unit: str) -> pd.DatetimeIndex:
    # plain numpy integers hold no NaN: no float copy, no finiteness pass
    integer = isinstance(values.dtype, np.dtype) and values.dtype.kind in "iu"
    numbers = values.to_numpy() if integer else values.to_numpy("float64", na_value=np.nan)
    if not integer:
        missing = np.flatnonzero(~np.isfinite(numbers))
        if missing.size:
            raise DataError(
                f"column {column!r} is empty or not a number at row(s) {_rows(missing)}"
            )
    low, high = (float(numbers.min()), float(numbers.max())) if numbers.size else (0.0, 0.0)
    smallest = low if low >= 0 else (-high if high <= 0 else 0.0)
    largest = max(abs(low), abs(high))
    if unit == "auto":
        # the median magnitude lies between the smallest and the largest: when both fall
        # in one unit's range (every well-formed file), so does the median, without a sort
        unit = _unit_of(largest)
        if _unit_of(smallest) != unit:
            unit = _unit_of(float(np.median(np.abs(numbers))))
    if unit not in _NS_PER_UNIT:
        raise DataError(f"timestamp unit must be one of auto, s, ms, us, ns; got {unit!r}")
    scale = _NS_PER_UNIT[unit]
    limit = np.iinfo(np.int64).max / scale
    if largest >= limit:
        bad = np.flatnonzero(np.abs(numbers.astype("float64")) >= limit)
        raise DataError(
            f"column {column!r}: epoch value(s) too large for unit {unit!r} at row(s) {_rows(bad)}"
        )
    if pd.api.types.is_integer_dtype(values.dtype):
        nanos = values.to_numpy(dtype="int64") * scale
    else:
        nanos = np.round(numbers * scale).astype("int64")
    return pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC")


def _arrow_strings(values: pd.Series) -> list[pa.Array]:
    """The column as Arrow string chunks; zero-copy for pandas' default (Arrow) strings."""
    arrow = pa.array(values) if values.dtype != object else pa.array(values, pa.large_string())
    return arrow.chunks if isinstance(arrow, pa.ChunkedArray) else [arrow]


def _shared_suffix(chunks: list[pa.Array], body: int = 19) -> bytes | None:
    """What follows ``YYYY-MM-DDTHH:MM:SS`` if every row has the same width and suffix.

    Read straight from Arrow's offsets and data buffers (no copy of the strings).
    """
    suffix: bytes | None = None
    for chunk in chunks:
        if len(chunk) == 0:
            continue
        if chunk.null_count or not (
            pa.types.is_string(chunk.type) or pa.types.is_large_string(chunk.type)
        ):
            return None
        _, offsets_buffer, data_buffer = chunk.buffers()
        offset_type = np.int64 if pa.types.is_large_string(chunk.type) else np.int32
        offsets = np.frombuffer(offsets_buffer, dtype=offset_type)[
            chunk.offset : chunk.offset + len(chunk) + 1
        ]
        width = int(offsets[1] - offsets[0])
        if width < body or not np.all(np.diff(offsets) == width):
            return None
        rows = np.frombuffer(data_buffer, dtype=np.uint8)[offsets[0] : offsets[-1]].reshape(
            -1, width
        )
        tail = rows[:, body:]
        if suffix is None:
            suffix = bytes(tail[0])
        if len(suffix) != width - body or not (tail == np.frombuffer(suffix, np.uint8)).all():
            return None
    return suffix


def _parse_fixed_iso(values: pd.Series) -> pd.DatetimeIndex | None:
    """Fast path: every row ``YYYY-MM-DD?HH:MM:SS<suffix>`` with one and the same suffix.

    A shared suffix ("", "Z", "+02:00", ".000Z") means one time zone for the whole
    column, so Arrow's vectorised ISO 8601 cast can convert it safely. Returns None
    (the caller falls back to pandas, which names bad rows) for anything else.
    """
    try:
        chunks = _arrow_strings(values)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    suffix = _shared_suffix(chunks)
    if suffix is None:
        return None
    text = suffix.decode("ascii", errors="replace")
    zoned = text.endswith("Z") or bool(re.search(r"[+-]\d\d:?\d\d$", text))
    target = pa.timestamp("ns", tz="UTC") if zoned else pa.timestamp("ns")
    try:
        parsed = pc.cast(pa.chunked_array(chunks), target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    nanos = parsed.cast(pa.int64()).to_numpy()
    return pd.DatetimeIndex(nanos.view("datetime64[ns]")).tz_localize("UTC")


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
