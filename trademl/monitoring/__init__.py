"""Model monitoring: prediction store, performance, data and concept drift, anomalies, alerts.

Submodules load on first use (``trademl.monitoring.store`` pulls in SQLAlchemy), so
importing the package stays cheap.
"""

from __future__ import annotations

from trademl._lazy import lazy_getattr

_LAZY = {
    "open_store": "trademl.monitoring.store",
    "resolve_db_url": "trademl.monitoring.store",
    "replay_run": "trademl.monitoring.replay",
    "ReplayResult": "trademl.monitoring.replay",
    "evaluation_settings": "trademl.monitoring.check",
    "MonitorStore": "trademl.monitoring.store",
    "build_profile": "trademl.monitoring.drift",
    "compare_to_profile": "trademl.monitoring.drift",
    "detect_drift": "trademl.monitoring.drift",
    "DriftReport": "trademl.monitoring.drift",
    "rolling_metrics": "trademl.monitoring.performance",
    "performance_metrics": "trademl.monitoring.performance",
    "assess_degradation": "trademl.monitoring.performance",
    "detect_concept_drift": "trademl.monitoring.concept",
    "PredictionAnomalyDetector": "trademl.monitoring.anomaly",
    "run_check": "trademl.monitoring.check",
    "register_reference": "trademl.monitoring.check",
    "frames_from_oos": "trademl.monitoring.check",
    "AlertEngine": "trademl.monitoring.alerts",
    "default_rules": "trademl.monitoring.alerts",
    "load_rules": "trademl.monitoring.alerts",
    "CheckResult": "trademl.monitoring.check",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__
