"""The learning steps: purged folds, the Optuna search, and the final fit.

``make_folds`` purges by label end *times*, so a multi-symbol panel (rows interleaved by
timestamp) is purged exactly; ``tune`` keys its study by the spec *and* by what the data
and feature code were; ``fit_final`` refits on every development row with the number of
boosting rounds early stopping found, and returns the model package.
"""

from __future__ import annotations

import hashlib
import json
import logging
from typing import TYPE_CHECKING, Any

import numpy as np

from trademl.errors import SpecError
from trademl.package.model import POOLED, ModelPackage

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec
    from trademl.pipeline.dataset import Dataset
    from trademl.tuning import CVData, TuningResult

__all__ = ["cv_data", "fit_final", "make_folds", "study_name", "tune"]

logger = logging.getLogger(__name__)


def _n_symbols(dataset: Dataset) -> int:
    return len(dataset.frames)


def purge_rows(spec: ExperimentSpec, dataset: Dataset) -> int:
    """Rows kept between a model's fitting rows and its early-stopping slice."""
    return spec.labels.horizon * _n_symbols(dataset)


def make_folds(spec: ExperimentSpec, dataset: Dataset) -> list[tuple[np.ndarray, np.ndarray]]:
    """(train, test) row positions of ``dataset`` for tuning, inside the development rows.

    Purged by each label's end timestamp, so no training label overlaps a test bar of any
    symbol; the embargo counts bars (rows per timestamp times the spec's bars).
    """
    from trademl.validation import make_splitter

    dev = dataset.dev
    splitter = make_splitter(spec.validation, label_end=dataset.label_end.iloc[dev])
    splitter.embargo = spec.validation.embargo * _n_symbols(dataset)
    try:
        folds = [(dev[tr], dev[te]) for tr, te in splitter.split(dataset.X.iloc[dev])]
    except ValueError as exc:
        raise SpecError(f"validation: {exc}") from None
    return folds


def study_name(spec: ExperimentSpec, dataset: Dataset | None = None) -> str:
    """The spec's name, a hash of what the user set that changes what a trial means, and a
    fingerprint of the data and feature code the trials saw.

    Trial count, parallelism, timeout, storage and tracking are left out, so raising
    n_trials continues the same study; defaults are left out too, so a new setting added
    to trademl (with its default) does not orphan the studies of existing specs. New data
    or changed feature code start a new study instead of reusing stale trials.
    """
    if spec.tuning.study_name:
        return spec.tuning.study_name
    keep = spec.model_dump(
        mode="json", exclude_defaults=True, exclude={"tracking", "monitoring", "name"}
    )
    ignored = {"n_trials", "n_jobs", "timeout", "log_trials", "plots", "resume", "storage"}
    keep["tuning"] = {k: v for k, v in keep.get("tuning", {}).items() if k not in ignored}
    if dataset is not None:
        keep["__data"] = dataset.fingerprint
    digest = hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:10]
    return f"{spec.name}-{digest}"


def cv_data(spec: ExperimentSpec, dataset: Dataset, folds) -> CVData:
    """What the tuning objective scores: the rows, their folds and the backtest settings."""
    from trademl.analytics.periods import periods_per_year_for
    from trademl.tuning import CVData

    return CVData(
        X=dataset.X,
        y=dataset.y,
        folds=folds,
        close=dataset.close,
        forward_return=dataset.forward_return,
        symbol=dataset.symbol,
        backtest=spec.backtest,
        periods_per_year=periods_per_year_for(dataset.timeframe, spec.backtest.calendar),
    )


def _per_symbol(spec: ExperimentSpec, dataset: Dataset) -> bool:
    return _n_symbols(dataset) > 1 and spec.model.multi_symbol == "per_symbol"


def tune(
    spec: ExperimentSpec, dataset: Dataset, folds, *, progress=None, on_fold=None
) -> TuningResult | None:
    """The Optuna search over ``spec.model``'s space, scored by purged CV; None if no trials.

    ``progress(done, total, best)`` after each trial; ``on_fold(trial, done, total)`` after
    each fold (in this process only: parallel workers do not call back).
    """
    if spec.tuning.n_trials <= 0:
        return None
    from trademl.tuning import CrossValidatedObjective
    from trademl.tuning import tune as run_study

    space = spec.model.resolved_search_space()
    objective = CrossValidatedObjective(
        spec.model,
        cv_data(spec, dataset, folds),
        task=spec.model.task,
        metrics=spec.tuning.metrics,
        space=space,
        purge=purge_rows(spec, dataset),
        seed=spec.seed,
        per_symbol=_per_symbol(spec, dataset),
        timestamps=dataset.X.index,
        on_fold=on_fold if spec.tuning.n_jobs == 1 else None,
    )
    return run_study(
        objective,
        spec.tuning,
        space=space,
        study_name=study_name(spec, dataset),
        seed=spec.seed,
        n_folds=len(folds),
        progress=progress,
    )


def _fit_one(spec: ExperimentSpec, params: dict[str, Any], X, y, purge: int):
    """Fit with early stopping on the last slice, then refit every row with that many rounds."""
    from trademl.models.factory import build_model

    task = spec.model.task
    model = build_model(spec.model, task, params=params, random_state=spec.seed, purge=purge)
    model.fit(X, y)
    rounds = getattr(model, "best_n_estimators_", None)
    if not rounds:
        return model, None
    no_stopping = spec.model.model_copy(update={"early_stopping_rounds": None})
    refit = build_model(
        no_stopping, task, params={**params, "n_estimators": int(rounds)}, random_state=spec.seed
    )
    refit.fit(X, y)
    return refit, int(rounds)


def fit_final(
    spec: ExperimentSpec, dataset: Dataset, params: dict[str, Any] | None = None
) -> ModelPackage:
    """The model package fitted on all development rows (one estimator, or one per symbol).

    Boosted models first find their number of rounds by early stopping on a purged slice
    at the end of the development rows, then are refitted on every development row with
    that many rounds, so the last 15 % of the development period is not left unseen.
    """
    params = dict(params or {})
    purge = purge_rows(spec, dataset)
    X, y, dev = dataset.X, dataset.y, dataset.dev
    groups = {POOLED: dev}
    if _per_symbol(spec, dataset):
        groups = {s: dev[dataset.symbol[dev] == s] for s in dataset.symbols}
    estimators, rounds = {}, {}
    for key, rows in groups.items():
        estimators[key], rounds[key] = _fit_one(spec, params, X.iloc[rows], y[rows], purge)
    return ModelPackage(
        recipe=dataset.recipe,
        estimators=estimators,
        task=spec.model.task,
        label=spec.labels.model_dump(mode="json"),
        timeframe=dataset.timeframe,
        backtest=spec.backtest.model_dump(mode="json"),
        name=spec.tracking.model_name or spec.name,
        trained_until=dataset.cut.isoformat(),
        metadata={"params": params, "early_stopping_rounds": rounds, "kind": spec.model.kind},
    )
