"""``explain_one(package, X_row)``: one prediction and why, in process, fast enough to serve.

LightGBM and XGBoost models take one native TreeSHAP call on a NumPy row: the
contributions of every class add up to the class margins, from which P(up), the
predicted class and the signal follow exactly as ``ModelPackage.score_rows`` makes
them (a test compares the two on every holdout row) -- one model call instead of two,
and no pandas in the way. Other tree models go through ``shap``; other models need a
``background`` sample of training rows for the model-agnostic explainer, far slower and
meant for ad-hoc use. The HTTP service exposes this as ``POST /v1/explain``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.explain._target import ExplainError, Target, resolve_target
from trademl.explain.shap_values import _pick_class, _xgb_iterations, shap_values

__all__ = ["explain_one"]


def _values(package, X_row) -> np.ndarray:
    """The row as float64 in the package's column order; errors name the features."""
    names = package.feature_names
    if isinstance(X_row, pd.DataFrame):
        if len(X_row) != 1:
            raise DataError(f"X_row: expected one row, got {len(X_row)}")
        X_row = X_row.iloc[0]
    if isinstance(X_row, pd.Series):
        X_row = X_row.to_dict()
    if not isinstance(X_row, Mapping):
        kind = type(X_row).__name__
        raise DataError(f"X_row: expected a mapping or a one-row DataFrame, got {kind}")
    missing = [c for c in names if c not in X_row]
    if missing:
        raise DataError(f"X_row: missing feature(s) {missing[:5]} (the model needs {len(names)})")
    values, bad = np.empty(len(names)), []
    for i, name in enumerate(names):
        raw = X_row[name]
        try:
            values[i] = math.nan if raw is None else float(raw)
        except (TypeError, ValueError):
            bad.append(name)
    if bad:
        raise DataError(f"X_row: feature(s) {bad[:5]} are not numbers")
    # the recipe's dtype (float32 models see float32 values), computed in float64
    return values.astype(package.recipe.dtype).astype(float)[None, :]


def _native(target: Target, row: np.ndarray, names: list[str]) -> np.ndarray | None:
    """(1, K, F+1) contributions of every class (K = 1 for binary/regression), or None."""
    if target.family == "lightgbm":
        booster = target.native.booster_  # predicts at best_iteration, as the wrapper does
        # one row: a single thread (an OpenMP team costs more than the row, and on a busy
        # machine one descheduled worker stalls the call)
        raw = np.asarray(booster.predict(row, pred_contrib=True, num_threads=1), dtype=float)
    elif target.family == "xgboost":
        import xgboost as xgb

        raw = target.native.get_booster().predict(
            xgb.DMatrix(row, feature_names=names, missing=np.nan), pred_contribs=True,
            iteration_range=_xgb_iterations(target.native),
        )  # fmt: skip
        raw = np.asarray(raw, dtype=float)
    else:
        return None
    width = len(names) + 1
    return raw.reshape(1, -1, width)


def _scored(package, target: Target, margins: np.ndarray) -> tuple[float, float | None, int]:
    """(y_pred, P(up), signal) from the class margins, as ``score_rows`` makes them."""
    from trademl.models.signals import signal_from_predictions

    if target.task != "classification":
        prediction = float(margins[0])
        signal = signal_from_predictions(np.array([prediction]), position=_position(package))
        return prediction, None, int(signal[0])
    if len(margins) == 1:  # binary: the margin of the higher class
        p_high = 1.0 / (1.0 + math.exp(-margins[0]))
        proba = np.array([[1.0 - p_high, p_high]])
    else:
        shifted = np.exp(margins - margins.max())
        proba = (shifted / shifted.sum())[None, :]
    classes = target.model.classes_
    signal = signal_from_predictions(
        None, proba, classes, threshold=0.5 + float(package.backtest.get("threshold", 0.0)),
        position=_position(package),
    )  # fmt: skip
    y_pred = float(classes[int(np.argmax(proba[0]))])
    return y_pred, float(proba[0, target.up_index]), int(signal[0])


def _position(package) -> str:
    return "long_short" if package.backtest.get("allow_short", True) else "long_only"


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
    names = package.feature_names
    row = _values(package, X_row)
    if symbol is None and "pooled" not in package.estimators:
        symbol = package.symbols[0]
    target = resolve_target(package._estimator(symbol), package.task)
    contrib = _native(target, row, names)
    if contrib is not None:
        margins = contrib[0].sum(axis=1)  # one per class
        mine = _pick_class(contrib[0], len(names), target) if len(margins) > 1 else contrib[0, 0]
        mine = mine.reshape(-1)
        values, base = mine[:-1], float(mine[-1])
        prediction, proba, signal = _scored(package, target, margins)
        output = "log_odds" if target.task == "classification" else "raw"
        method = (
            f"{target.family}.{'pred_contrib' if target.family == 'lightgbm' else 'pred_contribs'}"
        )
    else:
        if target.family == "none" and background is None:
            raise ExplainError(
                f"model kind {target.kind!r}: no fast explainer; pass a background sample of "
                "training rows for the model-agnostic one"
            )
        frame = pd.DataFrame(row, columns=names).astype(package.recipe.dtype)
        explained = shap_values(target, frame, background=background)
        values, base = explained.values.to_numpy()[0], float(explained.base_values[0])
        scored = package.score_rows(frame, symbol).iloc[0]
        prediction, signal = float(scored["y_pred"]), int(scored["signal"])
        proba = float(scored["proba"]) if np.isfinite(scored["proba"]) else None
        output, method = explained.output, explained.method
    order = np.argsort(-np.abs(values), kind="stable")
    if top is not None:
        order = order[:top]
    return {
        "model": package.name,
        "symbol": symbol,
        "prediction": prediction,
        "proba": proba,
        "signal": signal,
        "output": output,
        "base_value": base,
        "output_value": base + float(values.sum()),
        "contributions": {names[i]: float(values[i]) for i in order},
        "method": method,
        "latency_ms": (time.perf_counter() - started) * 1000.0,
    }
