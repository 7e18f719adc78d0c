"""``generate_features``: resolve a spec to registered features, compute them on the base and
higher timeframes, add lags and rolling z-scores, and return one frame aligned to the input.

The output frame is built once from the computed arrays without copying them: inserting
hundreds of columns into a DataFrame one at a time, or stacking them into one block,
would cost more than computing them.
"""

from __future__ import annotations

import fnmatch
import functools
import logging
import os
import time
import warnings
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from pydantic import ValidationError

from trademl.config.features import FeatureSpec, IndicatorSpec
from trademl.errors import DataError, SpecError
from trademl.features._bars import Bars, bars_from_frame, resample_bars
from trademl.features._cache import FeatureCache
from trademl.features._registry import Feature, FeatureError, get_feature, registry

__all__ = ["FeaturePlan", "generate_features", "load_feature_spec", "make_plan", "plan_features"]

logger = logging.getLogger(__name__)

EVENT_INPUTS = ("trades", "book", "l2", "reference")


@dataclass(frozen=True)
class Planned:
    """One feature with one parameter set, on one timeframe (``prefix`` "" for the base)."""

    feature: Feature
    params: dict[str, Any]
    prefix: str

    @functools.cached_property
    def columns(self) -> list[str]:
        return [self.prefix + c for c in self.feature.columns(self.params)]

    @functools.cached_property
    def label(self) -> str:
        return self.prefix + self.feature.stem(self.params)


def load_feature_spec(spec: Any) -> FeatureSpec:
    """A FeatureSpec from None (the full set), a dict, a FeatureSpec, or a YAML file holding
    either the ``features:`` section alone or a whole experiment spec."""
    if spec is None:
        return FeatureSpec()
    if isinstance(spec, FeatureSpec):
        return spec
    where = "features"
    if isinstance(spec, str | Path):
        path = Path(spec)
        from trademl.config import read_yaml

        spec = read_yaml(path, what="feature spec") or {}
        where = f"{path}: features"
        if isinstance(spec, dict) and isinstance(spec.get("features"), dict):
            spec = spec["features"]
    if not isinstance(spec, dict):
        raise SpecError(f"{where}: expected a mapping, got {type(spec).__name__}")
    try:
        return FeatureSpec.model_validate(spec)
    except ValidationError as exc:
        from trademl.config import format_validation_error

        problems = format_validation_error(exc, "features")
        joiner = " " if "\n" not in problems else "\n"
        raise SpecError(f"{where}: invalid spec:{joiner}{problems}") from None


def _excluded(column: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(column, p) for p in patterns)


def plan_features(
    spec: FeatureSpec,
    available: set[str],
    *,
    categories: list[str] | None = None,
    indicators: list[str | IndicatorSpec] | None = None,
    prefix: str = "",
) -> tuple[list[Planned], list[str]]:
    """The features to compute, and the labels of those skipped for lack of volume.

    Features selected by category that need data not supplied (trades, order book, a
    reference symbol) are left out quietly; naming one explicitly without its data is an
    error that says which argument to pass.
    """
    categories = categories if categories is not None else spec.categories
    indicators = indicators if indicators is not None else spec.indicators
    chosen: list[tuple[Feature, list[dict[str, Any]], bool]] = []
    if indicators is not None:
        for item in indicators:
            entry = IndicatorSpec(name=item) if isinstance(item, str) else item
            feat = get_feature(entry.name)
            chosen.append((feat, feat.param_sets(entry.params or None), True))
    else:
        wanted = set(categories) if categories is not None else None
        for feat in registry().values():
            if wanted is None or feat.category in wanted:
                chosen.append((feat, feat.param_sets(), False))
    planned: list[Planned] = []
    no_volume: list[str] = []
    for feat, param_sets, explicit in chosen:
        missing = [i for i in feat.inputs if i in EVENT_INPUTS and i not in available]
        if missing:
            if explicit:
                raise FeatureError(
                    f"feature {feat.name!r} needs {missing[0]} data: pass "
                    f"generate_features(ohlcv, {missing[0]}=...)"
                )
            continue
        for params in param_sets:
            item = Planned(feat, params, prefix)
            if all(_excluded(c, spec.exclude) for c in item.columns):
                continue
            if "volume" in feat.inputs and "volume" not in available:
                no_volume.append(item.label)
                continue
            planned.append(item)
    return planned, no_volume


