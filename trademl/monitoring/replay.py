"""Replay a tracked run's holdout through the monitoring store, as a consistency check.

``replay_run(run_id, store)`` reads the run's ``predictions/oos.parquet`` and spec
(``trademl.tracking.artifacts``), finds the model version registered from the run,
writes the holdout's predictions and outcomes into the store (idempotent: a second
replay replaces the rows of the first), reads them back, scores them with the same
``score_predictions`` the run used, and compares every baseline metric with the
replayed value. The store round trip, the engine and the metric registry being one
truth, every difference must be zero to rounding (``tolerance``, relative to
max(1, |baseline|)); any larger difference names a metric that is computed in two ways.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.monitoring.store import MonitorStore

__all__ = ["MetricComparison", "ReplayResult", "registered_version", "replay_run"]

logger = logging.getLogger(__name__)

TOLERANCE = 1e-9


@dataclass(frozen=True)
class MetricComparison:
    name: str
    baseline: float
    replayed: float | None
    difference: float | None
    ok: bool


@dataclass
class ReplayResult:
    run_id: str
    model: str
    version: str
    source: str  # "registry" or "spec" (no registered version found)
    baseline_source: str  # "store" (register_reference) or "run" (the run's oos_* metrics)
    rows: int
    periods_per_year: float
    metrics: dict[str, float]
    comparisons: list[MetricComparison]
    status: str
    reasons: list[str]
    notes: list[str] = field(default_factory=list)
    tolerance: float = TOLERANCE

    @property
    def mismatched(self) -> list[str]:
        return [c.name for c in self.comparisons if not c.ok]

    @property
    def consistent(self) -> bool:
        return bool(self.comparisons) and not self.mismatched

    def to_dict(self) -> dict:
        return {
            "run_id": self.run_id,
            "model": self.model,
            "version": self.version,
            "source": self.source,
            "baseline_source": self.baseline_source,
            "rows": self.rows,
            "periods_per_year": self.periods_per_year,
            "tolerance": self.tolerance,
            "consistent": self.consistent,
            "mismatched": self.mismatched,
            "metrics": [c.__dict__ for c in self.comparisons],
            "status": self.status,
            "reasons": self.reasons,
            "notes": self.notes,
        }


def _client():
    from mlflow.tracking import MlflowClient

    from trademl.tracking import configure

    uri = configure()
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def registered_version(run_id: str, spec) -> tuple[str, str | None, str]:
    """(model name, version or None, source): the newest registry version made from the run,
    else the spec's ``tracking.model_name or name`` with no version (source ``"spec"``)."""
    from mlflow.exceptions import MlflowException

    try:
        if not re.fullmatch(r"[0-9a-fA-F]{32}", str(run_id)):
            raise MlflowException(f"not an MLflow run id: {run_id!r}")
        versions = list(_client().search_model_versions(f"run_id = '{run_id}'"))
    except MlflowException as exc:
        logger.info("registry search for run %s failed: %s", run_id, exc)
        versions = []
    if versions:
        newest = max(versions, key=lambda v: int(v.version))
        return str(newest.name), str(newest.version), "registry"
    return str(spec.tracking.model_name or spec.name), None, "spec"


def _oos(frame: pd.DataFrame) -> pd.DataFrame:
    if "timestamp" in frame.columns:
        frame = frame.set_index("timestamp")
    index = pd.DatetimeIndex(pd.to_datetime(frame.index, utc=True), name="timestamp")
    return frame.set_axis(index, axis=0)


def _run_baseline(run_id: str) -> dict[str, float]:
    metrics = _client().get_run(run_id).data.metrics
    return {k.removeprefix("oos_"): float(v) for k, v in metrics.items() if k.startswith("oos_")}


def _compare(baseline: dict, replayed: dict, tolerance: float) -> list[MetricComparison]:
    from trademl.validation.metrics import METRICS

    out = []
    for name, reference in baseline.items():
        if name not in METRICS:
            continue  # not a registry figure (e.g. a count the pipeline added)
        value = replayed.get(name)
        if value is None or not np.isfinite(value):
            out.append(MetricComparison(name, float(reference), None, None, False))
            continue
        difference = float(value) - float(reference)
        ok = abs(difference) <= tolerance * max(1.0, abs(float(reference)))
        out.append(MetricComparison(name, float(reference), float(value), difference, ok))
    return out


def replay_run(run_id: str, store: MonitorStore, *, tolerance: float = TOLERANCE) -> ReplayResult:
    """Write run ``run_id``'s holdout into ``store``, re-score it and compare with the baseline."""
    from trademl.analytics.periods import periods_per_year_for
    from trademl.data.timeframe import infer_timeframe
    from trademl.monitoring.check import evaluation_settings, frames_from_oos
    from trademl.monitoring.performance import (
        assess_degradation,
        health_from_findings,
        performance_metrics,
    )
    from trademl.tracking.artifacts import read_predictions, read_spec

    oos = _oos(read_predictions(run_id))
    spec = read_spec(run_id)
    notes: list[str] = []
    model, version, source = registered_version(run_id, spec)
    if version is None:
        known = store.snapshots(model, kind="baseline")
        version = str(known["version"].iloc[-1]) if len(known) else run_id
        notes.append(
            f"no registry version was made from run {run_id}: using the spec's model name "
            f"{model!r} and version {version!r}"
        )
    predictions, outcomes = frames_from_oos(oos)
    store.log_predictions(predictions, model=model, version=version, replace=True)
    store.log_outcomes(outcomes, model=model)
    stamps = predictions.index
    joined = store.predictions(
        model, version=version, since=stamps.min(), until=stamps.max() + pd.Timedelta(1, "ns"),
        with_outcomes=True,
    )  # fmt: skip
    if len(joined) != len(predictions):
        raise DataError(
            f"replay: wrote {len(predictions)} predictions of {model} v{version} but read back "
            f"{len(joined)} with outcomes in the same period"
        )
    settings = evaluation_settings(store, model, version, backtest=spec.backtest)
    ppy = settings.periods_per_year
    if ppy is None:
        timeframe = spec.data.timeframe or infer_timeframe(stamps.unique())
        ppy = periods_per_year_for(timeframe, spec.backtest.calendar)
    metrics = performance_metrics(
        joined, periods_per_year=ppy, backtest=settings.backtest, task=spec.model.task
    )
    baseline = store.baseline(model, version)
    baseline_source = "store"
    if not baseline:
        baseline, baseline_source = _run_baseline(run_id), "run"
        notes.append("no baseline in the store for this version: compared with the run's oos_*")
    findings, _ = assess_degradation(metrics, baseline=baseline, spec=spec.monitoring.degradation)
    status, reasons = health_from_findings(findings)
    return ReplayResult(
        run_id=run_id,
        model=model,
        version=version,
        source=source,
        baseline_source=baseline_source,
        rows=len(joined),
        periods_per_year=float(ppy),
        metrics=metrics,
        comparisons=_compare(baseline, metrics, tolerance),
        status=status,
        reasons=reasons,
        notes=notes,
        tolerance=tolerance,
    )
