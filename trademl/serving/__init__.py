"""Serving: online feature state per symbol, the in-process predictor, and the HTTP service
``trademl serve`` (FastAPI + uvicorn) with hot swap, canary and shadow, prediction logging,
Prometheus metrics and a live dashboard.

Submodules load on first use: ``import trademl`` does not load TA-Lib or FastAPI.
"""

from __future__ import annotations

from trademl._lazy import lazy_getattr

_LAZY = {
    # online features and the in-process predictor
    "BarRejected": "trademl.serving.online",
    "OnlineFeatures": "trademl.serving.online",
    "UnservableFeatures": "trademl.serving.online",
    "unservable_features": "trademl.serving.online",
    "Predictor": "trademl.serving.predictor",
    # the HTTP service
    "create_app": "trademl.serving.app",
    "Deployment": "trademl.serving.deployment",
    "ModelSlot": "trademl.serving.deployment",
    "load_slot": "trademl.serving.deployment",
    "PredictionLogger": "trademl.serving.prediction_log",
    "ServingMetrics": "trademl.serving.metrics",
    "TrafficSplit": "trademl.serving.traffic",
    "build_service": "trademl.serving.service",
    "run_service": "trademl.serving.service",
    "replay_file": "trademl.serving.replay",
}

__all__ = sorted(_LAZY)

__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__
