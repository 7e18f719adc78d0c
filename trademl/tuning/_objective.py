"""The tuning objective: the purged cross-validated score of one parameter choice.

Each fold's score is reported to the trial as an intermediate value (the running mean),
so a pruner can stop a trial whose first folds are already worse than other trials'.
Per-trial work is a plain function of its inputs (no global state), so trials can run
in other processes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from trademl.models.factory import build_model
from trademl.models.signals import signal_from_predictions, strategy_returns, turnover

__all__ = ["CVData", "CrossValidatedObjective", "evaluate_predictions", "fit_predict"]

logger = logging.getLogger(__name__)

CLASSIFICATION_ONLY = {"accuracy", "balanced_accuracy", "auc", "log_loss"}
REGRESSION_ONLY = {"rmse"}


@dataclass
class CVData:
    """Rows in time order (several symbols interleaved by timestamp) and their folds."""

    X: pd.DataFrame
    y: np.ndarray
    next_return: np.ndarray  # simple return bar t -> t+1, what a position held at t earns
    forward_return: np.ndarray  # return over the label horizon, for the IC
    folds: list[tuple[np.ndarray, np.ndarray]]
    periods_per_year: float
    groups: np.ndarray | None = None  # symbol per row when several symbols are pooled
    fee_bp: float = 10.0
    # how predictions become positions (the backtest section's threshold and shorting)
    threshold: float = 0.5
    allow_short: bool = True


@dataclass
class Predictions:
    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: np.ndarray | None
    signal: np.ndarray


def fit_predict(
    model_spec,
    task: str,
    params: dict[str, Any],
    data: CVData,
    train: np.ndarray,
    test: np.ndarray,
    *,
    purge: int,
    seed: int,
    per_symbol: bool = False,
) -> tuple[Predictions, list]:
    """Fit on ``train`` rows, predict ``test`` rows; one model per symbol if asked."""
    y_pred = np.empty(len(test), dtype=float if task == "regression" else data.y.dtype)
    proba = None
    classes = None
    models = []
    parts = [(None, np.arange(len(test)))]
    if per_symbol and data.groups is not None:
        parts = [(g, np.flatnonzero(data.groups[test] == g)) for g in np.unique(data.groups[test])]
    for group, where in parts:
        rows_train = train if group is None else train[data.groups[train] == group]
        rows_test = test[where]
        model = build_model(model_spec, task, params=params, random_state=seed, purge=purge)
        model.fit(data.X.iloc[rows_train], data.y[rows_train])
        models.append(model)
        if task == "classification":
            p = model.predict_proba(data.X.iloc[rows_test])
            if proba is None:
                classes = model.classes_
                proba = np.zeros((len(test), len(classes)))
            elif not np.array_equal(classes, model.classes_):
                raise ValueError(f"symbol {group} has classes {model.classes_}, others {classes}")
            proba[where] = p
            y_pred[where] = model.classes_[p.argmax(axis=1)]
        else:
            y_pred[where] = model.predict(data.X.iloc[rows_test])
    signal = signal_from_predictions(
        y_pred,
        proba,
        classes,
        threshold=data.threshold,
        position="long_short" if data.allow_short else "long_only",
    )
    return Predictions(y_pred, proba, classes, signal), models


def _safe(fn, *args) -> float:
    """NaN where a metric is undefined on a fold (one class only, constant input)."""
    try:
        value = float(fn(*args))
    except ValueError:
        return float("nan")
    return value


def evaluate_predictions(
    pred: Predictions, data: CVData, rows: np.ndarray, timestamps: pd.Index
) -> tuple[dict[str, float], pd.Series]:
    """Every metric the objective may use, and the strategy's per-bar returns on ``rows``."""
    from sklearn.metrics import log_loss, roc_auc_score

    from trademl.validation import metrics as m

    y_true = data.y[rows]
    groups = None if data.groups is None else data.groups[rows]
    returns = strategy_returns(
        pred.signal,
        data.next_return[rows],
        fee_bp=data.fee_bp,
        groups=groups,
        timestamps=timestamps,
    )
    std = float(returns.std(ddof=1)) if len(returns) > 1 else 0.0
    per_bar = float(returns.mean() / std) if std > 0 else 0.0
    out = {
        "sharpe": per_bar * float(np.sqrt(data.periods_per_year)),
        "sharpe_per_bar": per_bar,
        "turnover": turnover(pred.signal, groups),
    }
    if pred.proba is not None:
        up = int(np.argmax(pred.classes))
        down = int(np.argmin(pred.classes))
        score = pred.proba[:, up] - pred.proba[:, down]
        out["accuracy"] = m.accuracy(y_true, pred.y_pred)
        out["balanced_accuracy"] = m.balanced_accuracy(y_true, pred.y_pred)
        out["log_loss"] = _safe(lambda: log_loss(y_true, pred.proba, labels=pred.classes))
        if len(pred.classes) == 2:
            out["auc"] = _safe(lambda: roc_auc_score(y_true == pred.classes[up], pred.proba[:, up]))
    else:
        score = pred.y_pred
        out["rmse"] = m.rmse(y_true, pred.y_pred)
    out["ic"] = _safe(m.information_coefficient, score, data.forward_return[rows])
    return out, returns


