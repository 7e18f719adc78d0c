"""Every trial as a child MLflow run of the experiment's run (params, scores, fold curve)."""

from __future__ import annotations

import math

__all__ = ["log_trials"]


def log_trials(study, spec, metric_names: list[str]) -> int:
    """Log each finished trial of ``study`` as a child of the active run; return the count.

    Runs after the search (from the main process), so trials that ran in worker
    processes are logged the same way and the MLflow store sees one writer.
    """
    from optuna.trial import TrialState

    from trademl.tracking import log_metrics_batch, log_params, start_run

    count = 0
    for trial in study.get_trials(deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED)):
        tags = {"trademl.trial": str(trial.number), "trademl.trial_state": trial.state.name}
        with start_run(spec, run_name=f"trial-{trial.number:04d}", nested=True, tags=tags):
            if trial.params:
                log_params(trial.params)
            metrics = {
                k.removeprefix("cv_"): float(v)
                for k, v in trial.user_attrs.items()
                if k.startswith("cv_") and isinstance(v, int | float) and math.isfinite(v)
            }
            if trial.values is not None:
                for name, value in zip(metric_names, trial.values, strict=False):
                    metrics[f"objective_{name}"] = float(value)
            if trial.duration is not None:
                metrics["duration_s"] = trial.duration.total_seconds()
            if metrics:
                log_metrics_batch(metrics)
            for step, value in sorted(trial.intermediate_values.items()):
                if math.isfinite(value):
                    log_metrics_batch({"fold_running_score": float(value)}, step=int(step))
        count += 1
    return count
