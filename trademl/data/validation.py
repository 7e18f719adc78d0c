"""Checking candles before anything learns from them, and repairing what can be repaired.

``find_problems`` returns every problem as a dict (``kind``, ``message``, ``count``,
``rows`` = positional row numbers, ``timestamps`` = ISO strings); ``validate_ohlcv``
raises ``DataValidationError`` carrying that list. ``repair_ohlcv`` only does what is
safe and says what it did: drop exact duplicate rows, sort, and insert flat bars for
missing ones with ``is_filled=True``. It never guesses between conflicting duplicates
and never touches prices.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trademl.data.io import OHLCV_COLUMNS
from trademl.data.timeframe import grid_origin, infer_timeframe, timeframe_to_timedelta
from trademl.errors import DataValidationError

__all__ = [
    "RepairReport",
    "find_gaps",
    "find_problems",
    "repair_ohlcv",
    "validate_ohlcv",
]

logger = logging.getLogger(__name__)
_SHOWN = 5  # rows quoted in a message; the problem dict carries all of them


def _nanos(index: pd.DatetimeIndex) -> np.ndarray:
    # pandas 3 parses strings to microseconds by default; the arithmetic here is in ns
    return index.as_unit("ns").asi8


def _iso(stamps) -> list[str]:
    return [pd.Timestamp(t).strftime("%Y-%m-%dT%H:%M:%SZ") for t in stamps]


def _problem(kind: str, what: str, rows: np.ndarray, index: pd.DatetimeIndex, **extra) -> dict:
    rows = np.asarray(rows, dtype=np.int64)
    stamps = _iso(index[rows])
    quoted = ", ".join(
        f"row {r} ({t})" for r, t in zip(rows[:_SHOWN], stamps[:_SHOWN], strict=False)
    )
    more = f" and {len(rows) - _SHOWN} more" if len(rows) > _SHOWN else ""
    return {
        "kind": kind,
        "message": f"{what}: {quoted}{more}",
        "count": int(len(rows)),
        "rows": rows.tolist(),
        "timestamps": stamps,
        **extra,
    }


def _check_shape(frame: pd.DataFrame) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise DataValidationError(
            f"expected a DataFrame of candles, got {type(frame).__name__}",
            [
                {
                    "kind": "not_a_frame",
                    "message": "not a DataFrame",
                    "count": 1,
                    "rows": [],
                    "timestamps": [],
                }
            ],
        )
    missing = [c for c in OHLCV_COLUMNS if c not in frame.columns]
    problems = []
    if missing:
        problems.append(f"missing column(s) {missing} (found {list(map(str, frame.columns))})")
    if not isinstance(frame.index, pd.DatetimeIndex):
        problems.append(f"index is a {type(frame.index).__name__}, not a DatetimeIndex")
    elif str(frame.index.tz) != "UTC":
        problems.append(f"index time zone is {frame.index.tz}, expected UTC (load with load_ohlcv)")
    if problems:
        raise DataValidationError(
            "; ".join(problems),
            [
                {"kind": "shape", "message": p, "count": 1, "rows": [], "timestamps": []}
                for p in problems
            ],
        )


def find_gaps(index: pd.DatetimeIndex, timeframe: str | None = None) -> pd.DataFrame:
    """Missing bars between consecutive (sorted, unique) timestamps.

    One row per gap: ``after`` (last bar before it), ``before`` (first bar after it),
    ``missing_bars``, and ``row``, the positional row of ``before`` in ``index``.
    """
    timeframe = timeframe or infer_timeframe(index)
    step = timeframe_to_timedelta(timeframe).value
    order = np.argsort(_nanos(index), kind="stable")
    nanos = _nanos(index)[order]
    keep = np.concatenate([[True], np.diff(nanos) != 0]) if len(nanos) else np.array([], bool)
    nanos, order = nanos[keep], order[keep]
    spacing = np.diff(nanos)
    at = np.flatnonzero(spacing > step)
    missing = np.round(spacing[at] / step).astype(np.int64) - 1
    at, missing = at[missing > 0], missing[missing > 0]
    return pd.DataFrame(
        {
            "after": pd.to_datetime(nanos[at], utc=True),
            "before": pd.to_datetime(nanos[at + 1], utc=True),
            "missing_bars": missing,
            "row": order[at + 1],
        }
    )


def find_problems(
    frame: pd.DataFrame,
    timeframe: str | None = None,
    *,
    max_jump: float = 0.5,
    now: pd.Timestamp | None = None,
) -> list[dict]:
    """Every problem in ``frame`` as a list of dicts (empty when the candles are clean).

    ``max_jump`` is the largest believable close-to-close move between consecutive bars
    as a fraction (0.5 = 50 %); bigger moves are reported as ``absurd_jump``, which is
    almost always a bad tick or a unit change, not a market move.
    """
    _check_shape(frame)
    if not max_jump > 0:
        raise ValueError(f"max_jump must be > 0 (a fraction, 0.5 = 50 %), got {max_jump=}")
    index = frame.index
    n = len(frame)
    if n == 0:
        return [
            {"kind": "empty", "message": "no candles", "count": 0, "rows": [], "timestamps": []}
        ]
    timeframe = timeframe or (infer_timeframe(index) if n > 1 else None)
    values = {c: frame[c].to_numpy(dtype="float64") for c in OHLCV_COLUMNS}
    o, h, lo, c, v = (values[k] for k in OHLCV_COLUMNS)
    nanos = _nanos(index)
    problems: list[dict] = []

    def add(kind: str, what: str, mask_or_rows: np.ndarray, **extra) -> None:
        rows = np.flatnonzero(mask_or_rows) if mask_or_rows.dtype == bool else mask_or_rows
        if len(rows):
            problems.append(_problem(kind, what, rows, index, **extra))

    add("unsorted", "timestamp earlier than the row before", np.r_[False, np.diff(nanos) < 0])
    stacked = frame[list(OHLCV_COLUMNS)].assign(_t=nanos)
    exact = stacked.duplicated(keep="first").to_numpy()
    add("duplicate_rows", "exact duplicate of an earlier row", exact)
    same_time = pd.Series(nanos).duplicated(keep=False).to_numpy()
    # a repeated timestamp conflicts when its copies are not all identical
    distinct_rows = stacked[same_time].drop_duplicates().groupby("_t").size()
    conflict = np.isin(nanos, distinct_rows.index[distinct_rows > 1].to_numpy())
    add("duplicate_timestamps", "same timestamp, different values", conflict)

    finite = np.isfinite(np.column_stack([o, h, lo, c, v]))
    nan = np.isnan(np.column_stack([o, h, lo, c, v]))
    add("missing_values", "NaN in open/high/low/close/volume", nan.any(axis=1))
    add("infinite_values", "infinite open/high/low/close/volume", (~finite & ~nan).any(axis=1))
    with np.errstate(invalid="ignore"):
        add("non_positive_price", "price <= 0", ((np.column_stack([o, h, lo, c]) <= 0).any(axis=1)))
        add("negative_volume", "volume < 0", v < 0)
        add("high_below_low", "high < low", h < lo)
        add("high_below_open_close", "high < max(open, close)", h < np.maximum(o, c))
        add("low_above_open_close", "low > min(open, close)", lo > np.minimum(o, c))

    if timeframe is not None:
        step = timeframe_to_timedelta(timeframe).value
        origin = grid_origin(timeframe).value
        add("off_grid", f"timestamp not on the {timeframe} grid", (nanos - origin) % step != 0)
        gaps = find_gaps(index, timeframe)
        if len(gaps):
            total = int(gaps["missing_bars"].sum())
            problems.append(
                {
                    **_problem(
                        "gaps",
                        f"{len(gaps)} gap(s), {total} missing {timeframe} bar(s); first bar after each gap",
                        gaps["row"].to_numpy(),
                        index,
                    ),
                    "missing_bars": total,
                    "gaps": [
                        {"after": a, "before": b, "missing_bars": int(m)}
                        for a, b, m in zip(
                            _iso(gaps["after"]),
                            _iso(gaps["before"]),
                            gaps["missing_bars"],
                            strict=True,
                        )
                    ],
                }
            )
        horizon = (now or pd.Timestamp.now(tz="UTC")).value + step
        add("future_timestamps", "bar opens in the future", nanos > horizon)

    order = np.argsort(nanos, kind="stable")
    closes = c[order]
    with np.errstate(divide="ignore", invalid="ignore"):
        move = np.abs(closes[1:] / closes[:-1] - 1.0)
    jump = np.zeros(n, dtype=bool)
    jump[order[1:]] = move > max_jump
    add(
        "absurd_jump",
        f"close moved more than {max_jump:.0%} from the bar before (max_jump={max_jump})",
        jump,
    )
    return problems


def validate_ohlcv(
    frame: pd.DataFrame,
    timeframe: str | None = None,
    *,
    max_jump: float = 0.5,
    now: pd.Timestamp | None = None,
) -> pd.DataFrame:
    """Return ``frame`` unchanged if clean; otherwise raise ``DataValidationError``.

    The error's ``problems`` list is machine readable (see ``find_problems``); its
    message has one line per problem.
    """
    problems = find_problems(frame, timeframe, max_jump=max_jump, now=now)
    if problems:
        lines = "\n".join(f"  {p['kind']}: {p['message']}" for p in problems)
        raise DataValidationError(
            f"{len(problems)} kind(s) of problem in the candles:\n{lines}", problems
        )
    return frame


@dataclass
class RepairReport:
    """What ``repair_ohlcv`` changed; ``lines()`` says it in words."""

    timeframe: str
    dropped_duplicates: list[str] = field(default_factory=list)
    rows_moved_by_sort: int = 0
    filled_bars: list[str] = field(default_factory=list)
    gaps_filled: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.dropped_duplicates or self.rows_moved_by_sort or self.filled_bars)

    def lines(self) -> list[str]:
        if not self.changed:
            return ["nothing to repair"]
        out = []
        if self.dropped_duplicates:
            shown = ", ".join(self.dropped_duplicates[:_SHOWN])
            more = (
                ""
                if len(self.dropped_duplicates) <= _SHOWN
                else f" and {len(self.dropped_duplicates) - _SHOWN} more"
            )
            out.append(
                f"dropped {len(self.dropped_duplicates)} exact duplicate row(s): {shown}{more}"
            )
        if self.rows_moved_by_sort:
            out.append(f"sorted by timestamp ({self.rows_moved_by_sort} row(s) changed position)")
        if self.filled_bars:
            out.append(
                f"filled {len(self.filled_bars)} missing {self.timeframe} bar(s) in {self.gaps_filled} gap(s) "
                f"({self.filled_bars[0]} .. {self.filled_bars[-1]}) with flat bars at the previous "
                "close, volume 0, is_filled=True"
            )
        return out


def repair_ohlcv(
    frame: pd.DataFrame, timeframe: str | None = None
) -> tuple[pd.DataFrame, RepairReport]:
    """Drop exact duplicates, sort, and fill missing bars; return ``(repaired, report)``.

    Filled bars are flat at the previous close with zero volume and ``is_filled=True``
    (a column added if absent), so no later stage can mistake them for traded bars.
    Conflicting duplicates (same timestamp, different values) raise
    ``DataValidationError``: choosing one would be a silent guess.
    """
    _check_shape(frame)
    timeframe = timeframe or infer_timeframe(frame.index)
    report = RepairReport(timeframe=timeframe)
    nanos = _nanos(frame.index)
    exact = frame[list(OHLCV_COLUMNS)].assign(_t=nanos).duplicated(keep="first").to_numpy()
    report.dropped_duplicates = _iso(frame.index[exact])
    out = frame[~exact]
    conflicts = out.index[out.index.duplicated(keep=False)]
    if len(conflicts):
        rows = np.flatnonzero(frame.index.isin(conflicts))
        problem = _problem(
            "duplicate_timestamps", "same timestamp, different values", rows, frame.index
        )
        raise DataValidationError(
            f"cannot repair: {problem['message']}; decide which row is right and delete the other",
            [problem],
        )
    order = np.argsort(_nanos(out.index), kind="stable")
    report.rows_moved_by_sort = int((order != np.arange(len(order))).sum())
    out = out.iloc[order]
    gaps = find_gaps(out.index, timeframe)
    if len(gaps):
        step = timeframe_to_timedelta(timeframe)
        missing = pd.DatetimeIndex(
            np.concatenate(
                [
                    pd.date_range(a + step, b - step, freq=step).asi8
                    for a, b in zip(gaps["after"], gaps["before"], strict=True)
                ]
            ).view("datetime64[ns]")
        ).tz_localize("UTC")
        missing = missing.difference(out.index)
        filled = out.reindex(out.index.union(missing))
        is_new = filled.index.isin(missing)
        previous_close = filled["close"].ffill()
        for column in ("open", "high", "low", "close"):
            filled.loc[is_new, column] = previous_close[is_new]
        filled.loc[is_new, "volume"] = 0.0
        old_flags = out["is_filled"].astype(bool) if "is_filled" in out.columns else False
        filled["is_filled"] = is_new
        if "is_filled" in out.columns:
            filled.loc[~is_new, "is_filled"] = old_flags.to_numpy()
        filled.index.name = "timestamp"
        out = filled
        report.filled_bars = _iso(missing)
        report.gaps_filled = len(gaps)
    elif "is_filled" not in out.columns:
        out = out.assign(is_filled=False)
    for line in report.lines():
        logger.info("repair: %s", line)
    return out, report
