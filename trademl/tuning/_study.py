"""Run a study: create or resume it by name, optimise (one or several processes), summarise.

A study is resumed, not restarted: running the same spec again completes only the trials
still missing (a crashed run picks up where it stopped; a finished one does no work).
"""

from __future__ import annotations

import contextlib
import logging
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from trademl.config.tuning import TuningSpec
from trademl.errors import SpecError
from trademl.tuning._pruners import make_pruner
from trademl.tuning._samplers import make_sampler
from trademl.tuning._space import grid_values
from trademl.tuning._storage import describe_storage, make_storage

__all__ = ["TuningResult", "tune"]

logger = logging.getLogger(__name__)

Progress = Callable[[int, int, float | None], None]


@dataclass
class TuningResult:
    study: Any
    study_name: str
    storage: str
    directions: list[str]
    best_params: dict[str, Any]
    best_values: list[float]
    n_complete: int
    n_pruned: int
    # per-bar CV Sharpe of every completed trial (the folds' net returns pooled, through
    # the backtest engine, like the holdout's oos_sharpe): its spread deflates the winner
    trial_sharpes: list[float] = field(default_factory=list)
    pareto: list[dict[str, Any]] = field(default_factory=list)
    best_trial_number: int | None = None
    elapsed: float = 0.0

    @property
    def n_trials(self) -> int:
        return self.n_complete + self.n_pruned

    @property
    def sharpe_variance(self) -> float:
        """Variance (ddof=1) of the trials' per-bar CV Sharpes, for the deflated Sharpe."""
        values = np.asarray(self.trial_sharpes, dtype=float)
        return float(values.var(ddof=1)) if len(values) > 1 else 0.0


def _finished(study) -> int:
    from optuna.trial import TrialState

    return len(study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)))


def _open_study(spec: TuningSpec, name: str, space: dict, seed: int, n_folds: int, worker: int = 0):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = make_storage(spec.storage, spec.n_jobs)
    sampler = make_sampler(
        spec.sampler, space, seed=seed + worker, n_startup_trials=spec.n_startup_trials
    )
    pruner = make_pruner(spec.pruner_name, n_folds=n_folds, n_startup_trials=spec.n_startup_trials)
    return optuna.create_study(
        study_name=name,
        storage=storage,
        sampler=sampler,
        pruner=pruner,
        directions=spec.directions,
        load_if_exists=True,
    )


def _worker(spec, name, space, seed, n_folds, worker, objective, target) -> None:
    """One process of a parallel study: optimise until the study holds ``target`` trials."""
    import optuna
    from optuna.study import MaxTrialsCallback
    from optuna.trial import TrialState

    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    study = _open_study(spec, name, space, seed, n_folds, worker)
    stop = MaxTrialsCallback(target, states=(TrialState.COMPLETE, TrialState.PRUNED))
    study.optimize(objective, n_trials=target, callbacks=[stop], timeout=spec.timeout)


def _fail_stale_trials(study) -> int:
    """Trials left RUNNING by a crashed run are marked FAIL so the resumed run redoes them."""
    from optuna.trial import TrialState

    stale = study.get_trials(deepcopy=False, states=(TrialState.RUNNING,))
    for trial in stale:
        study._storage.set_trial_state_values(trial._trial_id, state=TrialState.FAIL)
    return len(stale)