def prepare_extra(bars_index: pd.DatetimeIndex, data: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(data) - set(EVENT_INPUTS))
    if unknown:
        raise FeatureError(
            f"generate_features: unknown data argument {unknown[0]!r} "
            f"(accepted: {', '.join(EVENT_INPUTS)})"
        )
    extra = {k: v for k, v in data.items() if v is not None}
    if "reference" in extra:
        extra["reference"] = _align_reference(bars_index, extra["reference"])
    return extra


def _align_reference(index: pd.DatetimeIndex, reference: Any) -> np.ndarray:
    """The reference close on the same bar timestamps (NaN where it has no bar): no
    forward fill across timeframes, which could pull in a bar that has not closed yet."""
    if isinstance(reference, pd.DataFrame):
        if "close" not in reference.columns:
            raise DataError("reference: a DataFrame reference needs a 'close' column")
        reference = reference["close"]
    if not isinstance(reference, pd.Series) or not isinstance(reference.index, pd.DatetimeIndex):
        raise DataError("reference: expected a Series (or OHLCV frame) indexed by timestamp")
    ref_index = reference.index
    ref_index = (
        ref_index.tz_localize("UTC") if ref_index.tz is None else ref_index.tz_convert("UTC")
    )
    aligned = pd.Series(reference.to_numpy(np.float64), index=ref_index.as_unit("ns"))
    aligned = aligned[~aligned.index.duplicated(keep="last")].reindex(index)
    if aligned.isna().all():
        raise DataError("reference: no timestamp in common with the OHLCV index")
    return aligned.to_numpy(np.float64)


def _check_warmup(items: list[Planned], n_bars: int, on_short: str, unit: str) -> set[str]:
    """Labels of features too long for the data; raise listing them unless on_short='nan'."""
    short = [(p.label, p.feature.warmup_bars(p.params) + 1) for p in items]
    short = [(label, need) for label, need in short if need > n_bars]
    if short and on_short == "raise":
        listed = ", ".join(f"{label} needs {need}" for label, need in short[:8])
        more = f" and {len(short) - 8} more" if len(short) > 8 else ""
        raise FeatureError(
            f"too few {unit} for {len(short)} feature(s): have {n_bars}; {listed}{more}. "
            "Use more data, shorter periods, or on_short='nan' for all-NaN columns"
        )
    return {label for label, _ in short}


def _compute(items: list[Planned], bars: Bars, too_short: set[str], n_jobs: int | None,
             wanted: set[str]) -> list[list[np.ndarray]]:  # fmt: skip
    """Every planned feature's outputs, in plan order, on a few threads: TA-Lib, numpy and
    pandas' rolling kernels release the GIL, so a 2-core machine computes two at once."""

    def one(item: Planned) -> list[np.ndarray]:
        if item.label in too_short:
            return [np.full(len(bars), np.nan) for _ in item.feature.outputs]
        columns = item.feature.columns(item.params)
        return item.feature.run(
            bars, item.params, {c for c in columns if item.prefix + c in wanted}
        )

    workers = min(n_jobs or os.cpu_count() or 1, len(items), 8)
    if workers <= 1:
        return [one(item) for item in items]
    # the slowest (the GARCH refits, the volume profile) start first so they overlap the rest
    order = sorted(range(len(items)), key=lambda i: -_SLOW.get(items[i].feature.name, 0))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = {i: pool.submit(one, items[i]) for i in order}
        return [futures[i].result() for i in range(len(items))]


_SLOW = {"garch": 3, "vprofile": 2, "volpct": 1, "hurst": 1}


@dataclass(frozen=True)
class FeaturePlan:
    """Every column a spec computes on some data: the planned features per timeframe, then
    the lag and z-score columns derived from them, in output order."""

    plans: list[tuple[list[Planned], str]]
    base_names: list[str]
    lag_columns: list[tuple[str, str, int]]
    norm_source: list[str]
    names: list[str]

    def items(self) -> list[Planned]:
        return [p for items, _ in self.plans for p in items]

    def restrict(self, keep: Callable[[Planned], bool], spec: FeatureSpec) -> FeaturePlan:
        """Only the planned features ``keep`` accepts, and the columns derived from them."""
        plans = [([p for p in items if keep(p)], tf) for items, tf in self.plans]
        # a higher timeframe with nothing left is not resampled at all
        plans = [(items, tf) for items, tf in plans if items or not tf]
        kept = {c for items, _ in plans for p in items for c in p.columns}
        base = [c for c in self.base_names if c in kept]
        lags = [lag for lag in self.lag_columns if lag[1] in kept]
        derived = set(base).union(name for name, _, _ in lags)
        norm = [c for c in self.norm_source if c in derived]
        return FeaturePlan(plans, base, lags, norm, _output_names(base, lags, norm, spec))

    def owners(self, spec: FeatureSpec) -> dict[str, Feature]:
        """The registered feature each column comes from (a lag or z-score: its source's)."""
        owner = {c: p.feature for p in self.items() for c in p.columns}
        for name, source, _ in self.lag_columns:
            owner[name] = owner[source]
        if spec.normalise is not None:
            for source in self.norm_source:
                owner[f"{source}_z{spec.normalise.window}"] = owner[source]
        return owner


