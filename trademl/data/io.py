"""Reading and writing OHLCV candles: one frame shape for every file layout.

``load_ohlcv`` returns a DataFrame indexed by a UTC ``DatetimeIndex`` named
``timestamp`` (the bar's open time) with float64 columns ``open, high, low, close,
volume``, followed by any extra columns the source had (``is_filled``, ``regime`` ...).
It reads CSV, Parquet and JSON (each optionally gzipped) or takes a DataFrame, accepts
common column spellings, and epoch seconds / milliseconds / ISO strings.

Loading checks the *shape* (columns, numbers, timestamps); whether the candles make
sense (order, gaps, high >= low ...) is ``trademl.data.validation``'s job, so that a
broken file can still be loaded, inspected and repaired.

Multi-symbol data is a ``dict`` mapping symbol -> frame of that shape (``load_folder``).
"""

from __future__ import annotations

import gzip
import json
import logging
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Literal

import numpy as np
import pandas as pd

from trademl._io import atomic_path
from trademl.data._timestamps import to_utc_datetimes
from trademl.errors import DataError

__all__ = [
    "OHLCV_COLUMNS",
    "detect_format",
    "load_folder",
    "load_ohlcv",
    "read_table",
    "save_ohlcv",
    "symbol_from_filename",
]

logger = logging.getLogger(__name__)

OHLCV_COLUMNS = ("open", "high", "low", "close", "volume")
Format = Literal["csv", "parquet", "json"]
_SUFFIX_FORMATS = {
    ".csv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".pq": "parquet",
    ".json": "json",
}

# accepted spellings after normalising (lower case, spaces/dashes -> "_"), best first
_ALIASES: dict[str, tuple[str, ...]] = {
    "timestamp": (
        "timestamp", "open_time", "opentime", "datetime", "date_time", "date", "time",
        "unix", "ts", "t", "time_period_start", "candle_begin_time",
    ),
    "open": ("open", "o", "open_price", "first"),
    "high": ("high", "h", "high_price", "max"),
    "low": ("low", "l", "low_price", "min"),
    "close": ("close", "c", "close_price", "last", "price_close"),
    "volume": ("volume", "vol", "v", "base_volume", "volume_base", "volume_traded"),
}  # fmt: skip
# "Volume USDT" style columns name the currency; quote-currency volume is the fallback
_QUOTE_CURRENCIES = {"usdt", "usd", "usdc", "busd", "eur", "tusd", "fdusd", "dai", "quote"}
# the freqtrade / ccxt JSON layout: one list per candle
_LIST_LAYOUT = ("timestamp", "open", "high", "low", "close", "volume")


def _normalise(name: object) -> str:
    # "<DATE>" (MetaTrader), "Open Time", "open-time" -> "date", "open_time", "open_time"
    return re.sub(r"[\s\-]+", "_", str(name).strip().strip("<>").lower())


def detect_format(path: Path) -> tuple[Format, bool]:
    """``(format, gzipped)`` from a file name; ``DataError`` for an unknown extension."""
    suffixes = [s.lower() for s in path.suffixes]
    compressed = bool(suffixes) and suffixes[-1] == ".gz"
    if compressed:
        suffixes = suffixes[:-1]
    fmt = _SUFFIX_FORMATS.get(suffixes[-1]) if suffixes else None
    if fmt is None:
        raise DataError(
            f"{path}: cannot tell the format from the extension {''.join(path.suffixes)!r}; "
            "expected .csv, .parquet or .json (optionally .gz)"
        )
    if fmt == "parquet" and compressed:
        raise DataError(f"{path}: Parquet is compressed internally; drop the .gz")
    return fmt, compressed  # type: ignore[return-value]


# Binance's public kline dumps (data.binance.vision) have no header and these 12 columns
_BINANCE_KLINE = (
    "timestamp", "open", "high", "low", "close", "volume", "close_time", "quote_volume",
    "trades", "taker_buy_volume", "taker_buy_quote_volume", "ignore",
)  # fmt: skip


def _is_number(text: object) -> bool:
    try:
        float(str(text))
    except ValueError:
        return False
    return True


def _read_csv(path: Path) -> pd.DataFrame:
    try:
        # the C engine beats engine="pyarrow" on the common 6-column file (measured in
        # benchmarks/data_io.py); timestamps stay strings and are parsed vectorised later
        frame = pd.read_csv(path)
        if len(frame.columns) >= 6 and all(_is_number(c) for c in frame.columns[1:6]):
            # no header row: the first candle was taken for column names
            width = len(frame.columns)
            names = (
                list(_BINANCE_KLINE)
                if width == 12
                else [*_LIST_LAYOUT, *(f"column_{i}" for i in range(6, width))]
            )
            logger.info("%s has no header; reading columns as %s", path, names)
            frame = pd.read_csv(path, header=None, names=names)
        return frame
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (no header, no rows)") from None
    except (UnicodeDecodeError, pd.errors.ParserError, EOFError, OSError) as exc:
        raise DataError(
            f"{path}: not a readable CSV file{_binary_hint(path)} "
            f"({type(exc).__name__}: {' '.join(str(exc).split())})"
        ) from None