def tune(
    objective: Callable,
    spec: TuningSpec,
    *,
    space: dict[str, Any],
    study_name: str,
    seed: int = 0,
    n_folds: int = 5,
    progress: Progress | None = None,
) -> TuningResult:
    """Optimise ``objective`` for ``spec.n_trials`` finished trials in the named study."""
    import optuna
    from optuna.trial import TrialState

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if not space:
        raise SpecError("model.search_space: empty, nothing to tune (set tuning.n_trials: 0)")
    started = time.perf_counter()
    storage_url = describe_storage(spec.storage, spec.n_jobs)
    if not spec.resume:
        with contextlib.suppress(KeyError):
            optuna.delete_study(
                study_name=study_name, storage=make_storage(spec.storage, spec.n_jobs)
            )
    study = _open_study(spec, study_name, space, seed, n_folds)
    stale = _fail_stale_trials(study)
    if stale:
        logger.warning(
            "study %s: %d trial(s) left running by an earlier crash marked failed",
            study_name,
            stale,
        )
    target = spec.n_trials
    if spec.sampler == "grid":
        grid_size = int(np.prod([len(v) for v in grid_values(space).values()]))
        target = min(target, grid_size)
    done = _finished(study)
    if done:
        logger.info("study %s resumed with %d finished trial(s)", study_name, done)
    remaining = max(0, target - done)
    if done and not remaining:
        # the study is keyed by spec, data and feature code, so its trials are of this
        # very experiment; still, nothing new is tried, and the user should know
        logger.warning(
            "study %s already has %d finished trial(s) (target %d): no new trial runs; "
            "raise tuning.n_trials or set tuning.resume: false to search again",
            study_name,
            done,
            target,
        )

    def best_so_far() -> float | None:
        if len(spec.directions) > 1:
            return None
        try:
            return float(study.best_value)
        except ValueError:
            return None

    if progress is not None:
        progress(done, target, best_so_far())
    if remaining and spec.n_jobs == 1:
        callbacks = []
        if progress is not None:
            callbacks.append(lambda s, t: progress(_finished(s), target, best_so_far()))
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
            study.optimize(objective, n_trials=remaining, timeout=spec.timeout, callbacks=callbacks)
    elif remaining:
        _optimize_in_processes(
            objective, spec, study_name, space, seed, n_folds, target, study, progress, best_so_far
        )

    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    pruned = study.get_trials(deepcopy=False, states=(TrialState.PRUNED,))
    if not complete:
        raise SpecError(
            f"tuning: no trial of study {study_name!r} completed ({len(pruned)} pruned); "
            "widen the search space or use fewer folds"
        )
    sharpes = [t.user_attrs["sharpe_per_bar"] for t in complete if "sharpe_per_bar" in t.user_attrs]
    result = TuningResult(
        study=study,
        study_name=study_name,
        storage=storage_url,
        directions=spec.directions,
        best_params={},
        best_values=[],
        n_complete=len(complete),
        n_pruned=len(pruned),
        trial_sharpes=sharpes,
        elapsed=time.perf_counter() - started,
    )
    if len(spec.directions) == 1:
        best = study.best_trial
        result.best_params = dict(best.params)
        result.best_values = [float(best.value)]
        result.best_trial_number = best.number
    else:
        front = study.best_trials
        result.pareto = [
            {"number": t.number, "values": list(t.values), "params": dict(t.params)} for t in front
        ]
        # the winner on the front: best first objective, ties broken by trial number
        sign = 1.0 if spec.directions[0] == "maximize" else -1.0
        best = max(front, key=lambda t: (sign * t.values[0], -t.number))
        result.best_params = dict(best.params)
        result.best_values = [float(v) for v in best.values]
        result.best_trial_number = best.number
    return result


def _optimize_in_processes(
    objective, spec, name, space, seed, n_folds, target, study, progress, best_so_far
):
    """``spec.n_jobs`` worker processes share the study through the journal (or RDB) storage."""
    import multiprocessing

    # spawn, not fork: LightGBM/XGBoost OpenMP pools do not survive a fork
    context = multiprocessing.get_context("spawn")
    workers = [
        context.Process(
            target=_worker,
            args=(spec, name, space, seed, n_folds, i + 1, objective, target),
            daemon=True,
        )
        for i in range(spec.n_jobs)
    ]
    for process in workers:
        process.start()
    try:
        while any(p.is_alive() for p in workers):
            time.sleep(0.5)
            if progress is not None:
                progress(min(_finished(study), target), target, best_so_far())
    finally:
        for process in workers:
            process.join(timeout=1)
            if process.is_alive():
                process.terminate()
    failed = [p.exitcode for p in workers if p.exitcode not in (0, None)]
    if failed:
        raise RuntimeError(f"tuning: {len(failed)} worker process(es) failed (exit codes {failed})")
