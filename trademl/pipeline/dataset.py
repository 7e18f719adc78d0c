"""``build_dataset(spec)``: candles -> the rows a run learns from, its holdout and its recipe.

data → user feature modules → features (checked for causality when any is unproven) →
labels → final holdout (by date or fraction, purged by label end) → kept columns decided
on development rows only → the fitted ``FeatureRecipe`` every later stage reuses.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trademl.errors import DataError, SpecError
from trademl.package.recipe import FeatureRecipe, kept_columns

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec

__all__ = [
    "DEFAULT_HOLDOUT",
    "Dataset",
    "build_dataset",
    "describe_warmup",
    "holdout_start",
    "load_frames",
    "warmup_lost",
]

logger = logging.getLogger(__name__)

DEFAULT_HOLDOUT = 0.2


@dataclass
class Dataset:
    """Every usable row of every symbol, sorted by timestamp then symbol, and its split."""

    X: pd.DataFrame  # index: timestamp (repeats across symbols)
    y: np.ndarray
    label_end: pd.Series  # timestamp of the last bar each label reads (same order)
    symbol: np.ndarray
    close: np.ndarray
    forward_return: np.ndarray  # simple return over the label horizon
    timeframe: str
    dev: np.ndarray  # row positions of the development part
    holdout: np.ndarray  # row positions of the final holdout
    cut: pd.Timestamp  # first holdout timestamp
    recipe: FeatureRecipe
    frames: dict[str, pd.DataFrame]
    # what the rows were made from: data content and feature code, for study keys
    fingerprint: str = ""
    timings: dict[str, float] = field(default_factory=dict)
    # per symbol: leading bars lost before every kept feature is known (see warmup_lost)
    warmup: dict[str, dict] = field(default_factory=dict)

    @property
    def symbols(self) -> list[str]:
        return list(self.frames)


# ---- data ------------------------------------------------------------------------------
def data_base_dir(spec: ExperimentSpec, base_dir: Path | None) -> Path | None:
    """The spec file's folder if the relative data paths exist there, else the cwd."""
    if base_dir is None:
        return None
    sources = [spec.data.path] if spec.data.path else list((spec.data.symbols or {}).values())
    relative = [s for s in sources if s and not Path(s).expanduser().is_absolute()]
    found_beside_spec = any((base_dir / s).exists() for s in relative)
    if relative and not found_beside_spec and all(Path(s).exists() for s in relative):
        return None
    return base_dir


def load_frames(spec: ExperimentSpec, base_dir: Path | None = None) -> dict[str, pd.DataFrame]:
    """The spec's candles per symbol, validated (exchange gaps are kept, with a warning)."""
    from trademl.data.dataset import load_data
    from trademl.data.validation import find_problems, validate_ohlcv

    frames = load_data(spec.data, base_dir=data_base_dir(spec, base_dir))
    for symbol, frame in frames.items():
        problems = find_problems(frame, spec.data.timeframe)
        kinds = {p["kind"] for p in problems}
        if kinds - {"gaps"}:
            validate_ohlcv(frame, spec.data.timeframe)  # raises, naming rows and timestamps
        if "gaps" in kinds:
            # real exchange outages: features and labels work by bar position, so they stay
            gap = next(p for p in problems if p["kind"] == "gaps")
            logger.warning("%s: %s (kept as they are)", symbol, gap["message"])
        _refuse_constant_prices(spec, symbol, frame)
    _check_lengths(spec, frames)
    return frames


def _refuse_constant_prices(spec: ExperimentSpec, symbol: str, frame: pd.DataFrame) -> None:
    """Flat prices give one label class and all-NaN features: fail here, naming the data,
    not inside a tuning trial."""
    close = frame["close"]
    if len(close) and close.nunique(dropna=True) <= 1:
        source = spec.data.path or spec.data.sample or symbol
        raise DataError(
            f"{source}: {symbol} close is constant ({close.iloc[0]:g}) over all {len(close):,} "
            "bars; there is nothing to learn from flat prices"
        )