def _output_names(base: list[str], lags: list[tuple[str, str, int]], norm: list[str],
                  spec: FeatureSpec) -> list[str]:  # fmt: skip
    names = base + [n for n, _, _ in lags]
    if spec.normalise is not None and spec.normalise.mode == "append":
        names += [f"{c}_z{spec.normalise.window}" for c in norm]
    return names


def make_plan(spec: FeatureSpec, available: set[str]) -> tuple[FeaturePlan, list[str]]:
    """The spec resolved against the inputs at hand; and the labels skipped for no volume."""
    base_plan, no_volume = plan_features(spec, available)
    plans: list[tuple[list[Planned], str]] = [(base_plan, "")]
    for tf in spec.timeframes:
        items, skipped = plan_features(
            spec, available, categories=tf.categories, indicators=tf.indicators,
            prefix=f"{tf.timeframe}_",
        )  # fmt: skip
        no_volume += skipped
        plans.append((items, tf.timeframe))
    base_names = [c for items, _ in plans for p in items for c in p.columns]
    base_names = [c for c in base_names if not _excluded(c, spec.exclude)]
    lag_columns = _lag_columns(base_names, spec.lags)
    norm_source = _normalise_columns(base_names + [n for n, _, _ in lag_columns], spec)
    names = _output_names(base_names, lag_columns, norm_source, spec)
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise FeatureError(f"column {dup!r} would be produced twice: check the spec's indicators")
    return FeaturePlan(plans, base_names, lag_columns, norm_source, names), no_volume


def compute_plan(bars: Bars, plan: FeaturePlan, spec: FeatureSpec,
                 dtype: Any) -> tuple[dict[str, np.ndarray], list[str]]:  # fmt: skip
    """Every column of ``plan`` on ``bars``; and the columns left all-NaN as too short."""
    n = len(bars)
    wanted = set(plan.names)
    columns: dict[str, np.ndarray] = {}
    seen: set[int] = set()
    blanked: list[str] = []
    for items, timeframe in plan.plans:
        plan_bars = bars
        if timeframe:
            if bars.bar_delta is None:
                raise DataError("ohlcv: need at least 2 bars to join a higher timeframe")
            plan_bars, known_at = resample_bars(bars, timeframe)
            # a base row stamped t is known at t + bar; it may use a higher bar once closed
            row_known = bars.index.asi8 + bars.bar_delta.value
            source_row = np.searchsorted(known_at, row_known, side="right") - 1
            unit = f"{timeframe} bars"
        else:
            source_row, unit = None, "bars"
        too_short = _check_warmup(items, len(plan_bars), spec.on_short, unit)
        blanked += [c for item in items if item.label in too_short for c in item.columns]
        results = _compute(items, plan_bars, too_short, spec.n_jobs, wanted)
        for item, arrays in zip(items, results, strict=True):
            for column, array in zip(item.columns, arrays, strict=True):
                if column not in wanted:
                    continue  # excluded by a glob
                if source_row is not None:
                    array = np.where(source_row >= 0, array[np.maximum(source_row, 0)], np.nan)
                array = array.astype(dtype, copy=False)
                # the frame owns its columns: never two views of one array, nor the input's
                if id(array) in seen or any(
                    np.may_share_memory(array, source) for source in bars.columns.values()
                ):
                    array = array.copy()
                seen.add(id(array))
                columns[column] = array

    for name, source, lag in plan.lag_columns:
        lagged = np.empty(n, dtype=dtype)
        lagged[:lag] = np.nan
        lagged[lag:] = columns[source][: n - lag]
        columns[name] = lagged
    if spec.normalise is not None and plan.norm_source:
        window = spec.normalise.window
        zscores = rolling_zscore(np.column_stack([columns[c] for c in plan.norm_source]), window)
        zscores = np.asfortranarray(zscores, dtype=dtype)
        for i, source in enumerate(plan.norm_source):
            target = f"{source}_z{window}" if spec.normalise.mode == "append" else source
            columns[target] = zscores[:, i]
    return columns, blanked


