"""The tuning objective: the purged cross-validated score of one parameter choice.

Each fold's test rows are scored like the holdout is (``trademl.evaluation``): model
scores from the metric registry, and the strategy through the backtest engine's cheap
path with the spec's execution lag, fees, slippage and sizing. Strategy figures
(``cv_sharpe``, ``cv_turnover``, ...) POOL the folds: the folds' per-bar net returns are
concatenated and one figure is computed over all of them, so ``cv_sharpe`` is the same
quantity as the holdout's ``oos_sharpe`` on other rows and the deflated Sharpe's trial
spread (``sharpe_per_bar``, ``n_obs``) is measured on the same footing. Model scores
(accuracy, AUC, IC, ...) are the mean over folds (each fold has its own model).

After each fold the running value of the objective (pooled over the folds so far, or
the running mean) is reported to the trial, so a pruner can stop a trial whose first
folds are already worse than other trials'. Per-trial work is a plain function of its
inputs (no global state), so trials can run in other processes.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trademl.errors import DataError, SpecError
from trademl.models.factory import build_model
from trademl.models.signals import prob_up, signal_from_predictions

__all__ = [
    "CVData",
    "CrossValidatedObjective",
    "Predictions",
    "evaluate_predictions",
    "fit_predict",
]

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config.backtest import BacktestSpec

logger = logging.getLogger(__name__)


@dataclass
class CVData:
    """Rows in time order (several symbols interleaved by timestamp), their folds, and how
    positions become returns.

    ``X``: features indexed by timestamp (rows sorted by timestamp then symbol); ``y``:
    labels; ``folds``: (train, test) arrays of row positions; ``close``: each row's
    close; ``forward_return``: close[t+h] / close[t] - 1 over the label horizon (for IC and
    hit rate); ``symbol``: each row's symbol; ``backtest``: the spec's ``BacktestSpec``;
    ``periods_per_year``: from the timeframe, for the annualised figures.
    """

    X: pd.DataFrame
    y: np.ndarray
    folds: list[tuple[np.ndarray, np.ndarray]]
    close: np.ndarray
    forward_return: np.ndarray
    symbol: np.ndarray
    backtest: BacktestSpec
    periods_per_year: float

    def __post_init__(self) -> None:
        n = len(self.X)
        self.y = np.asarray(self.y)
        self.close = np.asarray(self.close, dtype="float64")
        self.forward_return = np.asarray(self.forward_return, dtype="float64")
        self.symbol = np.asarray(self.symbol).astype(str)
        for name in ("y", "close", "forward_return", "symbol"):
            length = len(getattr(self, name))
            if length != n:
                raise DataError(f"CVData.{name}: {length} values for {n} rows of X")
        if not float(self.periods_per_year) > 0:
            raise DataError(
                f"CVData.periods_per_year must be positive, got {self.periods_per_year!r}"
            )


@dataclass
class Predictions:
    y_pred: np.ndarray
    proba: np.ndarray | None
    classes: np.ndarray | None
    signal: np.ndarray

    @property
    def p_up(self) -> np.ndarray | None:
        """P(up) per row for a classifier (the ``proba`` column of the holdout), else None."""
        return None if self.proba is None else prob_up(self.proba, self.classes)


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
    """Fit on ``train`` rows, predict ``test`` rows; one model per symbol if asked.

    The signal follows the spec's backtest section: long when P(up) > 0.5 + ``threshold``
    (short when P(down) is), flat between; shorts become flat unless ``allow_short``.
    """
    y_pred = np.empty(len(test), dtype=float if task == "regression" else data.y.dtype)
    proba = None
    classes = None
    models = []
    parts = [(None, np.arange(len(test)))]
    if per_symbol and len(np.unique(data.symbol)) > 1:
        parts = [(g, np.flatnonzero(data.symbol[test] == g)) for g in np.unique(data.symbol[test])]
    for group, where in parts:
        rows_train = train if group is None else train[data.symbol[train] == group]
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
        threshold=0.5 + float(data.backtest.threshold),
        position="long_short" if data.backtest.allow_short else "long_only",
    )
    return Predictions(y_pred, proba, classes, signal), models


def _blocks(rows: np.ndarray) -> list[np.ndarray]:
    """Runs of consecutive row positions: each is backtested on its own (starting flat),
    so a position never carries across rows left out of the fold."""
    breaks = np.flatnonzero(np.diff(rows) != 1) + 1
    return np.split(np.arange(len(rows)), breaks) if len(breaks) else [np.arange(len(rows))]


def fold_run(data: CVData, rows: np.ndarray, signal: np.ndarray, proba: np.ndarray | None,
             *, backtest=None, timestamps: pd.Index | None = None):  # fmt: skip
    """The engine's run over ``rows`` (sorted row positions) with these model outputs."""
    from trademl.backtest._strategy import StrategyRun, run_strategy

    backtest = data.backtest if backtest is None else backtest
    index = data.X.index if timestamps is None else timestamps
    runs = []
    for block in _blocks(rows):
        where = rows[block]
        runs.append(
            run_strategy(
                pd.Series(data.close[where], index=index[where], copy=False),
                signal[block],
                proba=None if proba is None else proba[block],
                symbols=data.symbol[where],
                backtest=backtest,
            )
        )
    return StrategyRun.concat(runs)


