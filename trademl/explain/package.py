"""A whole explanation of a model package on its own data: global SHAP importance on the
holdout, interactions, a surrogate tree with its fidelity, one prediction explained
(SHAP waterfall and LIME) and feature impact per month against the training rows.

Works for any registered model: everything comes from the package (its feature recipe
rebuilds the training columns from raw candles, its estimator is explained) and the
candles; rows before ``package.trained_until`` (the first holdout bar) are the training
side (background and reference), rows from it on are the holdout.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trademl.explain._target import ExplainError, resolve_target
from trademl.explain.cache import ExplanationCache, data_hash
from trademl.explain.impact import DEFAULT_THRESHOLD, impact_over_time, impact_shares
from trademl.explain.lime_tabular import LimeExplanation, lime_explanation
from trademl.explain.shap_values import (
    MIN_BACKGROUND,
    Method,
    ShapValues,
    check_background,
    interaction_values,
    shap_values,
)
from trademl.explain.surrogate import Surrogate, fit_surrogate

__all__ = ["Explanation", "explain_package", "feature_rows"]

logger = logging.getLogger(__name__)

# rows a model-agnostic explainer is run on (each costs ~2 x features model calls)
_AGNOSTIC_ROWS = 300


@dataclass
class Explanation:
    model: str  # "name/version" or "runs:/ID"
    method: str
    output: str
    shap: ShapValues  # holdout rows
    data: pd.DataFrame  # the holdout feature rows explained
    reference: ShapValues  # a sample of training rows
    importance: pd.DataFrame  # feature, mean_abs_shap, share, reference_share
    interactions: pd.DataFrame | None
    surrogate: Surrogate
    at: pd.Timestamp
    symbol: str
    local: pd.DataFrame  # feature, value, shap: the prediction at ``at``
    local_values: ShapValues  # the same, as SHAP values (for the waterfall plot)
    local_data: pd.DataFrame  # the one feature row
    local_base: float
    local_output: float
    lime: LimeExplanation
    impact: pd.DataFrame
    data_hash: str
    cached: bool
    notes: list[str] = field(default_factory=list)

    def summary(self) -> dict[str, Any]:
        return {
            "model": self.model, "method": self.method, "output": self.output,
            "rows": len(self.shap.values), "at": self.at.isoformat(), "symbol": self.symbol,
            "top_features": self.importance.head(10).to_dict(orient="records"),
            "surrogate": self.surrogate.to_dict(), "lime_score": self.lime.score,
            "impact_periods": int(self.impact["period"].nunique()),
            "impact_drifted": int(self.impact["drifted"].sum()),
            "data_hash": self.data_hash, "cached": self.cached, "notes": self.notes,
        }  # fmt: skip


def feature_rows(package, frames: Mapping[str, pd.DataFrame]) -> dict[str, pd.DataFrame]:
    """The package's complete feature rows per symbol (warm-up rows dropped)."""
    out = {}
    for symbol, frame in frames.items():
        X = package.features_frame(frame, symbol)
        X = X.loc[X.notna().all(axis=1)]
        if X.empty:
            raise ExplainError(f"{symbol}: no bar has every feature; give more history")
        out[symbol] = X
    return out


def _cut(package) -> pd.Timestamp | None:
    if not package.trained_until:
        return None
    stamp = pd.Timestamp(package.trained_until)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _spread(frame: pd.DataFrame, n: int) -> pd.DataFrame:
    """``n`` rows evenly spread over ``frame`` (all of it when shorter): deterministic."""
    if len(frame) <= n:
        return frame
    return frame.iloc[np.linspace(0, len(frame) - 1, n).round().astype(int)]


def _locate(at, X: pd.DataFrame, symbol: str) -> int:
    if at is None:
        return len(X) - 1
    stamp = pd.Timestamp(at)
    stamp = stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")
    first, last = X.index[0], X.index[-1]
    if not first <= stamp <= last:
        raise ExplainError(f"--at {at}: outside the explained data of {symbol} ({first} to {last})")
    return int(X.index.searchsorted(stamp, side="right") - 1)  # the bar at or before it