def generate_features(
    ohlcv: pd.DataFrame,
    spec: FeatureSpec | Mapping[str, Any] | str | Path | None = None,
    *,
    float32: bool = False,
    cache_dir: str | Path | None = None,
    check_causality: bool | None = None,
    **data: Any,
) -> pd.DataFrame:
    """Compute features on an OHLCV frame (UTC DatetimeIndex of bar open times).

    ``spec``: None for the full default set, or a FeatureSpec / dict / YAML path.
    ``data``: ``trades=``, ``book=``, ``l2=`` event frames (see trademl.features.orderbook)
    and ``reference=`` another symbol's close on the same bars (cross-asset features).
    Returns a frame with the input's index; row t uses bars <= t only.

    ``check_causality``: None (default) checks the features whose causality is not proven
    (yours: registered in a notebook or loaded from ``features.modules``) by recomputing
    them on prefixes of this data, and raises ``CausalityError`` naming the column and
    the bar where one reads a later bar; with trademl's own features only, it costs
    nothing. True checks every column, ours too (about 2.5 times the computation);
    False skips the check. See :func:`trademl.features.check_run_causality`.
    """
    spec = load_feature_spec(spec)
    float32 = float32 or spec.float32
    bars = bars_from_frame(ohlcv, on_nan=spec.on_nan)
    bars.extra = prepare_extra(bars.index, data)
    cache_location = cache_dir if cache_dir is not None else spec.cache
    cache = FeatureCache(cache_location) if cache_location else None

    plan, no_volume = make_plan(spec, set(bars.columns) | set(bars.extra))
    if no_volume:
        message = (
            f"no volume column: skipped {len(no_volume)} volume feature(s): {', '.join(no_volume)}"
        )
        warnings.warn(message, UserWarning, stacklevel=2)
        logger.warning(message)
    if check_causality is None:
        check_causality = False if all(p.feature.proven for p in plan.items()) else None

    key = frame = None
    if cache is not None:
        key = cache.key(bars, plan.items(), spec, float32)
        frame = cache.load(key)
        if frame is not None:
            logger.info("features loaded from cache %s", cache.path(key))
    if frame is None:
        started = time.perf_counter()
        columns, blanked = compute_plan(bars, plan, spec, np.float32 if float32 else np.float64)
        # one block per column, no copy: stacking 250 columns into one 2-D block first would
        # touch as much fresh memory again as computing them did
        frame = pd.DataFrame(
            {name: columns[name] for name in plan.names},
            index=bars.index.rename("timestamp"),
            copy=False,
        )
        # with on_short="nan": the columns left all-NaN because the series is too short
        frame.attrs["too_short"] = blanked
        # what the causality check's time budget is measured against
        frame.attrs["feature_seconds"] = time.perf_counter() - started
    else:
        key = None  # loaded: nothing to save again

    if check_causality is not False:
        from trademl.features._causality import check_run_causality, record_check

        report = check_run_causality(
            ohlcv, spec, full=frame, include_proven=bool(check_causality), **data
        )
        record_check(frame, report)
    if cache is not None and key is not None:
        cache.save(key, frame)
    return frame


def _lag_columns(names: list[str], lags: Mapping[str, list[int]]) -> list[tuple[str, str, int]]:
    out = []
    for pattern, values in lags.items():
        matched = [c for c in names if fnmatch.fnmatchcase(c, pattern)]
        if not matched:
            raise FeatureError(f"lags: {pattern!r} matches no generated column")
        out += [(f"{c}_lag{k}", c, k) for c in matched for k in values]
    return out


def _normalise_columns(names: list[str], spec: FeatureSpec) -> list[str]:
    if spec.normalise is None:
        return []
    matched = [c for c in names if _excluded(c, spec.normalise.columns)]
    if not matched:
        raise FeatureError(f"normalise.columns {spec.normalise.columns} match no generated column")
    return matched


def rolling_zscore(values: np.ndarray, window: int) -> np.ndarray:
    """(x - trailing mean) / trailing sample std over `window` rows, per column; 0 when flat."""
    frame = pd.DataFrame(values)
    rolling = frame.rolling(window)
    mean = rolling.mean().to_numpy()
    std = rolling.std().to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        z = np.where(std > 0, (values - mean) / std, 0.0)
    z[np.isnan(std)] = np.nan
    return z
