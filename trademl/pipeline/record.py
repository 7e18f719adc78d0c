"""Tracking steps: ``log_run`` (MLflow run, trials, predictions, model package),
``register`` (a registry version with its SHA-256 manifest) and ``promote`` (the gates)."""

from __future__ import annotations

import json
import logging
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec
    from trademl.package.model import ModelPackage
    from trademl.pipeline.dataset import Dataset
    from trademl.tuning import TuningResult

__all__ = ["log_run", "promote", "register", "register_monitoring_reference"]

logger = logging.getLogger(__name__)


def _log_tuning(spec: ExperimentSpec, tuning: TuningResult, folder: Path) -> list[str]:
    import mlflow

    from trademl.tuning import log_trials, save_plots

    logged = []
    if spec.tuning.log_trials:
        log_trials(tuning.study, spec, spec.tuning.metrics)
    if spec.tuning.plots:
        for path in save_plots(tuning.study, folder / "tuning"):
            mlflow.log_artifact(str(path), artifact_path="tuning")
            logged.append(f"tuning/{path.name}")
    if tuning.pareto:
        mlflow.log_dict({"pareto_front": tuning.pareto}, "tuning/pareto_front.json")
        logged.append("tuning/pareto_front.json")
    return logged


def _log_package(package: ModelPackage, dataset: Dataset, metrics: dict, run_id: str) -> None:
    """The package as the run's ``model`` (pyfunc) with its card and a run-level manifest."""
    from trademl import tracking
    from trademl.models.registry import card
    from trademl.package.load import RUN_MANIFEST_TAG, RUN_SIGNATURE_TAG, run_subject
    from trademl.package.signing import sign_manifest
    from trademl.tracking import _store
    from trademl.tracking.artifacts import MODEL
    from trademl.tracking.integrity import hash_directory

    kind = package.metadata.get("kind", "")
    model_card = card(kind).to_dict() | {
        "task": package.task,
        "label": package.label,
        "features": package.feature_names,
        "trained_until": package.trained_until,
        "holdout_metrics": metrics,
        "params": package.metadata.get("params", {}),
        "package": package.describe(),
    }
    example = dataset.X.iloc[dataset.holdout[:5]][package.feature_names]
    tracking.log_model(package, input_example=example, card=model_card, artifact_name=MODEL)
    with tempfile.TemporaryDirectory(prefix="trademl-manifest-") as folder:
        local = _store.download_artifacts(artifact_uri=f"runs:/{run_id}/{MODEL}", dst_path=folder)
        manifest = hash_directory(local)
    client = _store.client()
    client.set_tag(run_id, RUN_MANIFEST_TAG.format(artifact=MODEL), json.dumps(manifest))
    signature = sign_manifest(manifest, subject=run_subject(run_id, MODEL))
    client.set_tag(run_id, RUN_SIGNATURE_TAG.format(artifact=MODEL), signature)


def log_run(
    spec: ExperimentSpec,
    dataset: Dataset,
    package: ModelPackage,
    oos: pd.DataFrame,
    metrics: dict[str, float],
    tuning: TuningResult | None,
) -> tuple[str, str, list[str]]:
    """One MLflow run with everything needed to regenerate its figures; (run id, URI, artifacts)."""
    import mlflow

    from trademl import tracking
    from trademl.pipeline.degenerate import degeneracy_of, degeneracy_tags
    from trademl.tracking.artifacts import OOS_PREDICTIONS, log_frame

    uri = tracking.configure(spec.tracking)
    logged = []
    with tracking.start_run(spec, run_name=spec.name) as active:
        run_id = active.info.run_id
        source = spec.data.path or spec.data.sample or ",".join((spec.data.symbols or {}).values())
        for symbol, frame in dataset.frames.items():
            tracking.log_dataset(
                frame,
                source=str(source),
                symbols=[symbol],
                timeframe=dataset.timeframe,
                name=f"{symbol}-{dataset.timeframe}",
            )
        tracking.log_features(list(dataset.X.columns))
        tracking.log_params(
            {
                "best": (tuning.best_params if tuning else None)
                or {"note": "spec params (no tuning)"},
                "holdout_start": dataset.cut.isoformat(),
                "rows_development": len(dataset.dev),
                "rows_holdout": len(dataset.holdout),
                "study_name": tuning.study_name if tuning else "",
                "data_fingerprint": dataset.fingerprint,
            }
        )
        tracking.log_metrics_batch(metrics)
        mlflow.set_tags(degeneracy_tags(degeneracy_of(spec, package, oos)))
        log_frame(oos, OOS_PREDICTIONS)
        logged.append(OOS_PREDICTIONS)
        if tuning is not None:
            with tempfile.TemporaryDirectory() as folder:
                logged += _log_tuning(spec, tuning, Path(folder))
        _log_package(package, dataset, metrics, run_id)
    return run_id, uri, logged


def register(spec: ExperimentSpec, dataset: Dataset, run_id: str, metrics: dict) -> tuple[str, int]:
    """A new registry version of the run's model package; (name, version)."""
    from trademl import tracking
    from trademl.tracking.artifacts import MODEL

    name = spec.tracking.model_name or spec.name
    version = tracking.register_model(
        run_id,
        name,
        description=(
            f"{spec.model.kind} on {','.join(dataset.frames)} {dataset.timeframe}, "
            f"{spec.labels.kind} h={spec.labels.horizon}"
        ),
        changelog=f"run {run_id}: oos_sharpe={metrics.get('oos_sharpe', float('nan')):.3f}",
        artifact_name=MODEL,
    )
    return name, version


def promote(spec: ExperimentSpec, name: str, version: int, run_id: str) -> tuple[bool | None, str]:
    """Through the spec's gates to champion; (promoted, what happened)."""
    from trademl import tracking
    from trademl.tracking import PromotionRefused

    gates: dict[str, Any] = {
        k: v.model_dump(exclude_none=True) for k, v in spec.tracking.gates.items()
    }
    if not gates:
        return None, "no gates in tracking.gates: version left in development"
    try:
        tracking.promote(
            name,
            version,
            gates,
            reason=f"trademl run {run_id}",
            refuse_degenerate=spec.tracking.refuse_degenerate,
        )
    except PromotionRefused as exc:
        return False, str(exc)
    return True, f"{name} v{version} is champion"


def register_monitoring_reference(
    spec: ExperimentSpec,
    dataset: Dataset,
    oos: pd.DataFrame,
    metrics: dict,
    name: str,
    version: int,
) -> None:
    """Give the monitor what live data is compared with: the training features' profile,
    the holdout predictions and outcomes, and the holdout metrics as the baseline."""
    from trademl.analytics.periods import periods_per_year_for
    from trademl.monitoring import frames_from_oos, open_store, register_reference, resolve_db_url

    predictions, outcomes = frames_from_oos(oos)
    baseline = {k.removeprefix("oos_"): v for k, v in metrics.items() if k.startswith("oos_")}
    store = open_store(resolve_db_url(spec=spec.monitoring))
    try:
        register_reference(
            store,
            model=name,
            version=str(version),
            features=dataset.X.iloc[dataset.dev],
            predictions=predictions,
            labels=outcomes,
            baseline=baseline,
            backtest=spec.backtest,
            periods_per_year=periods_per_year_for(dataset.timeframe, spec.backtest.calendar),
            task=spec.model.task,
        )
    finally:
        store.close()