def explain_package(
    package, frames: Mapping[str, pd.DataFrame], *, model_id: str | None = None,
    at: Any = None, symbol: str | None = None, method: Method = "auto",
    background: int = 500, max_rows: int | None = None, surrogate_depth: int = 3,
    threshold: float = DEFAULT_THRESHOLD, interactions: bool = True, seed: int = 0,
    cache: ExplanationCache | None = None,
) -> Explanation:  # fmt: skip
    """Explain ``package`` on ``frames`` ({symbol: candles}); see the module docstring.

    ``background``: training rows used as the background/reference sample (at least
    ``MIN_BACKGROUND``); ``max_rows``: holdout rows explained (evenly spread; default
    all for trees, 300 for the model-agnostic explainer); ``at``: the bar explained
    locally (default the last holdout bar of ``symbol``).
    """
    if background < MIN_BACKGROUND:
        raise ExplainError(f"background sample: {background=} rows, need at least {MIN_BACKGROUND}")
    rows = feature_rows(package, frames)
    symbol = symbol or next(iter(rows))
    if symbol not in rows:
        raise ExplainError(f"symbol {symbol!r}: not in the data ({sorted(rows)})")
    cut = _cut(package)
    # one explanation per estimator (pooled: one for all symbols)
    estimator_symbols = [symbol] if "pooled" not in package.estimators else list(rows)
    target = resolve_target(package._estimator(symbol), package.task)
    train = pd.concat([rows[s].loc[rows[s].index < cut] if cut else rows[s].iloc[:0]
                       for s in estimator_symbols])  # fmt: skip
    hold = pd.concat([rows[s].loc[rows[s].index >= cut] if cut else rows[s]
                      for s in estimator_symbols]).sort_index(kind="stable")  # fmt: skip
    if hold.empty:
        raise ExplainError(f"no holdout rows on or after {cut} in the data given")
    check_background(train)  # names the count when the history is too short
    sample = _spread(train, background)
    agnostic = method == "permutation" or (method == "auto" and target.family == "none")
    limit = max_rows or (_AGNOSTIC_ROWS if agnostic else None)
    explained = _spread(hold, limit) if limit else hold

    model_id = model_id or package.name or "model"
    cache = cache or ExplanationCache()
    cached = True
    computed = {}
    # a model-agnostic explanation also depends on its background sample and seed
    settings = f"{method}|{seed}|{data_hash(sample)}" if agnostic else method
    for name, X in (("holdout", explained), ("reference", sample)):
        key = cache.key(model_id, settings, X)
        values = cache.get(key)
        if values is None:
            cached = False
            values = shap_values(target, X, background=sample, method=method, seed=seed)
            cache.put(key, values)
        computed[name] = values
    holdout, reference = computed["holdout"], computed["reference"]

    shares, ref_shares = impact_shares(holdout), impact_shares(reference)
    importance = pd.DataFrame({
        "feature": holdout.values.columns,
        "mean_abs_shap": holdout.values.abs().mean().to_numpy(),
        "share": shares.to_numpy(),
        "reference_share": ref_shares.reindex(holdout.values.columns).to_numpy(),
    }).sort_values("mean_abs_shap", ascending=False, kind="stable").reset_index(drop=True)  # fmt: skip

    pairs = None
    notes: list[str] = []
    if interactions and target.family != "none":
        pairs = interaction_values(target, _spread(explained, 300)).top_pairs(10)
    elif interactions:
        notes.append(f"interactions need a tree model; {target.kind} has none")

    half = len(hold) // 2
    surrogate = fit_surrogate(
        target, pd.concat([sample, hold.iloc[:half]]), hold.iloc[half:], max_depth=surrogate_depth,
        seed=seed,
    )  # fmt: skip

    position = _locate(at, rows[symbol], symbol)
    stamp = rows[symbol].index[position]
    row = rows[symbol].iloc[[position]]
    one = shap_values(target, row, background=sample, method=method, seed=seed)
    local = pd.DataFrame({
        "feature": row.columns, "value": row.to_numpy(dtype=float)[0],
        "shap": one.values.to_numpy()[0],
    })  # fmt: skip
    local = local.reindex(local["shap"].abs().sort_values(ascending=False).index).reset_index(
        drop=True
    )
    if cut is not None and stamp < cut:
        notes.append(f"--at {at} is before the holdout (a training bar)")
    lime = lime_explanation(target, row, sample, seed=seed)
    impact = impact_over_time(holdout, reference=reference, threshold=threshold)
    return Explanation(
        model=model_id, method=holdout.method, output=holdout.output, shap=holdout,
        data=explained, reference=reference, importance=importance, interactions=pairs,
        surrogate=surrogate, at=stamp, symbol=symbol, local=local, local_values=one,
        local_data=row,
        local_base=float(one.base_values[0]), local_output=float(one.outputs()[0]), lime=lime,
        impact=impact, data_hash=data_hash(explained), cached=cached, notes=notes,
    )  # fmt: skip


def served_impact(
    package, predictions: pd.DataFrame, *, reference: ShapValues, symbol: str | None = None,
    threshold: float = DEFAULT_THRESHOLD,
) -> pd.DataFrame:  # fmt: skip
    """Feature impact per month of served predictions (the monitoring store's ``features``
    JSON per prediction, as ``MonitorStore.predictions`` returns them)."""
    from io import StringIO

    texts = predictions["features"].dropna() if "features" in predictions else pd.Series()
    if texts.empty:
        raise ExplainError(
            "served predictions: none stored with their features (log_predictions(features=...))"
        )
    X = pd.read_json(StringIO("\n".join(texts)), lines=True)
    X.index = texts.index
    missing = [c for c in package.feature_names if c not in X.columns]
    if missing:
        raise ExplainError(f"served predictions: stored features lack {missing[:5]}")
    X = X[package.feature_names].astype(package.recipe.dtype)
    X = X.loc[X.notna().all(axis=1)]
    if symbol is None and "pooled" not in package.estimators:
        symbol = package.symbols[0]
    target = resolve_target(package._estimator(symbol), package.task)
    values = shap_values(target, X, background=None, method="tree")
    return impact_over_time(values, reference=reference, threshold=threshold)