def holdout_start(spec: ExperimentSpec) -> pd.Timestamp | None:
    start = spec.validation.holdout_start
    if start is None:
        return None
    stamp = pd.Timestamp(start)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _check_lengths(spec: ExperimentSpec, frames: dict[str, pd.DataFrame]) -> None:
    h = spec.labels.horizon
    n_splits = spec.validation.n_splits
    start = holdout_start(spec)
    for symbol, frame in frames.items():
        n = len(frame)
        if h >= n:
            raise SpecError(
                f"labels.horizon={h} bars is longer than the data: {symbol} has {n} bars"
            )
        if start is not None and not frame.index[0] < start <= frame.index[-1]:
            raise SpecError(
                f"validation.holdout_start={start:%Y-%m-%d %H:%M} is outside the data: "
                f"{symbol} covers {frame.index[0]:%Y-%m-%d %H:%M} -> {frame.index[-1]:%Y-%m-%d %H:%M}"
            )
        needed = max(300, 4 * (h + spec.validation.embargo) * (n_splits + 1))
        if n < needed:
            raise SpecError(
                f"{symbol} has {n} bars, too few for labels.horizon={h} with "
                f"validation.n_splits={n_splits} (need at least {needed})"
            )


def _fingerprint(frames: dict[str, pd.DataFrame], recipe: FeatureRecipe) -> str:
    """SHA-256 over the candles' content and the code that turns them into features."""
    from trademl import __version__

    digest = hashlib.sha256(__version__.encode())
    for symbol, frame in frames.items():
        digest.update(symbol.encode())
        digest.update(pd.util.hash_pandas_object(frame, index=True).to_numpy().tobytes())
    features_dir = Path(__file__).resolve().parent.parent / "features"
    for path in sorted(features_dir.rglob("*.py")):
        digest.update(path.read_bytes())
    for module_hash, _ in recipe.modules.values():
        digest.update(module_hash.encode())
    return digest.hexdigest()


# ---- features and labels ---------------------------------------------------------------
def _raw_features(spec, recipe: FeatureRecipe, symbol: str, frame: pd.DataFrame, timings):
    from trademl.features import check_run_causality

    started = time.perf_counter()
    features = recipe.raw_features(frame)
    timings["features"] = timings.get("features", 0.0) + time.perf_counter() - started
    started = time.perf_counter()
    check_run_causality(frame, spec.features, full=features, symbol=symbol)
    timings["causality"] = timings.get("causality", 0.0) + time.perf_counter() - started
    return features


def _label_table(spec, frame: pd.DataFrame, symbol: str) -> pd.DataFrame:
    from trademl.labels import make_labels

    labels = make_labels(frame, spec.labels)
    close = frame["close"].astype(float)
    return pd.DataFrame(
        {
            "y": labels.values,
            "end": labels.end,
            "close": close,
            "forward": close.shift(-spec.labels.horizon) / close - 1.0,
            "symbol": symbol,
        },
        index=frame.index,
    )


def _split_cut(spec, stamps: pd.DatetimeIndex) -> tuple[pd.Timestamp, str]:
    start = holdout_start(spec)
    if start is not None:
        later = stamps[stamps >= start]
        return (later.min() if len(later) else stamps.max()), (
            f"validation.holdout_start={start:%Y-%m-%d %H:%M}"
        )
    fraction = spec.validation.holdout_fraction
    if fraction is None:
        fraction = DEFAULT_HOLDOUT
    return stamps[int(np.floor(len(stamps) * (1 - fraction)))], (
        f"validation.holdout_fraction={fraction}"
    )


def warmup_lost(features: pd.DataFrame) -> dict:
    """Leading bars of one symbol's features before every column is known: ``{bars, of,
    feature, next_feature, next_bars}`` (the longest warm-up and the runner-up)."""
    known = features.notna().to_numpy()
    n = len(features)
    first = np.where(known.any(axis=0), known.argmax(axis=0), n)
    order = np.argsort(first)[::-1]
    out = {"bars": int(first[order[0]]) if n else 0, "of": n, "feature": "", "next_feature": ""}
    out["feature"] = str(features.columns[order[0]]) if len(order) else ""
    if len(order) > 1:
        out["next_feature"] = str(features.columns[order[1]])
    out["next_bars"] = int(first[order[1]]) if len(order) > 1 else 0
    return out


