"""Features: a registry of causal indicators computed from candles, order book and trades.

``generate_features(ohlcv)`` computes the full default set (over 200 columns from OHLCV
alone); a :class:`~trademl.config.features.FeatureSpec` picks categories, indicators,
periods, higher timeframes, lags and normalisation. Add your own with ``@feature``, in a
notebook or in files named by ``features.modules`` (:func:`load_feature_modules`); their
causality is checked on the run's data (:func:`check_run_causality`).
Selection (``trademl.features.selection``) and scalers (``trademl.features.scaling``)
are scikit-learn transformers, fitted on training folds only.
"""

from __future__ import annotations

import importlib
from typing import Any

from trademl.errors import CausalityError
from trademl.features._causality import check_causality, check_run_causality
from trademl.features._generate import generate_features, load_feature_spec, plan_features
from trademl.features._registry import (
    Feature,
    FeatureError,
    feature,
    get_feature,
    registry,
    unregister,
)
from trademl.features._user_modules import load_feature_modules

__all__ = [
    "CausalityError",
    "Feature",
    "FeatureError",
    "check_causality",
    "check_run_causality",
    "feature",
    "generate_features",
    "get_feature",
    "list_features",
    "load_feature_modules",
    "load_feature_spec",
    "plan_features",
    "registry",
    "scaling",
    "selection",
    "unregister",
]


def list_features(category: str | None = None) -> list[dict[str, Any]]:
    """One row per registered feature: name, category, inputs, parameters, warm-up, columns."""
    rows = []
    for feat in registry().values():
        if category is not None and feat.category != category:
            continue
        params = feat.resolve()
        rows.append(
            {
                "name": feat.name,
                "category": feat.category,
                "inputs": ", ".join(feat.inputs),
                "params": ", ".join(f"{k}={v}" for k, v in params.items()),
                "warmup": feat.warmup_bars(params),
                "columns": feat.columns(params),
                "description": feat.description,
            }
        )
    return rows


def __getattr__(name: str) -> Any:
    # scikit-learn is only loaded by code that selects or scales
    if name in ("selection", "scaling"):
        return importlib.import_module(f"trademl.features.{name}")
    raise AttributeError(f"module 'trademl.features' has no attribute {name!r}")
