"""``check_spec``: everything about a spec that can be refused before any data is read."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from trademl.errors import SpecError

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec

__all__ = ["LABEL_TASKS", "check_spec", "check_tracking_reachable", "gate_metric_names"]

logger = logging.getLogger(__name__)

# the task each label kind is learnt with
LABEL_TASKS = {
    "direction": "classification",
    "triple_barrier": "classification",
    "trend_scanning": "classification",
    "forward_return": "regression",
}
CLASSIFICATION_METRICS = {"accuracy", "balanced_accuracy", "auc", "roc_auc", "log_loss"}
REGRESSION_METRICS = {"rmse"}


def gate_metric_names(task: str) -> set[str]:
    """Every metric a run records that a promotion gate may name."""
    base = {
        "sharpe", "sortino", "max_drawdown", "total_return", "turnover", "ic", "hit_rate",
        "annual_return", "volatility", "calmar", "buy_hold_sharpe", "excess_sharpe",
        "time_in_market", "n_trades",
    }  # fmt: skip
    if task == "classification":
        base |= {"accuracy", "balanced_accuracy", "roc_auc", "log_loss", "f1"}
    else:
        base |= {"rmse", "mae", "r2"}
    names = {f"oos_{m}" for m in base} | {f"cv_{m}" for m in base}
    return names | {"deflated_sharpe", "probabilistic_sharpe", "n_trials"}


def check_spec(spec: ExperimentSpec) -> None:
    """Raise ``SpecError`` for a spec that cannot run, before any data is read."""
    from trademl.models.registry import card
    from trademl.tuning import describe_storage, grid_values

    task = LABEL_TASKS[spec.labels.kind]
    if spec.model.task != task:
        raise SpecError(
            f"model.task is {spec.model.task!r} but labels.kind {spec.labels.kind!r} is a "
            f"{task} target; set model.task: {task}"
        )
    if task not in card(spec.model.kind).tasks:
        raise SpecError(f"model.kind {spec.model.kind!r} cannot learn a {task} target")
    for metric in spec.tuning.metrics:
        if task == "regression" and metric in CLASSIFICATION_METRICS:
            raise SpecError(f"tuning.metric {metric!r} needs a classification target")
        if task == "classification" and metric in REGRESSION_METRICS:
            raise SpecError(f"tuning.metric {metric!r} needs a regression target")
    if spec.tuning.n_trials > 0:
        space = spec.model.resolved_search_space()
        if not space:
            raise SpecError("model.search_space is empty; set tuning.n_trials: 0 to skip tuning")
        if spec.tuning.sampler == "grid":
            grid_values(space)
        if spec.tuning.sampler == "cmaes":
            from trademl.tuning import make_sampler

            make_sampler("cmaes", space, seed=0)
        describe_storage(spec.tuning.storage, spec.tuning.n_jobs)
    if spec.validation.scheme == "cpcv" and spec.tuning.n_trials > 0:
        logger.info("cpcv folds are scored like k-fold folds while tuning")
    known = gate_metric_names(task)
    unknown = sorted(set(spec.tracking.gates) - known)
    if unknown:
        raise SpecError(f"tracking.gates: unknown metric(s) {unknown}; known: {sorted(known)}")


def check_tracking_reachable(spec: ExperimentSpec, *, timeout: float = 3.0) -> None:
    """A tracking server that does not answer is found now, not after the tuning's work.

    Only ``http(s)://`` stores are probed (a database store is opened by MLflow itself);
    any HTTP answer counts as reachable, only a failed connection is refused.
    """
    import os

    from trademl.config.secrets import redact_url, resolve_env
    from trademl.tracking.errors import TrackingError

    if not spec.tracking.enabled:
        return
    uri = resolve_env(spec.tracking.uri, field="tracking.uri") or os.environ.get(
        "MLFLOW_TRACKING_URI", ""
    )
    if not uri.lower().startswith(("http://", "https://")):
        return
    import httpx

    try:
        httpx.get(f"{uri.rstrip('/')}/health", timeout=timeout)
    except httpx.TransportError as exc:
        raise TrackingError(
            f"tracking.uri {redact_url(uri)} is unreachable ({type(exc).__name__}: "
            f"{str(exc).strip() or 'no answer'}); start the MLflow server or fix the URI"
        ) from None