def describe_warmup(lost: dict) -> str:
    """``"2,001 of 17,530 bars (11.4%) lost to the warm-up of garch_…; next longest …"``."""
    share = lost["bars"] / lost["of"] if lost["of"] else 0.0
    text = f"{lost['bars']:,} of {lost['of']:,} bars ({share:.1%}) lost to the warm-up"
    if lost["bars"]:
        text += f" of {lost['feature']}"
        if lost["next_feature"]:
            text += f"; next longest {lost['next_feature']} ({lost['next_bars']:,} bars)"
    return text


def build_dataset(
    spec: ExperimentSpec,
    *,
    base_dir: str | Path | None = None,
    frames: dict[str, pd.DataFrame] | None = None,
) -> Dataset:
    """Rows, holdout and fitted feature recipe of ``spec`` (candles loaded unless given).

    Relative paths (data, ``features.modules``) resolve against ``base_dir`` (the spec
    file's folder), then the working directory.
    """
    from trademl.data.timeframe import infer_timeframe

    base = Path(base_dir) if base_dir is not None else None
    frames = load_frames(spec, base) if frames is None else frames
    modules = list(getattr(spec.features, "modules", []) or [])
    feature_spec = spec.features.model_dump(mode="json", exclude={"modules"})
    recipe = FeatureRecipe(
        feature_spec=feature_spec,
        columns=[],
        dtype="float32" if spec.features.float32 else "float64",
        symbols=list(frames),
        one_hot_symbols=len(frames) > 1 and spec.model.multi_symbol == "pooled",
        modules=FeatureRecipe.import_modules(modules, base),
    )
    timings: dict[str, float] = {}
    raw = {s: _raw_features(spec, recipe, s, f, timings) for s, f in frames.items()}
    meta = pd.concat([_label_table(spec, f, s) for s, f in frames.items()])
    order = np.lexsort((meta["symbol"].to_numpy(dtype=str), meta.index.asi8))
    meta = meta.iloc[order]
    stacked = pd.concat(list(raw.values())).iloc[order]

    known = (meta["y"].notna() & meta["forward"].notna()).to_numpy()
    if not known.any():
        raise DataError("no row has a known label; check labels.horizon against the data")
    times = meta.index
    cut, setting = _split_cut(spec, times[known].unique())
    ends = pd.DatetimeIndex(meta["end"])
    before = known & (times < cut) & (ends < cut)  # a label may not read the holdout
    recipe.columns = kept_columns(stacked, np.flatnonzero(before))
    dropped = sorted(set(stacked.columns) - set(recipe.columns))
    if dropped:
        logger.info(
            "dropped %d mostly-missing feature(s) (share measured on development rows): %s",
            len(dropped),
            dropped[:10],
        )
    if not recipe.columns:
        raise DataError("every feature is missing on most development rows; check features")
    parts = [recipe.select(raw[s], s) for s in frames]
    warmup = {s: warmup_lost(part) for s, part in zip(frames, parts, strict=True)}
    for symbol, lost in warmup.items():
        if lost["bars"] > 0.05 * lost["of"]:
            logger.warning("%s: %s", symbol, describe_warmup(lost))
    X = (pd.concat(parts) if len(parts) > 1 else parts[0]).iloc[order]
    usable = known & X.notna().all(axis=1).to_numpy()
    if not usable.any():
        raise DataError("no row has every feature and a known label; check features and horizon")
    X, meta = X.loc[usable], meta.loc[usable]
    times, ends = X.index, pd.DatetimeIndex(meta["end"])
    dev = np.flatnonzero((times < cut) & (ends < cut))
    holdout = np.flatnonzero(times >= cut)
    if len(holdout) < 50 or len(dev) < 200:
        raise SpecError(
            f"{setting} leaves {len(dev)} development and "
            f"{len(holdout)} holdout rows; use more data or another holdout"
        )
    y = meta["y"].to_numpy()
    if spec.model.task == "classification":
        y = y.astype(np.int64)
    timeframe = spec.data.timeframe or infer_timeframe(next(iter(frames.values())).index)
    return Dataset(
        X=X,
        y=y,
        label_end=pd.Series(ends, index=X.index),
        symbol=meta["symbol"].to_numpy().astype(str),
        close=meta["close"].to_numpy(float),
        forward_return=meta["forward"].to_numpy(float),
        timeframe=timeframe,
        dev=dev,
        holdout=holdout,
        cut=cut,
        recipe=recipe,
        frames=frames,
        fingerprint=_fingerprint(frames, recipe),
        timings=timings,
        warmup=warmup,
    )
