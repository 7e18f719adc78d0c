"""Real-time serving: ``trademl serve`` (FastAPI + uvicorn), hot swap, canary and shadow,
prediction logging, Prometheus metrics and a live dashboard.

Submodules load on first use, so importing the package stays cheap.
"""

from __future__ import annotations

from trademl._lazy import lazy_getattr

_LAZY = {
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