class CrossValidatedObjective:
    """``objective(trial)`` → mean fold score(s) of the trial's parameters."""

    def __init__(
        self,
        model_spec,
        data: CVData,
        *,
        task: str,
        metrics: list[str],
        space: dict[str, Any],
        purge: int,
        seed: int,
        per_symbol: bool = False,
        timestamps: pd.Index | None = None,
    ):
        self.model_spec = model_spec
        self.data = data
        self.task = task
        self.metrics = metrics
        self.space = space
        self.purge = purge
        self.seed = seed
        self.per_symbol = per_symbol
        self.timestamps = timestamps

    def __call__(self, trial):
        import optuna

        from trademl.tuning._space import suggest_params

        params = suggest_params(trial, self.space)
        primary = self.metrics[0]
        fold_scores: dict[str, list[float]] = {}
        all_returns = []
        for step, (train, test) in enumerate(self.data.folds):
            pred, _ = fit_predict(
                self.model_spec,
                self.task,
                params,
                self.data,
                train,
                test,
                purge=self.purge,
                seed=self.seed,
                per_symbol=self.per_symbol,
            )
            stamps = None if self.timestamps is None else self.timestamps[test]
            scores, returns = evaluate_predictions(pred, self.data, test, stamps)
            all_returns.append(returns.to_numpy())
            for name, value in scores.items():
                fold_scores.setdefault(name, []).append(value)
            if len(self.metrics) == 1:
                running = float(np.nanmean(fold_scores[primary]))
                trial.report(running, step)
                if trial.should_prune():
                    trial.set_user_attr("pruned_after_folds", step + 1)
                    raise optuna.TrialPruned(f"fold {step}: {primary}={running:.4f}")
        returns = np.concatenate(all_returns)
        std = returns.std(ddof=1) if len(returns) > 1 else 0.0
        trial.set_user_attr("sharpe_per_bar", float(returns.mean() / std) if std > 0 else 0.0)
        trial.set_user_attr("n_obs", int(len(returns)))
        means = {
            name: float(np.nanmean(v)) for name, v in fold_scores.items() if not np.all(np.isnan(v))
        }
        for name, value in means.items():
            trial.set_user_attr(f"cv_{name}", value)
        trial.set_user_attr("fold_" + primary, [float(v) for v in fold_scores[primary]])
        values = []
        for name in self.metrics:
            value = means.get(name, float("nan"))
            if not np.isfinite(value):
                raise optuna.TrialPruned(f"{name} is undefined on these folds")
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)
