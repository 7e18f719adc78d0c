"""Experiment tracking and model registry on MLflow.

Runs (spec, params, per-step metrics, data lineage, code and package versions), models
with signature and card, a registry with gated promotion, rollback, lineage and SHA-256
integrity. MLflow is imported only when one of these names is first used, so importing
``trademl.tracking`` (and ``trademl --help``) stays instant.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trademl._lazy import lazy_getattr

# public name -> submodule that defines it
_LAZY = {
    "configure": "trademl.tracking._store",
    "tracking_uri": "trademl.tracking._store",
    "start_run": "trademl.tracking.runs",
    "log_params": "trademl.tracking.runs",
    "log_metrics_batch": "trademl.tracking.runs",
    "log_dataset": "trademl.tracking.runs",
    "log_features": "trademl.tracking.runs",
    "log_figure": "trademl.tracking.runs",
    "log_report": "trademl.tracking.runs",
    "log_model": "trademl.tracking.model_logging",
    "register_model": "trademl.tracking.registry",
    "promote": "trademl.tracking.registry",
    "rollback": "trademl.tracking.registry",
    "champion_history": "trademl.tracking.registry",
    "champion_version": "trademl.tracking.registry",
    "list_models": "trademl.tracking.registry",
    "model_versions": "trademl.tracking.registry",
    "verify": "trademl.tracking.integrity",
    "load_model": "trademl.tracking.integrity",
    "lineage": "trademl.tracking.lineage",
    "list_experiments": "trademl.tracking.experiments",
    "compare_runs": "trademl.tracking.experiments",
    "best_run": "trademl.tracking.experiments",
    "search_runs": "trademl.tracking.experiments",
    "cleanup_runs": "trademl.tracking.experiments",
    "check_gates": "trademl.tracking.gates",
    "TrackingError": "trademl.tracking.errors",
    "PromotionRefused": "trademl.tracking.errors",
    "IntegrityError": "trademl.tracking.errors",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from trademl.tracking._store import configure, tracking_uri  # noqa: F401
    from trademl.tracking.errors import IntegrityError, PromotionRefused, TrackingError  # noqa: F401
    from trademl.tracking.experiments import (  # noqa: F401
        best_run,
        cleanup_runs,
        compare_runs,
        list_experiments,
        search_runs,
    )
    from trademl.tracking.gates import check_gates  # noqa: F401
    from trademl.tracking.integrity import load_model, verify  # noqa: F401
    from trademl.tracking.lineage import lineage  # noqa: F401
    from trademl.tracking.model_logging import log_model  # noqa: F401
    from trademl.tracking.registry import (  # noqa: F401
        champion_history,
        champion_version,
        list_models,
        model_versions,
        promote,
        register_model,
        rollback,
    )
    from trademl.tracking.runs import (  # noqa: F401
        log_dataset,
        log_features,
        log_figure,
        log_metrics_batch,
        log_params,
        log_report,
        start_run,
    )