_MAGIC = {b"PAR1": "a Parquet file", b"\x1f\x8b": "gzip-compressed", b"PK\x03\x04": "a zip archive"}


def _binary_hint(path: Path) -> str:
    """Name what a mis-named binary file really is, from its first bytes."""
    with open(path, "rb") as handle:
        head = handle.read(512)
    for magic, what in _MAGIC.items():
        if head.startswith(magic):
            return f"; it is {what}, not text (check the file extension)"
    return "; it holds binary data, not text" if b"\x00" in head else ""


def _read_parquet(path: Path) -> pd.DataFrame:
    if path.stat().st_size == 0:
        raise DataError(f"{path}: the Parquet file is empty (0 bytes)")
    try:
        frame = pd.read_parquet(path)
    except Exception as exc:  # noqa: BLE001 - pyarrow raises several unrelated types
        raise DataError(
            f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
        ) from None
    if isinstance(frame.index, pd.DatetimeIndex) or frame.index.name is not None:
        frame = frame.reset_index()
    return frame


def _read_json(path: Path, compressed: bool) -> pd.DataFrame:
    opener = gzip.open if compressed else open
    try:
        with opener(path, "rt", encoding="utf-8") as handle:
            raw = json.load(handle)
    except (UnicodeDecodeError, json.JSONDecodeError, EOFError, OSError) as exc:
        raise DataError(f"{path}: not a readable JSON file ({type(exc).__name__}: {exc})") from None
    return _frame_from_json(raw, str(path))


def _frame_from_json(raw: object, where: str) -> pd.DataFrame:
    if isinstance(raw, list) and raw and isinstance(raw[0], (list, tuple)):
        width = len(raw[0])
        if width < 6:
            raise DataError(
                f"{where}: candle lists have {width} values; expected at least 6 "
                "[timestamp, open, high, low, close, volume] (freqtrade / ccxt layout)"
            )
        if any(len(row) != width for row in raw):
            lengths = sorted({len(row) for row in raw})
            raise DataError(f"{where}: candle lists have different lengths {lengths}")
        array = np.asarray(raw, dtype=object)[:, :6]
        frame = pd.DataFrame(array, columns=list(_LIST_LAYOUT))
        return frame.infer_objects()
    if isinstance(raw, list):
        if raw and not all(isinstance(row, dict) for row in raw):
            raise DataError(f"{where}: expected a list of candle lists or of objects")
        return pd.DataFrame.from_records(raw)
    if isinstance(raw, dict):
        if {"columns", "data"} <= raw.keys():  # pandas orient="split"
            return pd.DataFrame(raw["data"], columns=raw["columns"])
        for key in ("data", "candles", "ohlcv", "result"):
            if key in raw and isinstance(raw[key], list):
                return _frame_from_json(raw[key], where)
        return pd.DataFrame(raw)
    raise DataError(f"{where}: JSON holds a {type(raw).__name__}, not candles")


def _match_columns(
    frame: pd.DataFrame, columns: Mapping[str, str] | None, where: str
) -> dict[str, str]:
    """Map each canonical name to the source column that holds it."""
    chosen: dict[str, str] = {}
    given = dict(columns or {})
    unknown = set(given) - set(_ALIASES)
    if unknown:
        raise DataError(f"columns= names unknown field(s) {sorted(unknown)}; use {list(_ALIASES)}")
    by_normal: dict[str, str] = {}
    for name in frame.columns:
        by_normal.setdefault(_normalise(name), name)
    for canonical, aliases in _ALIASES.items():
        if canonical in given:
            if given[canonical] not in frame.columns:
                raise DataError(
                    f"{where}: columns={{{canonical!r}: {given[canonical]!r}}} but there is no "
                    f"column {given[canonical]!r}; found {list(map(str, frame.columns))}"
                )
            chosen[canonical] = given[canonical]
            continue
        found = next((by_normal[a] for a in aliases if a in by_normal), None)
        if found is None and canonical == "volume":
            found = _currency_volume(by_normal)
        if found is not None:
            chosen[canonical] = found
    missing = [c for c in _ALIASES if c not in chosen]
    if missing:
        raise DataError(
            f"{where}: no column for {', '.join(missing)}. Found columns "
            f"{list(map(str, frame.columns))}; expected timestamp, open, high, low, close, volume "
            "(or aliases such as date/time/open_time, Open, Volume BTC), or pass columns={...}"
        )
    return chosen


