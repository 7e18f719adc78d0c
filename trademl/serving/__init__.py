"""Serving: online feature state per symbol, the in-process predictor, and (``app``) the
HTTP service. Imported lazily: ``import trademl`` does not load TA-Lib or FastAPI."""

from __future__ import annotations

import importlib
from typing import Any

__all__ = [
    "BarRejected",
    "OnlineFeatures",
    "Predictor",
    "UnservableFeatures",
    "unservable_features",
]

_WHERE = {
    "BarRejected": "trademl.serving.online",
    "OnlineFeatures": "trademl.serving.online",
    "UnservableFeatures": "trademl.serving.online",
    "unservable_features": "trademl.serving.online",
    "Predictor": "trademl.serving.predictor",
}


def __getattr__(name: str) -> Any:
    if name in _WHERE:
        return getattr(importlib.import_module(_WHERE[name]), name)
    raise AttributeError(f"module 'trademl.serving' has no attribute {name!r}")
