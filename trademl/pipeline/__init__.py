"""The end-to-end experiment, as public steps a notebook or a retraining job can call alone.

``run(spec)`` is only their composition::

    dataset = build_dataset(spec, base_dir=...)   # candles → rows, holdout, feature recipe
    folds = make_folds(spec, dataset)             # purged by label end times
    tuning = tune(spec, dataset, folds)           # Optuna, scored by the backtest engine
    package = fit_final(spec, dataset, params)    # all development rows → model package
    oos = holdout_predictions(dataset, package)   # the untouched holdout, as the package sees it
    metrics = evaluate(spec, dataset, oos, tuning)
    run_id, uri, _ = log_run(spec, dataset, package, oos, metrics, tuning)
    name, version = register(spec, dataset, run_id, metrics)
    promoted, why = promote(spec, name, version, run_id)

Every check that needs no data runs first (``check_spec``), then the data-dependent ones
(including the causality check of user features), so a bad spec fails before minutes of
work and nothing is registered.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from trademl.pipeline.checks import check_spec
from trademl.pipeline.dataset import Dataset, build_dataset, load_frames
from trademl.pipeline.degenerate import degeneracy_of, find_degeneracy
from trademl.pipeline.evaluate import evaluate, holdout_predictions
from trademl.pipeline.record import log_run, promote, register, register_monitoring_reference
from trademl.pipeline.stores import check_stores
from trademl.pipeline.summary import summary_notes, summary_table
from trademl.pipeline.training import cv_data, fit_final, make_folds, study_name, tune

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

    from trademl.package.model import ModelPackage
    from trademl.tuning import TuningResult

__all__ = [
    "Dataset",
    "Reporter",
    "RunResult",
    "build_dataset",
    "check_spec",
    "check_stores",
    "cv_data",
    "degeneracy_of",
    "evaluate",
    "find_degeneracy",
    "fit_final",
    "holdout_predictions",
    "load_frames",
    "log_run",
    "make_folds",
    "promote",
    "register",
    "run",
    "study_name",
    "summary_notes",
    "summary_table",
    "tune",
]

STAGES = 7


class Reporter:
    """Where ``run`` reports its progress; this one stays silent (the CLI draws a display)."""

    def stage(self, name: str, number: int, total: int = STAGES) -> None:
        """Stage ``number`` of ``total`` starts."""

    def trial(self, done: int, total: int, best: float | None) -> None:
        """``done`` of ``total`` tuning trials have finished."""

    def fold(self, trial: int, done: int, total: int) -> None:
        """Trial number ``trial`` has scored ``done`` of its ``total`` folds."""


@dataclass
class RunResult:
    """What a run produced; every figure is also on the MLflow run ``run_id``."""

    run_id: str | None
    experiment: str
    metrics: dict[str, float]
    best_params: dict[str, Any]
    predictions: pd.DataFrame
    package: ModelPackage
    model_name: str | None = None
    model_version: int | None = None
    promoted: bool | None = None
    promotion: str = ""
    tuning: TuningResult | None = None
    tracking_uri: str | None = None
    study_name: str | None = None
    n_features: int = 0
    elapsed: float = 0.0
    artifacts: list[str] = field(default_factory=list)
    timings: dict[str, float] = field(default_factory=dict)
    # why the model is degenerate (empty: it is not); see trademl.pipeline.degenerate
    degenerate: list[str] = field(default_factory=list)
    # leading bars each symbol lost before every feature was known, and to which feature
    warmup: dict[str, tuple[int, int, str]] = field(default_factory=dict)

    @property
    def models(self) -> dict[str, Any]:
        """The fitted estimators: ``{"pooled": model}`` or one per symbol."""
        return self.package.estimators


def _resolve(spec, base_dir):
    from trademl.config import ExperimentSpec, load_spec

    if isinstance(spec, ExperimentSpec):
        return spec, (Path(base_dir) if base_dir else None)
    if isinstance(spec, dict):
        return load_spec(spec), (Path(base_dir) if base_dir else None)
    path = Path(spec)
    return load_spec(path), (Path(base_dir) if base_dir else path.resolve().parent)


def run(spec, *, progress: Reporter | None = None, base_dir: str | Path | None = None) -> RunResult:
    """Run the experiment a spec (object, dict or YAML path) describes; see the module doc.

    Relative paths resolve against the spec file's folder (or ``base_dir``), then the
    working directory. ``progress`` receives stage and trial updates.
    """
    started = time.perf_counter()
    spec, base = _resolve(spec, base_dir)
    check_spec(spec)
    # an unreachable or read-only store fails now, before minutes of work and a registration
    check_stores(spec)
    report = progress or Reporter()

    report.stage("data, features + labels", 1)
    dataset = build_dataset(spec, base_dir=base)
    report.stage("folds", 2)
    folds = make_folds(spec, dataset)
    tuning = None
    if spec.tuning.n_trials > 0:
        n_trials, n_folds = spec.tuning.n_trials, len(folds)
        report.stage(
            f"tuning ({n_trials} trials x {n_folds} folds = {n_trials * n_folds} fits at most)", 3
        )
        tuning = tune(spec, dataset, folds, progress=report.trial, on_fold=report.fold)
    params = tuning.best_params if tuning else {}
    report.stage("refit on all development rows", 4)
    package = fit_final(spec, dataset, params)
    report.stage("evaluate holdout", 5)
    oos = holdout_predictions(dataset, package)
    metrics = evaluate(spec, dataset, oos, tuning)
    result = RunResult(
        degenerate=degeneracy_of(spec, package, oos),
        warmup=dict(dataset.warmup),
        run_id=None,
        experiment=spec.tracking.experiment or spec.name,
        metrics=metrics,
        best_params=params,
        predictions=oos,
        package=package,
        tuning=tuning,
        study_name=None if tuning is None else tuning.study_name,
        n_features=dataset.X.shape[1],
        timings=dict(dataset.timings),
    )
    if spec.tracking.enabled:
        report.stage("log to MLflow + register", 6)
        result.run_id, result.tracking_uri, result.artifacts = log_run(
            spec, dataset, package, oos, metrics, tuning
        )
        result.model_name, result.model_version = register(spec, dataset, result.run_id, metrics)
        if spec.monitoring.register_reference:
            register_monitoring_reference(
                spec, dataset, oos, metrics, result.model_name, result.model_version
            )
        result.promoted, result.promotion = promote(
            spec, result.model_name, result.model_version, result.run_id
        )
    report.stage("done", STAGES)
    result.elapsed = time.perf_counter() - started
    return result