def evaluate_predictions(pred: Predictions, data: CVData, rows: np.ndarray,
                         timestamps: pd.Index | None = None):  # fmt: skip
    """Model scores of one fold and the engine's run on its rows: (metrics, StrategyRun)."""
    from trademl.evaluation import model_metrics

    rows = np.asarray(rows)
    if len(rows) > 1 and not (np.diff(rows) > 0).all():
        raise DataError("fold rows must be sorted ascending (time order)")
    p_up = pred.p_up
    scores = model_metrics(
        "classification" if pred.proba is not None else "regression",
        y_true=data.y[rows],
        y_pred=pred.y_pred,
        proba=p_up,
        signal=pred.signal,
        forward_return=data.forward_return[rows],
        log=logger.debug,  # a fold with one class is common: not worth a warning per trial
    )
    return scores, fold_run(data, rows, pred.signal, p_up, timestamps=timestamps)


class CrossValidatedObjective:
    """``objective(trial)`` → the cross-validated score(s) of the trial's parameters."""

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
        on_fold: Callable[[int, int, int], None] | None = None,
    ):
        self.model_spec = model_spec
        self.data = data
        self.task = task
        self.metrics = metrics
        self.space = space
        self.purge = purge
        self.seed = seed
        self.per_symbol = per_symbol
        self.timestamps = timestamps  # the rows' timestamps; default ``data.X.index``
        # progress: on_fold(trial number, folds done, folds) after each fold
        self.on_fold = on_fold
        self._buy_and_hold: list | None = None  # per fold; the same for every trial

    def _check(self) -> list[str]:
        """The objective metrics' canonical names, once they are known to be scored."""
        from trademl.backtest._strategy import sizing_input
        from trademl.validation.metrics import get_metric, metric_names

        scored = metric_names(self.task)
        for name in self.metrics:
            if get_metric(name).name not in scored:
                raise SpecError(
                    f"tuning.metric: {name!r} is not scored for a {self.task} model; "
                    f"choose from {', '.join(scored)}"
                )
        if self.task == "regression" and sizing_input(self.data.backtest) == "proba":
            raise SpecError(
                f"backtest.sizing={self.data.backtest.sizing!r} needs probabilities, which a "
                "regression model does not give; use sizing 'sign' or 'fixed'"
            )
        return [get_metric(name).name for name in self.metrics]

    def _held(self, step: int):
        """The buy-and-hold run of fold ``step`` (computed once, reused by every trial)."""
        from trademl.backtest._strategy import buy_and_hold_spec

        if self._buy_and_hold is None:
            self._buy_and_hold = [None] * len(self.data.folds)
        if self._buy_and_hold[step] is None:
            test = np.asarray(self.data.folds[step][1])
            self._buy_and_hold[step] = fold_run(
                self.data, test, np.ones(len(test)), None,
                backtest=buy_and_hold_spec(self.data.backtest), timestamps=self.timestamps,
            )  # fmt: skip
        return self._buy_and_hold[step]

    def _pooled(self, runs: list) -> dict[str, float]:
        from trademl.backtest._strategy import StrategyRun
        from trademl.evaluation import strategy_metrics

        held = StrategyRun.concat([self._held(i) for i in range(len(runs))])
        return strategy_metrics(
            StrategyRun.concat(runs),
            self.data.periods_per_year,
            buy_and_hold=held,
            log=logger.debug,
        )

    def _value(self, name: str, fold_scores: dict[str, list[float]], runs: list) -> float:
        from trademl.validation.metrics import get_metric

        if get_metric(name).task == "strategy":
            return self._pooled(runs).get(name, float("nan"))
        values = np.asarray(fold_scores.get(name, []), dtype=float)
        finite = values[np.isfinite(values)]
        return float(finite.mean()) if finite.size else float("nan")

    def _per_fold(self, name: str, fold_scores: dict[str, list[float]], runs: list) -> list:
        """``name`` on each fold alone (strategy figures: that fold's bars only)."""
        from trademl.evaluation import strategy_metrics
        from trademl.validation.metrics import get_metric

        if get_metric(name).task != "strategy":
            return [float(v) for v in fold_scores.get(name, [])]
        ppy = self.data.periods_per_year
        return [
            float(strategy_metrics(run, ppy, buy_and_hold=self._held(i), log=logger.debug)
                  .get(name, float("nan")))
            for i, run in enumerate(runs)
        ]  # fmt: skip

    def __call__(self, trial):
        import optuna

        from trademl.backtest._strategy import StrategyRun
        from trademl.models.deep._reporting import epoch_pruning
        from trademl.tuning._space import suggest_params
        from trademl.validation.metrics import sharpe

        names = self._check()
        params = suggest_params(trial, self.space)
        primary = names[0]
        fold_scores: dict[str, list[float]] = {}
        runs = []
        for step, (train, test) in enumerate(self.data.folds):
            # networks report each epoch's validation loss, so a pruner can stop mid-fold
            watch = epoch_pruning(trial, step) if len(names) == 1 else contextlib.nullcontext()
            with watch:
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
            scores, run = evaluate_predictions(pred, self.data, test, self.timestamps)
            runs.append(run)
            if self.on_fold is not None:
                self.on_fold(trial.number, step + 1, len(self.data.folds))
            for name in set(fold_scores) | set(scores):
                fold_scores.setdefault(name, [float("nan")] * step).append(
                    scores.get(name, float("nan"))
                )
            if len(names) == 1:
                running = self._value(primary, fold_scores, runs)
                if np.isfinite(running):
                    trial.report(running, step)
                if trial.should_prune():
                    trial.set_user_attr("pruned_after_folds", step + 1)
                    raise optuna.TrialPruned(f"fold {step}: {primary}={running:.4f}")
        pooled = StrategyRun.concat(runs).returns.to_numpy()
        trial.set_user_attr("sharpe_per_bar", sharpe(pooled, 1.0))
        trial.set_user_attr("n_obs", int(len(pooled)))
        values_by_name = {
            name: self._value(name, fold_scores, runs) for name in fold_scores
        } | self._pooled(runs)
        for name, value in values_by_name.items():
            if np.isfinite(value):
                trial.set_user_attr(f"cv_{name}", float(value))
        trial.set_user_attr("fold_" + primary, self._per_fold(primary, fold_scores, runs))
        values = []
        for name in names:
            value = values_by_name.get(name, float("nan"))
            if not np.isfinite(value):
                raise optuna.TrialPruned(f"{name} is undefined on these folds")
            values.append(value)
        return values[0] if len(values) == 1 else tuple(values)
