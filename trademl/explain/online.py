"""``explain_one(package, X_row)``: one prediction and why, in process, fast enough to serve.

Tree models go through the native TreeSHAP of their library (one call, no shap import);
other models need a ``background`` sample of training rows for the model-agnostic
explainer, which is far slower and meant for ad-hoc use. The HTTP service exposes this
function as ``POST /v1/explain``; the measured latency is part of the answer.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.explain._target import ExplainError, resolve_target
from trademl.explain.shap_values import shap_values

__all__ = ["explain_one"]


def _row(package, X_row) -> pd.DataFrame:
    names = package.feature_names
    if isinstance(X_row, Mapping):
        X_row = pd.DataFrame([dict(X_row)])
    elif isinstance(X_row, pd.Series):
        X_row = X_row.to_frame().T
    if not isinstance(X_row, pd.DataFrame):
        kind = type(X_row).__name__
        raise DataError(f"X_row: expected a mapping or a one-row DataFrame, got {kind}")
    if len(X_row) != 1:
        raise DataError(f"X_row: expected one row, got {len(X_row)}")
    missing = [c for c in names if c not in X_row.columns]
    if missing:
        raise DataError(f"X_row: missing feature(s) {missing[:5]} (the model needs {len(names)})")
    row = X_row[names]
    numbers = row.apply(pd.to_numeric, errors="coerce")
    bad = [c for c in names if numbers[c].isna().any() and not row[c].isna().all()]
    if bad:
        raise DataError(f"X_row: feature(s) {bad[:5]} are not numbers")
    row = numbers.astype(package.recipe.dtype)
    return row


def explain_one(
    package, X_row, *, symbol: str | None = None, top: int | None = None,
    background: pd.DataFrame | None = None,
) -> dict[str, Any]:  # fmt: skip
    """The package's prediction for one feature row and each feature's SHAP contribution.

    ``X_row``: ``{feature: value}``, a Series or a one-row DataFrame with the package's
    feature columns (extra keys are ignored). Returns ``model``, ``symbol``,
    ``prediction`` (y_pred), ``proba`` (P(up), classifiers), ``signal``, ``output``
    (what the contributions add up to: ``log_odds`` of up, or the ``raw`` prediction),
    ``base_value``, ``output_value`` (= base_value + sum of contributions),
    ``contributions`` ({feature: value}, largest |value| first, ``top`` of them),
    ``method`` and ``latency_ms`` (this call, in process).
    """
    started = time.perf_counter()
    row = _row(package, X_row)
    if symbol is None and "pooled" not in package.estimators:
        symbol = package.symbols[0]
    estimator = package._estimator(symbol)
    target = resolve_target(estimator, package.task)
    if target.family == "none" and background is None:
        raise ExplainError(
            f"model kind {target.kind!r}: no fast explainer; pass a background sample of "
            "training rows for the model-agnostic one"
        )
    values = shap_values(target, row, background=background)
    scored = package.score_rows(row, symbol).iloc[0]
    contributions = values.values.iloc[0]
    order = np.argsort(-np.abs(contributions.to_numpy()), kind="stable")
    if top is not None:
        order = order[:top]
    proba = float(scored["proba"])
    return {
        "model": package.name,
        "symbol": symbol,
        "prediction": float(scored["y_pred"]),
        "proba": proba if np.isfinite(proba) else None,
        "signal": int(scored["signal"]),
        "output": values.output,
        "base_value": float(values.base_values[0]),
        "output_value": float(values.outputs()[0]),
        "contributions": {str(contributions.index[i]): float(contributions.iloc[i]) for i in order},
        "method": values.method,
        "latency_ms": (time.perf_counter() - started) * 1000.0,
    }
