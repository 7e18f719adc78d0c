"""One monitoring pass over a model: performance, drift, concept drift, anomalies, alerts, health.

``register_reference`` stores what a check compares against (at registration time):
the validation metrics, and compact profiles of the training features, the validation
predictions and the labels. ``run_check`` reads the recent window from the store, turns
every result into flat *facts* (``performance.accuracy.drop_vs_baseline``,
``drift.share``, ``stream.minutes_since_last_prediction``, ...), hands them to the alert
engine and records the model's health.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from io import StringIO
from typing import Any

import numpy as np
import pandas as pd

from trademl.config.monitoring import MonitoringSpec
from trademl.errors import DataError
from trademl.monitoring._time import parse_duration, utcnow
from trademl.monitoring.anomaly import PredictionAnomalyDetector
from trademl.monitoring.concept import ChangePoint, detect_concept_drift, error_stream
from trademl.monitoring.drift import DriftReport, build_profile, compare_to_profile
from trademl.monitoring.performance import (
    Finding,
    assess_degradation,
    health_from_findings,
    performance_metrics,
)
from trademl.monitoring.store import MonitorStore

__all__ = [
    "CheckResult",
    "EvaluationSettings",
    "build_engine",
    "evaluation_settings",
    "frames_from_oos",
    "register_reference",
    "run_check",
]

logger = logging.getLogger(__name__)

# the reference prediction stream kept (in order) to fit the anomaly detector
_STREAM_SAMPLE = 5000
_OUTCOME_COLUMNS = ("label", "forward_return", "realized_return")


_DETECTORS: dict[str, PredictionAnomalyDetector] = {}


def _fitted_detector(stream: list[float]) -> PredictionAnomalyDetector:
    """The anomaly detector of a reference stream, fitted once per process (it is seeded,
    so a refit gives the same forest; a scheduler checking every minute skips ~3 s each)."""
    import hashlib

    values = np.asarray(stream, dtype="float64")
    key = hashlib.sha256(values.tobytes()).hexdigest()
    if key not in _DETECTORS:
        if len(_DETECTORS) > 64:
            _DETECTORS.clear()
        _DETECTORS[key] = PredictionAnomalyDetector().fit(pd.Series(values))
    return _DETECTORS[key]


def register_reference(
    store: MonitorStore,
    *,
    model: str,
    version: str,
    features: pd.DataFrame | None = None,
    predictions: pd.DataFrame | None = None,
    labels: pd.DataFrame | None = None,
    baseline: dict[str, float] | None = None,
    backtest=None,
    periods_per_year: float | None = None,
    task: str | None = None,
    n_quantiles: int = 1001,
) -> None:
    """Store the reference a model version is monitored against (call at registration).

    ``features``: training inputs; ``predictions``: validation outputs (``prediction``
    and optional ``proba``), in time order; ``labels``: validation outcomes (``label``,
    ``forward_return`` and/or ``realized_return``); ``baseline``: validation metrics
    (``score_predictions`` names). ``backtest`` (the run's ``BacktestSpec``),
    ``periods_per_year`` and ``task``: how the baseline was scored; stored so that every
    later check scores live windows the same way.
    """
    if features is not None:
        profile = build_profile(features, n_quantiles=n_quantiles)
        store.save_profile(model=model, version=version, kind="features", profile=profile)
    if predictions is not None:
        columns = [c for c in ("prediction", "proba") if c in predictions.columns]
        if not columns:
            raise DataError("register_reference: predictions need a 'prediction' column")
        frame = predictions[columns].dropna(axis=1, how="all")
        profile = build_profile(frame, n_quantiles=n_quantiles)
        score = frame["proba"] if "proba" in frame.columns else frame["prediction"]
        profile["stream"] = score.to_numpy(dtype=float)[-_STREAM_SAMPLE:].tolist()
        store.save_profile(model=model, version=version, kind="predictions", profile=profile)
    if labels is not None:
        columns = [c for c in _OUTCOME_COLUMNS if c in labels.columns]
        if not columns:
            raise DataError(
                "register_reference: labels need 'label', 'forward_return' or 'realized_return'"
            )
        profile = build_profile(labels[columns].dropna(axis=1, how="all"), n_quantiles=n_quantiles)
        store.save_profile(model=model, version=version, kind="labels", profile=profile)
    if baseline:
        store.save_baseline(model=model, version=version, metrics=baseline)
    if backtest is not None or periods_per_year is not None or task is not None:
        settings = {
            "backtest": None if backtest is None else backtest.model_dump(mode="json"),
            "periods_per_year": None if periods_per_year is None else float(periods_per_year),
            "task": task,
        }
        store.save_profile(model=model, version=version, kind="evaluation", profile=settings)


@dataclass(frozen=True)
class EvaluationSettings:
    """How a version's live windows are scored: as its baseline was."""

    backtest: Any
    periods_per_year: float | None
    task: str | None


def evaluation_settings(
    store: MonitorStore, model: str, version: str, *, backtest=None,
    periods_per_year: float | None = None, task: str | None = None,
) -> EvaluationSettings:  # fmt: skip
    """Arguments given here win; then what ``register_reference`` stored; then defaults
    (the spec's ``BacktestSpec()``, periods per year from the timestamps, the task from
    whether P(up) is stored)."""
    from trademl.config.backtest import BacktestSpec

    stored = store.load_profile(model=model, version=version, kind="evaluation") or {}
    if backtest is None and stored.get("backtest") is not None:
        backtest = BacktestSpec.model_validate(stored["backtest"])
    return EvaluationSettings(
        backtest=backtest if backtest is not None else BacktestSpec(),
        periods_per_year=periods_per_year or stored.get("periods_per_year"),
        task=task or stored.get("task"),
    )


def frames_from_oos(oos: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The pipeline's out-of-sample predictions (artifact ``predictions/oos.parquet``:
    ``symbol, close, y_true, y_pred, proba, signal, forward_return``) as the
    (predictions, outcomes) frames that ``register_reference`` and ``MonitorStore`` take.

    Predictions keep ``close`` (the engine needs it) and ``signal``; outcomes are
    ``label`` = ``y_true`` and ``forward_return`` (the simple return over the label
    horizon, what the IC and hit rate use). ``realized_return`` is not written: it is
    for outcome sources that only know some other return.
    """
    missing = [c for c in ("symbol", "close", "y_true", "y_pred") if c not in oos.columns]
    if missing:
        raise DataError(f"oos predictions: missing column(s) {missing}; got {list(oos.columns)}")
    frame = oos.sort_index(kind="stable")
    predictions = pd.DataFrame(
        {"symbol": frame["symbol"].astype(str), "prediction": frame["y_pred"].astype(float),
         "close": frame["close"].astype(float)},
        index=frame.index,
    )  # fmt: skip
    for optional in ("proba", "signal"):
        if optional in frame.columns and frame[optional].notna().any():
            predictions[optional] = frame[optional].astype(float)
    outcomes = pd.DataFrame(
        {"symbol": predictions["symbol"], "label": frame["y_true"].astype(float)},
        index=frame.index,
    )
    if "forward_return" in frame.columns:
        outcomes["forward_return"] = frame["forward_return"].astype(float)
    else:
        logger.warning("oos predictions have no forward_return: IC and hit rate left out")
    return predictions, outcomes


@dataclass
class CheckResult:
    model: str
    version: str
    checked_at: datetime
    window_start: datetime
    n_predictions: int
    n_outcomes: int
    metrics: dict[str, float]
    baseline: dict[str, float]
    facts: dict[str, float]
    findings: list[Finding]
    status: str
    reasons: list[str]
    drift: DriftReport | None = None
    prediction_drift: DriftReport | None = None
    label_drift: DriftReport | None = None
    change_points: list[ChangePoint] = field(default_factory=list)
    anomaly: dict | None = None
    alerts: list[dict] = field(default_factory=list)

    def to_dict(self) -> dict:
        def report(r):
            return None if r is None else r.to_dict()

        return {
            "model": self.model,
            "version": self.version,
            "checked_at": self.checked_at.isoformat(),
            "window_start": self.window_start.isoformat(),
            "n_predictions": self.n_predictions,
            "n_outcomes": self.n_outcomes,
            "status": self.status,
            "reasons": self.reasons,
            "metrics": self.metrics,
            "baseline": self.baseline,
            "facts": self.facts,
            "drift": report(self.drift),
            "prediction_drift": report(self.prediction_drift),
            "label_drift": report(self.label_drift),
            "change_points": [c.to_dict() for c in self.change_points],
            "anomaly": self.anomaly,
            "alerts": self.alerts,
        }


def build_engine(store: MonitorStore, spec: MonitoringSpec, rules_path: str | None = None):
    """The alert engine the spec describes (rules file or the shipped defaults)."""
    from trademl.monitoring.alerts import AlertEngine, default_rules, load_rules, make_channel

    path = rules_path or spec.rules
    rules = load_rules(path) if path else default_rules()
    channels = {name: make_channel(name, cs) for name, cs in spec.channels.items()}
    limits = {name: cs.max_per_hour for name, cs in spec.channels.items()}
    return AlertEngine(store, rules=rules, channels=channels, max_per_hour=limits)


def _features_frame(predictions: pd.DataFrame) -> pd.DataFrame | None:
    texts = predictions["features"].dropna()
    if texts.empty:
        return None
    return pd.read_json(StringIO("\n".join(texts)), lines=True)


def _drift_facts(prefix: str, report: DriftReport, facts: dict) -> None:
    facts[f"{prefix}.share"] = report.share
    facts[f"{prefix}.share_pvalue"] = report.share_pvalue
    facts[f"{prefix}.n_drifted"] = float(report.n_drifted)
    facts[f"{prefix}.detected"] = float(report.drift_detected)


def run_check(
    store: MonitorStore,
    model: str,
    *,
    since: str | timedelta = "24h",
    version: str | None = None,
    spec: MonitoringSpec | None = None,
    engine=None,
    now: datetime | None = None,
    backtest=None,
) -> CheckResult:
    """Check ``model`` over the last ``since`` of predictions and raise alerts per the rules.

    ``engine``: an ``AlertEngine`` (default: built from ``spec``); pass ``False`` to skip
    alerting. Live figures are scored like the baseline (``evaluation_settings``):
    ``backtest`` overrides the stored ``BacktestSpec``.
    """
    spec = spec or MonitoringSpec()
    now = now or utcnow()
    start = now - parse_duration(since, name="since")
    version = version or store.latest_version(model)
    if version is None:
        known = dict(store.models())
        if model in known:
            # registered (a reference, a baseline or an earlier check) but nothing to check
            raise DataError(
                f"monitor: model {model!r} (v{known[model]}) has a reference but no "
                "prediction logged yet; log predictions (MonitorStore.log_predictions, or "
                "`trademl monitor replay --run-id ID` for a run's holdout) before a check"
            )
        others = ", ".join(sorted(known)) or "none"
        raise DataError(f"monitor: no model named {model!r} in the store (models: {others})")
    facts: dict[str, float] = {}
    findings: list[Finding] = []

    last = store.last_prediction_time(model)
    minutes = (now - last).total_seconds() / 60 if last is not None else float("inf")
    facts["stream.minutes_since_last_prediction"] = minutes
    stale = parse_duration(spec.stale_after, name="monitoring.stale_after")
    if minutes * 60 > stale.total_seconds():
        findings.append(
            Finding("predictions", "stream", "critical", f"no prediction for {minutes:.0f} minutes")
        )

    current = store.predictions(model, version=version, since=start)
    joined = store.predictions(model, version=version, since=start, with_outcomes=True)
    facts["stream.n_predictions"] = float(len(current))

    metrics: dict[str, float] = {}
    baseline = store.baseline(model, version) or dict(spec.baseline)
    if len(joined):
        settings = evaluation_settings(
            store, model, version, backtest=backtest, periods_per_year=spec.periods_per_year
        )
        metrics = performance_metrics(
            joined, periods_per_year=settings.periods_per_year, backtest=settings.backtest,
            task=settings.task,
        )  # fmt: skip
        history = store.snapshots(model, version=version)
        found, degradation = assess_degradation(
            metrics, baseline=baseline, history=history, spec=spec.degradation
        )
        findings += found
        facts.update({f"performance.{k}": v for k, v in metrics.items()})
        facts.update({f"performance.{k}": v for k, v in degradation.items()})
        store.save_snapshot(
            model=model, version=version, metrics=metrics, window_end=joined.index[-1],
            n=len(joined),
        )  # fmt: skip

    reports: dict[str, DriftReport | None] = {"features": None, "predictions": None, "labels": None}
    windows = {
        "features": _features_frame(current) if len(current) else None,
        "predictions": current[["prediction", "proba"]] if len(current) else None,
        "labels": joined[[c for c in _OUTCOME_COLUMNS if c in joined.columns]]
        if len(joined)
        else None,
    }
    for kind, frame in windows.items():
        profile = store.load_profile(model=model, version=version, kind=kind)
        if profile is None or frame is None or frame.empty:
            continue
        names = [n for n in profile["features"] if n in frame.columns and frame[n].notna().any()]
        if not names:
            continue
        report = compare_to_profile(
            profile, frame, alpha=spec.drift.alpha, psi_bins=spec.drift.psi_bins, features=names
        )
        reports[kind] = report
        store.save_drift(model=model, version=version, kind=kind, report=report)
        prefix = {"features": "drift", "predictions": "prediction_drift", "labels": "label_drift"}
        _drift_facts(prefix[kind], report, facts)
        if report.drift_detected:
            findings.append(
                Finding(
                    prefix[kind], "drift", "warning",
                    f"{kind}: {report.n_drifted}/{report.n_features} drifted "
                    f"(share {report.share:.0%}, binomial p={report.share_pvalue:.2g})",
                    report.share,
                )
            )  # fmt: skip

    change_points: list[ChangePoint] = []
    if len(joined) >= 30:
        change_points = detect_concept_drift(error_stream(joined))
        facts["concept.changes"] = float(len(change_points))
        for point in change_points:
            findings.append(
                Finding(
                    "errors", "concept", "info",
                    f"{point.detector}: error rate {point.mean_before:.3f} -> "
                    f"{point.mean_after:.3f} from {point.estimated_start:%Y-%m-%d %H:%M}",
                )
            )  # fmt: skip

    anomaly = None
    reference = store.load_profile(model=model, version=version, kind="predictions")
    if reference and len(reference.get("stream", [])) >= 240 and len(current) >= 24:
        score = current["proba"] if current["proba"].notna().all() else current["prediction"]
        detector = _fitted_detector(reference["stream"])
        anomaly = detector.assess(score)
        facts["anomaly.share"] = anomaly["share"]
        facts["anomaly.share_pvalue"] = anomaly["share_pvalue"]
        if anomaly["share_pvalue"] < spec.drift.alpha:
            findings.append(
                Finding(
                    "predictions", "anomaly", "warning",
                    f"{anomaly['share']:.1%} of predictions anomalous "
                    f"(reference {anomaly['expected_share']:.1%}, p={anomaly['share_pvalue']:.2g})",
                    anomaly["share"],
                )
            )  # fmt: skip

    # feature impact over time, written by `trademl explain` (mean |SHAP| share per month)
    from trademl.explain.impact import latest_impact_facts

    impact = latest_impact_facts(store.feature_impact(model, version=version))
    facts.update(impact)
    if impact.get("impact.n_drifted", 0) > 0:
        findings.append(
            Finding(
                "features", "drift", "warning",
                f"{impact['impact.n_drifted']:.0f} feature(s) changed their share of the "
                f"model's impact by up to {impact['impact.max_share_change']:.0%}",
                impact["impact.n_drifted"],
            )
        )  # fmt: skip

    if spec.retention_days:
        store.apply_retention(timedelta(days=spec.retention_days), now=now)
    status, reasons = health_from_findings(findings)
    store.save_health(model=model, version=version, status=status, reasons=reasons)
    facts = {k: float(v) for k, v in facts.items() if v is not None and not np.isnan(v)}
    actions: list[dict] = []
    if engine is not False:
        engine = engine or build_engine(store, spec)
        actions = engine.evaluate(model, facts, now=now)
    return CheckResult(
        model=model,
        version=version,
        checked_at=now,
        window_start=start,
        n_predictions=len(current),
        n_outcomes=len(joined),
        metrics=metrics,
        baseline=baseline,
        facts=facts,
        findings=findings,
        status=status,
        reasons=reasons,
        drift=reports["features"],
        prediction_drift=reports["predictions"],
        label_drift=reports["labels"],
        change_points=change_points,
        anomaly=anomaly,
        alerts=actions,
    )
