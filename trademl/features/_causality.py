"""The causality check every registered feature must pass: computed on the first k bars,
it equals the first k rows computed on all bars. Event data (trades, book, l2) is cut
at the prefix's last bar close too, so a feature peeking at later events fails.

``check_causality`` is the test suite's check of one feature or a whole spec.
``check_run_causality`` is the guard on the run path: it recomputes only the columns
whose causality is not proven (user features, and the lags, z-scores and higher
timeframes derived from them) on a few prefixes of the run's own data, within a time
budget, and raises ``CausalityError`` naming the column, the symbol and the bar.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from trademl.config.features import FeatureSpec, IndicatorSpec
from trademl.errors import CausalityError
from trademl.features._bars import Bars, bars_from_frame, infer_bar_delta
from trademl.features._generate import (
    FeaturePlan,
    compute_plan,
    load_feature_spec,
    make_plan,
    prepare_extra,
)
from trademl.features._registry import FeatureError, registry
from trademl.features._user_modules import module_source

__all__ = ["check_causality", "check_run_causality", "record_check"]

logger = logging.getLogger(__name__)

# the run's check may cost this share of the run's own feature time (at least
# MIN_BUDGET_SECONDS); the first prefix is always checked, later ones while they fit
BUDGET_SHARE = 0.2
MIN_BUDGET_SECONDS = 0.05
# tolerances: a prefix recomputes the same arithmetic on the same first bars, so a causal
# feature agrees to rounding; a leak differs by far more
RTOL = {np.dtype(np.float64): 1e-7, np.dtype(np.float32): 1e-5}
ATOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-9}


def _cut_events(frame: Any, end_ns: int) -> Any:
    from trademl.features.orderbook import _event_times

    if not isinstance(frame, pd.DataFrame):
        return frame
    times = _event_times(
        frame, "events", ("exch_time_ms", "second", "time", "timestamp", "local_ns")
    )
    return frame[times < end_ns]


def check_causality(
    ohlcv: pd.DataFrame,
    spec: str | FeatureSpec,
    *,
    params: Mapping[str, Any] | None = None,
    prefixes: Iterable[int] | None = None,
    rtol: float = 1e-9,
    **data: Any,
) -> dict[str, int]:
    """Raise FeatureError at the first prefix row that differs from the full run.

    ``spec`` is a feature name (with optional ``params``) or a whole FeatureSpec (to check
    higher timeframes, lags, normalisation). Returns {column: rows compared}.
    """
    from trademl.features._generate import generate_features

    if isinstance(spec, str):
        spec = FeatureSpec(indicators=[IndicatorSpec(name=spec, params=dict(params or {}))])
    spec = spec.model_copy(update={"on_short": "nan"})
    n = len(ohlcv)
    prefixes = sorted(set(prefixes or (n // 4, n // 2, (3 * n) // 4, n - 1)))
    full = generate_features(ohlcv, spec, check_causality=False, **data)
    bar = infer_bar_delta(ohlcv.index).value
    compared: dict[str, int] = {}
    for k in prefixes:
        if not 1 < k <= n:
            raise ValueError(f"check_causality: prefix length must be in 2..{n}, got {k}")
        end = ohlcv.index[k - 1].value + bar
        cut = {key: _cut_events(value, end) for key, value in data.items()}
        part = generate_features(ohlcv.iloc[:k], spec, check_causality=False, **cut)
        expected = full.iloc[:k]
        # too short for the prefix is an all-NaN column by design, not a leak
        blanked = set(part.attrs.get("too_short", ()))
        for column in full.columns:
            if column in blanked:
                continue
            a = part[column].to_numpy()
            b = expected[column].to_numpy()
            same = np.isclose(a, b, rtol=rtol, atol=0.0, equal_nan=True)
            if not same.all():
                row = int(np.argmax(~same))
                raise FeatureError(
                    f"{column} is not causal: with the first {k} bars, row {row} "
                    f"({ohlcv.index[row]}) is {a[row]!r} but {b[row]!r} with all {n} bars"
                )
            compared[column] = compared.get(column, 0) + k
    return compared


def check_run_causality(
    ohlcv: pd.DataFrame,
    spec: FeatureSpec | Mapping[str, Any] | str | None,
    *,
    full: pd.DataFrame | None = None,
    symbol: str | None = None,
    prefixes: Iterable[int] | None = None,
    include_proven: bool = False,
    **data: Any,
) -> dict[str, Any]:
    """Check, on this data, every column ``spec`` computes from a feature not proven causal.

    trademl's own features are proven by the test suite; a user's (``features.modules``,
    or ``@feature`` in a notebook) are not, nor the lags, z-scores and higher-timeframe
    columns made from them. Those alone are recomputed on a few prefixes of ``ohlcv``
    (a quarter, half, three quarters, all but the last bar) and compared with ``full``,
    the frame already computed on all of it (recomputed when not given). The first prefix
    is always checked; the next ones only while the check stays within ``BUDGET_SHARE``
    (20%) of the run's feature time (``full.attrs["feature_seconds"]``, at least
    ``MIN_BUDGET_SECONDS``). A frame this check passed before is not checked again.

    Raises ``CausalityError`` naming the column, ``symbol`` and the first bar that differs.
    Returns ``{"checked": [columns], "seconds": float, "prefixes": [bars], ...}``;
    with nothing unproven it returns at once with ``checked`` empty.
    ``include_proven`` checks trademl's own columns too; ``prefixes`` fixes the lengths.
    """
    started = time.perf_counter()
    report: dict[str, Any] = {
        "checked": [], "seconds": 0.0, "prefixes": [], "unchecked": [], "reused": False,
    }  # fmt: skip
    if not include_proven and all(f.proven for f in registry().values()):
        report["seconds"] = time.perf_counter() - started
        return report
    spec = load_feature_spec(spec)
    bars = bars_from_frame(ohlcv, on_nan=spec.on_nan)
    bars.extra = prepare_extra(bars.index, data)
    plan, _ = make_plan(spec, set(bars.columns) | set(bars.extra))
    if not include_proven:
        plan = plan.restrict(lambda p: not p.feature.proven, spec)
    columns = plan.names
    if not columns:
        report["seconds"] = time.perf_counter() - started
        return report
    report["checked"] = list(columns)
    previous = _previous_check(full, columns, bars.index)
    if previous is not None:
        report.update(prefixes=previous, reused=True, seconds=time.perf_counter() - started)
        return report

    n = len(bars)
    check_spec = spec.model_copy(update={"on_short": "nan", "cache": None})
    if full is not None and len(full) != n:
        raise ValueError(f"check_run_causality: full has {len(full)} rows but ohlcv has {n}")
    if full is not None and all(c in full.columns for c in columns):
        dtype = np.dtype(np.float32 if (full[columns[0]].dtype == np.float32) else np.float64)
        expected = {c: full[c].to_numpy() for c in columns}
        run_seconds = full.attrs.get("feature_seconds")
    else:
        dtype = np.dtype(np.float32 if spec.float32 else np.float64)
        expected, _ = compute_plan(bars, plan, check_spec, dtype)
        run_seconds = None
    budget = None  # prefixes given, or no run time to measure against: check them all
    if prefixes is None and run_seconds is not None:
        budget = max(BUDGET_SHARE * float(run_seconds), MIN_BUDGET_SECONDS)
    lengths = sorted(set(prefixes)) if prefixes is not None else _prefix_lengths(n, plan, bars)
    owners = plan.owners(spec)
    compared: set[str] = set()
    spent_on_prefixes, bars_done = 0.0, 0
    for k in lengths:
        if not 1 < k <= n:
            raise ValueError(f"check_run_causality: prefix length must be in 2..{n}, got {k}")
        if budget is not None and report["prefixes"]:
            estimate = spent_on_prefixes / bars_done * k
            if time.perf_counter() - started + estimate > budget:
                break
        tick = time.perf_counter()
        part, blanked = compute_plan(_prefix_bars(bars, k), plan, check_spec, dtype)
        failures = []
        for column in columns:
            if column in blanked:
                continue  # too short for the prefix: all-NaN by design, not a leak
            a, b = part[column], expected[column][:k]
            same = np.isclose(a, b, rtol=RTOL[dtype], atol=ATOL[dtype], equal_nan=True)
            if not same.all():
                failures.append((column, int(np.argmax(~same))))
            else:
                compared.add(column)
        if failures:
            column, row = failures[0]
            raise _leak(
                column, [c for c, _ in failures], owners[column].origin, symbol, k,
                bars.index[row], part[column][row], expected[column][row],
            )  # fmt: skip
        report["prefixes"].append(k)
        spent_on_prefixes += time.perf_counter() - tick
        bars_done += k
    report["unchecked"] = [c for c in columns if c not in compared]
    report["seconds"] = time.perf_counter() - started
    if report["unchecked"]:
        logger.warning(
            "causality: %d column(s) too short for every prefix checked, unchecked: %s",
            len(report["unchecked"]), ", ".join(report["unchecked"][:5]),
        )  # fmt: skip
    logger.info(
        "causality of %d unproven column(s)%s checked on prefixes %s in %.3f s",
        len(columns), f" ({symbol})" if symbol else "", report["prefixes"], report["seconds"],
    )  # fmt: skip
    return report


def record_check(frame: pd.DataFrame, report: Mapping[str, Any]) -> None:
    """Note a passed check on the frame it checked, so a second call on it is free."""
    frame.attrs["causality"] = {
        "checked": list(report["checked"]),
        "prefixes": list(report["prefixes"]),
        "rows": len(frame),
        "first": str(frame.index[0]) if len(frame) else "",
        "last": str(frame.index[-1]) if len(frame) else "",
    }


def _previous_check(
    full: pd.DataFrame | None, columns: list[str], index: pd.DatetimeIndex
) -> list[int] | None:
    """The prefixes of an earlier passed check of these columns on this very frame."""
    record = full.attrs.get("causality") if full is not None else None
    if not isinstance(record, Mapping):
        return None
    same_frame = (
        record.get("rows") == len(index) == len(full)
        and record.get("first") == str(index[0])
        and record.get("last") == str(index[-1])
    )
    if same_frame and set(columns) <= set(record.get("checked", ())):
        return list(record.get("prefixes", []))
    return None


def _prefix_lengths(n: int, plan: FeaturePlan, bars: Bars) -> list[int]:
    """Three lengths spread over the data and one near its end, each long enough for the
    checked features' warm-up (else their columns are all-NaN and prove nothing)."""
    if n < 3:
        return []
    step = bars.bar_delta.value if bars.bar_delta is not None else 1
    need = 0
    for items, timeframe in plan.plans:
        ratio = 1
        if timeframe:
            from trademl.data.timeframe import timeframe_to_timedelta

            ratio = max(1, timeframe_to_timedelta(timeframe).value // step)
        for p in items:
            need = max(need, (p.feature.warmup_bars(p.params) + 2) * ratio)
    floor = min(n - 1, need + 16)
    return sorted({max(k, floor) for k in (n // 4, n // 2, (3 * n) // 4, n - 1) if k >= 2})


def _prefix_bars(bars: Bars, k: int) -> Bars:
    """The first ``k`` bars (views, no copy), with event data cut at the k-th bar's close."""
    index = bars.index[:k]
    bar = bars.bar_delta.value if bars.bar_delta is not None else 0
    end = index[-1].value + bar
    extra = {}
    for key, value in bars.extra.items():
        extra[key] = value[:k] if key == "reference" else _cut_events(value, end)
    delta = infer_bar_delta(index) if k > 1 else None
    return Bars(index, {c: a[:k] for c, a in bars.columns.items()}, extra, bar_delta=delta)


def _when(stamp: pd.Timestamp) -> str:
    return stamp.strftime("%Y-%m-%d %H:%M:%S" if stamp.second else "%Y-%m-%d %H:%M")


def _number(value: float) -> str:
    return "NaN" if np.isnan(value) else f"{float(value):.6g}"


def _leak(column: str, columns: list[str], origin: str, symbol: str | None, k: int,
          stamp: pd.Timestamp, value: float, full_value: float) -> CausalityError:  # fmt: skip
    source = module_source(origin)
    fix = f"remove {source} from features.modules" if source else "leave it out of the spec"
    where = f" ({symbol})" if symbol else ""
    also = f" (also: {', '.join(columns[1:6])})" if len(columns) > 1 else ""
    message = (
        f"feature {column!r} is not causal{where}: with the first {k:,} bars, bar "
        f"{_when(stamp)} is {_number(value)} but {_number(full_value)} with all bars; "
        f"it reads the future{also}. Fix the feature or {fix}"
    )
    return CausalityError(
        message, column=column, columns=columns, symbol=symbol, timestamp=stamp, prefix=k
    )