def _currency_volume(by_normal: dict[str, str]) -> str | None:
    """``Volume BTC`` (base asset) over ``Volume USDT`` (quote asset), as in CryptoDataDownload."""
    candidates = [n for n in by_normal if n.startswith("volume_") or n.endswith("_volume")]
    if not candidates:
        return None
    base = [n for n in candidates if n.replace("volume", "").strip("_") not in _QUOTE_CURRENCIES]
    pick = (base or candidates)[0]
    if not base:
        logger.warning("using %r as volume: it is in the quote currency", by_normal[pick])
    return by_normal[pick]


def _numeric_column(values: pd.Series, name: str, where: str) -> np.ndarray:
    if pd.api.types.is_float_dtype(values.dtype) and values.dtype == np.float64:
        return values.to_numpy()
    if pd.api.types.is_bool_dtype(values.dtype):
        raise DataError(f"{where}: column {name!r} holds true/false values, not numbers")
    if isinstance(values.dtype, np.dtype) and values.dtype.kind in "iuf":
        # plain numpy numbers: NaN stays NaN in a cast, no separate missing-value pass
        return values.to_numpy().astype(np.float64)
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.to_numpy(dtype="float64", na_value=np.nan)
    numbers = pd.to_numeric(values, errors="coerce")
    bad = np.flatnonzero(numbers.isna().to_numpy() & values.notna().to_numpy())
    if bad.size:
        shown = ", ".join(f"row {int(i)} ({values.iloc[i]!r})" for i in bad[:5])
        more = f" and {bad.size - 5} more" if bad.size > 5 else ""
        raise DataError(f"{where}: column {name!r} is not numeric at {shown}{more}")
    return numbers.to_numpy(dtype="float64", na_value=np.nan)


def _join_date_and_time(
    frame: pd.DataFrame, chosen: dict[str, str], columns: Mapping[str, str] | None
) -> pd.Series:
    """The timestamp column, or ``date`` + ``time`` when a file splits them (MetaTrader)."""
    stamps = frame[chosen["timestamp"]]
    if (columns and "timestamp" in columns) or _normalise(chosen["timestamp"]) != "date":
        return stamps
    time_column = next((c for c in frame.columns if _normalise(c) == "time"), None)
    if time_column is None or not pd.api.types.is_string_dtype(frame[time_column].dtype):
        return stamps
    if not re.fullmatch(r"\d{1,2}:\d\d(:\d\d)?", str(frame[time_column].iloc[0])):
        return stamps
    chosen["time"] = time_column  # consumed: not carried over as an extra column
    dates = stamps.astype("str").str.replace(".", "-", regex=False)  # 2024.01.02 (MetaTrader)
    return dates + " " + frame[time_column].astype("str")


def _standardise(
    frame: pd.DataFrame, columns: Mapping[str, str] | None, unit: str, where: str
) -> pd.DataFrame:
    if isinstance(frame.index, pd.DatetimeIndex) and not any(
        _normalise(c) in _ALIASES["timestamp"] for c in frame.columns
    ):
        frame = frame.reset_index(names="timestamp" if frame.index.name is None else None)
    if frame.shape[1] == 0:
        raise DataError(f"{where}: no columns; expected timestamp, open, high, low, close, volume")
    chosen = _match_columns(frame, columns, where)
    if len(frame) == 0:
        raise DataError(f"{where}: header only, no candles")
    stamps = _join_date_and_time(frame, chosen, columns)
    index = to_utc_datetimes(stamps, column=str(chosen["timestamp"]), unit=unit)
    index.name = "timestamp"
    data = {c: _numeric_column(frame[chosen[c]], str(chosen[c]), where) for c in OHLCV_COLUMNS}
    used = set(chosen.values())
    extras = [c for c in frame.columns if c not in used and not str(c).startswith("Unnamed: ")]
    result = pd.DataFrame(data, index=index, copy=False)
    for name in extras:
        result[str(name)] = frame[name].to_numpy()
    return result


def load_ohlcv(
    source: str | Path | pd.DataFrame,
    *,
    columns: Mapping[str, str] | None = None,
    timestamp_unit: Literal["auto", "s", "ms", "us", "ns"] = "auto",
    format: Format | None = None,
) -> pd.DataFrame:
    """Load candles from a file path or a DataFrame into the standard OHLCV frame.

    ``columns`` maps canonical names to source columns when the automatic matching
    cannot guess them (``{"volume": "Volume USDT"}``); ``timestamp_unit`` forces the
    unit of epoch numbers (default: detected from their size); ``format`` overrides the
    file extension.
    """
    if isinstance(source, pd.DataFrame):
        return _standardise(source, columns, timestamp_unit, "frame")
    if not isinstance(source, (str, Path)):
        raise DataError(f"load_ohlcv needs a file path or a DataFrame, got {type(source).__name__}")
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"{path}: no such file")
    if path.is_dir():
        raise DataError(f"{path}: is a folder; use load_folder() for one file per symbol")
    detected, compressed = detect_format(path) if format is None else (format, path.suffix == ".gz")
    if detected == "csv":
        frame = _read_csv(path)
    elif detected == "parquet":
        frame = _read_parquet(path)
    elif detected == "json":
        frame = _read_json(path, compressed)
    else:
        raise DataError(f"format must be csv, parquet or json; got {format!r}")
    logger.debug("read %s rows from %s", len(frame), path)
    return _standardise(frame, columns, timestamp_unit, str(path))


def save_ohlcv(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a standard OHLCV frame; the format follows the extension (.csv[.gz]/.parquet/.json).

    Written to a temporary name beside ``path`` and renamed (``trademl._io.atomic_path``):
    an existing file is replaced only by a complete one.
    """
    path = Path(path).expanduser()
    fmt, compressed = detect_format(path)
    with atomic_path(path) as temporary:
        if fmt == "parquet":
            frame.to_parquet(temporary)
        elif fmt == "csv":
            frame.to_csv(temporary, date_format="%Y-%m-%dT%H:%M:%SZ", index_label="timestamp")
        else:
            out = frame.reset_index()
            out["timestamp"] = out["timestamp"].dt.strftime("%Y-%m-%dT%H:%M:%SZ")
            text = out.to_json(orient="records", double_precision=15)
            if compressed:
                with gzip.open(temporary, "wt", encoding="utf-8") as handle:
                    handle.write(text)
            else:
                temporary.write_text(text)
    return path


_TIMEFRAME_TOKEN = re.compile(r"^\d+[smhdwM]$")


def symbol_from_filename(path: str | Path) -> str:
    """``BTCUSDT_1h_2017-2026.csv.gz`` -> ``BTCUSDT``: the name up to its timeframe token."""
    name = Path(path).name
    stem = name[: -len("".join(Path(name).suffixes))] if Path(name).suffixes else name
    tokens = re.split(r"[_\s]+", stem)
    kept = []
    for token in tokens:
        if _TIMEFRAME_TOKEN.match(token):
            break
        kept.append(token)
    return "_".join(kept) or stem


def load_folder(
    path: str | Path, *, pattern: str = "*", columns: Mapping[str, str] | None = None
) -> dict[str, pd.DataFrame]:
    """Load every candle file in a folder as ``{symbol: frame}``, sorted by symbol.

    The symbol is the file name up to its timeframe token (``ETHUSDT_1h_2017-2022.csv.gz``
    -> ``ETHUSDT``). Two files that would give the same symbol are an error, since
    silently picking one would mix timeframes; narrow them with ``pattern``.
    """
    folder = Path(path).expanduser()
    if not folder.is_dir():
        raise DataError(f"{folder}: not a folder")
    files = []
    for file in sorted(folder.glob(pattern)):
        if not file.is_file():
            continue
        suffixes = [s.lower() for s in file.suffixes]
        if suffixes and suffixes[-1] == ".gz":
            suffixes = suffixes[:-1]
        if suffixes and suffixes[-1] in _SUFFIX_FORMATS:
            files.append(file)
    if not files:
        raise DataError(f"{folder}: no .csv/.parquet/.json files match {pattern!r}")
    by_symbol: dict[str, Path] = {}
    for file in files:
        symbol = symbol_from_filename(file)
        if symbol in by_symbol:
            raise DataError(
                f"{folder}: {by_symbol[symbol].name} and {file.name} are both symbol {symbol!r}; "
                "pass pattern= to pick one timeframe (e.g. '*_1h_*')"
            )
        by_symbol[symbol] = file
    return {symbol: load_ohlcv(file, columns=columns) for symbol, file in sorted(by_symbol.items())}


def read_table(path: str | Path) -> pd.DataFrame:
    """Any CSV (.csv, .csv.gz, .txt) or Parquet table as a frame, a time index as a column.

    For tables that are not candles (returns, trades, feature windows); candles go
    through ``load_ohlcv``.
    """
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: file not found")
    name = path.name.lower()
    try:
        if name.endswith(".parquet"):
            frame = pd.read_parquet(path)
            if isinstance(frame.index, pd.DatetimeIndex):
                frame = frame.reset_index()
        elif name.endswith((".csv", ".csv.gz", ".txt")):
            frame = pd.read_csv(path)
        else:
            raise DataError(f"{path}: expected a .csv, .csv.gz or .parquet file")
    except (ValueError, OSError) as exc:  # parser, empty file, bad encoding, bad Parquet
        raise DataError(f"{path}: cannot read as a table ({exc})") from None
    return frame
