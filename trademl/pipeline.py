"""``run(spec)``: the end-to-end experiment, the one place where the stages are wired.

data → features → labels → final out-of-sample holdout (purged, never seen by tuning) →
Optuna search scored by purged CV on the rest → refit the best on all of the rest →
predict the holdout → evaluate (ML metrics, backtest net of fees, deflated Sharpe) →
MLflow run with every trial as a child → registered version → promotion gate.

Every check that needs no data runs first (``check_spec``), then the data-dependent
ones, so a bad spec fails before minutes of work.
"""

from __future__ import annotations

import hashlib
import json
import logging
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from trademl.errors import DataError, SpecError

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec
    from trademl.tuning import TuningResult

__all__ = ["RunResult", "check_spec", "run", "summary_table"]

logger = logging.getLogger(__name__)

# the task each label kind is learnt with
LABEL_TASKS = {
    "direction": "classification",
    "triple_barrier": "classification",
    "trend_scanning": "classification",
    "forward_return": "regression",
}
CLASSIFICATION_METRICS = {"accuracy", "balanced_accuracy", "auc", "log_loss"}
REGRESSION_METRICS = {"rmse"}
DEFAULT_HOLDOUT = 0.2
# a pooled multi-symbol model sees the symbol as one-hot columns with this prefix
SYMBOL_PREFIX = "symbol="


@dataclass
class RunResult:
    """What a run produced; every figure is also on the MLflow run ``run_id``."""

    run_id: str | None
    experiment: str
    metrics: dict[str, float]
    best_params: dict[str, Any]
    predictions: pd.DataFrame
    models: dict[str, Any]
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


# ---- checks before any work ---------------------------------------------------------------
def _task(spec: ExperimentSpec) -> str:
    return LABEL_TASKS[spec.labels.kind]


def check_spec(spec: ExperimentSpec) -> None:
    """Raise ``SpecError`` for a spec that cannot run, before any data is read."""
    from trademl.models.factory import card
    from trademl.tuning import describe_storage, grid_values

    task = _task(spec)
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
    unknown = sorted(set(spec.tracking.gates) - _metric_names(task))
    if unknown:
        raise SpecError(
            f"tracking.gates: unknown metric(s) {unknown}; known: {sorted(_metric_names(task))}"
        )


def _metric_names(task: str) -> set[str]:
    base = {"sharpe", "sortino", "max_drawdown", "total_return", "turnover", "ic", "hit_rate"}
    names = {f"oos_{m}" for m in base} | {"deflated_sharpe", "cv_sharpe", "n_trials"}
    names |= {f"oos_{m}" for m in ("accuracy", "balanced_accuracy", "roc_auc", "log_loss", "f1")}
    names |= {f"oos_{m}" for m in ("rmse", "mae", "r2")}
    names |= {"oos_annual_return", "oos_volatility", "oos_calmar", "probabilistic_sharpe"}
    return names


def _check_data(spec: ExperimentSpec, frames: dict[str, pd.DataFrame]) -> None:
    h = spec.labels.horizon
    n_splits = spec.validation.n_splits
    for symbol, frame in frames.items():
        n = len(frame)
        if h >= n:
            raise SpecError(
                f"labels.horizon={h} bars is longer than the data: {symbol} has {n} bars"
            )
        start = _holdout_start(spec)
        if start is not None and not frame.index[0] < start <= frame.index[-1]:
            raise SpecError(
                f"validation.holdout_start={start:%Y-%m-%d %H:%M} is outside the data: "
                f"{symbol} covers {frame.index[0]:%Y-%m-%d %H:%M} -> {frame.index[-1]:%Y-%m-%d %H:%M}"
            )
        needed = max(300, 4 * (h + spec.validation.embargo) * (n_splits + 1))
        if n < needed:
            raise SpecError(
                f"{symbol} has {n} bars, too few for labels.horizon={h} with "
                f"validation.n_splits={n_splits} (need at least {needed})"
            )


# ---- progress --------------------------------------------------------------------------
class _Progress:
    """A rich display of the stage, trial i/N and the best score so far (or nothing)."""

    def __init__(self, enabled: bool, n_trials: int, console=None):
        self.enabled = enabled
        self.n_trials = n_trials
        self.console = console
        self._progress = None
        self._stage = None
        self._trials = None

    @contextmanager
    def show(self):
        if not self.enabled:
            yield self
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )

        with Progress(
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=self.console,
            transient=False,
        ) as progress:
            self._progress = progress
            self._stage = progress.add_task("stage: data", total=8)
            yield self

    def stage(self, name: str, number: int) -> None:
        logger.info("stage %d/8: %s", number, name)
        if self._progress is not None:
            self._progress.update(self._stage, description=f"stage: {name}", completed=number - 1)

    def trial(self, done: int, total: int, best: float | None) -> None:
        if self._progress is None:
            return
        if self._trials is None:
            self._trials = self._progress.add_task("trials", total=total)
        text = "trials" if best is None else f"trials (best {best:.4f})"
        self._progress.update(self._trials, completed=done, total=total, description=text)

    def done(self) -> None:
        if self._progress is not None:
            self._progress.update(self._stage, description="stage: done", completed=8)


# ---- data → rows -----------------------------------------------------------------------
@dataclass
class _Rows:
    """Every usable row of every symbol, sorted by timestamp then symbol."""

    X: pd.DataFrame  # index: timestamp (repeats across symbols)
    y: np.ndarray
    label_end: pd.Series  # timestamp of the last bar each label reads (same order)
    symbol: np.ndarray
    close: np.ndarray
    next_return: np.ndarray
    forward_return: np.ndarray
    timeframe: str


def _load(spec: ExperimentSpec, base_dir: Path | None) -> dict[str, pd.DataFrame]:
    from trademl.data.dataset import load_data
    from trademl.data.validation import find_problems, validate_ohlcv

    frames = load_data(spec.data, base_dir=_data_base(spec, base_dir))
    for symbol, frame in frames.items():
        problems = find_problems(frame, spec.data.timeframe)
        kinds = {p["kind"] for p in problems}
        if kinds - {"gaps"}:
            validate_ohlcv(frame, spec.data.timeframe)  # raises, naming rows and timestamps
        if "gaps" in kinds:
            # real exchange outages: features and labels work by bar position, so they stay
            gap = next(p for p in problems if p["kind"] == "gaps")
            logger.warning("%s: %s (kept as they are)", symbol, gap["message"])
    return frames


def _data_base(spec: ExperimentSpec, base_dir: Path | None) -> Path | None:
    """The spec file's folder if the relative data paths exist there, else the cwd."""
    if base_dir is None:
        return None
    sources = [spec.data.path] if spec.data.path else list((spec.data.symbols or {}).values())
    relative = [s for s in sources if s and not Path(s).expanduser().is_absolute()]
    found_beside_spec = any((base_dir / s).exists() for s in relative)
    if relative and not found_beside_spec and all(Path(s).exists() for s in relative):
        return None
    return base_dir


def _symbol_rows(spec: ExperimentSpec, symbol: str, frame: pd.DataFrame) -> pd.DataFrame:
    from trademl.features import generate_features
    from trademl.labels import make_labels

    features = generate_features(frame, spec.features)
    labels = make_labels(frame, spec.labels)
    close = frame["close"].astype(float)
    h = spec.labels.horizon
    table = features.copy()
    table["__y"] = labels.values
    table["__end"] = labels.end
    table["__close"] = close
    table["__next"] = close.shift(-1) / close - 1.0
    table["__forward"] = np.log(close.shift(-h) / close)
    table["__symbol"] = symbol
    return table


def _assemble(spec: ExperimentSpec, frames: dict[str, pd.DataFrame]) -> _Rows:
    from trademl.data.timeframe import infer_timeframe

    tables = [_symbol_rows(spec, s, f) for s, f in frames.items()]
    table = pd.concat(tables) if len(tables) > 1 else tables[0]
    meta = [c for c in table.columns if c.startswith("__")]
    features = table.columns.difference(meta, sort=False)
    values = table[features].replace([np.inf, -np.inf], np.nan)
    # a feature that is mostly missing (no order-book data, very long warm-up) is dropped
    # rather than throwing away most rows
    keep = values.columns[values.isna().mean() <= 0.2]
    dropped = sorted(set(values.columns) - set(keep))
    if dropped:
        logger.info("dropped %d mostly-missing feature(s): %s", len(dropped), dropped[:10])
    values = values[keep]
    usable = values.notna().all(axis=1) & table["__y"].notna() & table["__next"].notna()
    usable &= table["__forward"].notna()
    if not usable.any():
        raise DataError("no row has every feature and a known label; check features and horizon")
    table = table.loc[usable.to_numpy()]
    values = values.loc[usable.to_numpy()]
    order = np.lexsort((table["__symbol"].to_numpy(), table.index.asi8))
    table = table.iloc[order]
    values = values.iloc[order].astype(np.float32 if spec.features.float32 else np.float64)
    symbols = table["__symbol"].to_numpy().astype(str)
    if len(frames) > 1 and spec.model.multi_symbol == "pooled":
        for name in frames:
            values[f"{SYMBOL_PREFIX}{name}"] = (symbols == name).astype(values.dtypes.iloc[0])
    y = table["__y"].to_numpy()
    if _task(spec) == "classification":
        y = y.astype(np.int64)
    timeframe = spec.data.timeframe or infer_timeframe(next(iter(frames.values())).index)
    return _Rows(
        X=values,
        y=y,
        label_end=pd.Series(pd.DatetimeIndex(table["__end"]), index=table.index),
        symbol=symbols,
        close=table["__close"].to_numpy(float),
        next_return=table["__next"].to_numpy(float),
        forward_return=table["__forward"].to_numpy(float),
        timeframe=timeframe,
    )


def _holdout_start(spec: ExperimentSpec) -> pd.Timestamp | None:
    start = spec.validation.holdout_start
    if start is None:
        return None
    stamp = pd.Timestamp(start)
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


def _holdout(spec: ExperimentSpec, rows: _Rows) -> tuple[np.ndarray, np.ndarray, pd.Timestamp]:
    """(development rows, holdout rows, holdout start): purged by label end, not by count."""
    stamps = rows.X.index.unique()
    start = _holdout_start(spec)
    if start is not None:
        setting = f"validation.holdout_start={start:%Y-%m-%d %H:%M}"
        later = stamps[stamps >= start]
        cut = later.min() if len(later) else stamps.max()
    else:
        fraction = spec.validation.holdout_fraction or DEFAULT_HOLDOUT
        setting = f"validation.holdout_fraction={fraction}"
        cut = stamps[int(np.floor(len(stamps) * (1 - fraction)))]
    times = rows.X.index
    holdout = np.flatnonzero(times >= cut)
    # a development label may not read any holdout bar
    dev = np.flatnonzero((times < cut) & (rows.label_end.to_numpy() < cut))
    if len(holdout) < 50 or len(dev) < 200:
        raise SpecError(
            f"{setting} leaves {len(dev)} development and "
            f"{len(holdout)} holdout rows; use more data or another holdout"
        )
    return dev, holdout, cut


def _folds(
    spec: ExperimentSpec, rows: _Rows, dev: np.ndarray
) -> list[tuple[np.ndarray, np.ndarray]]:
    from trademl.validation import make_splitter

    n_symbols = len(np.unique(rows.symbol))
    X_dev = rows.X.iloc[dev]
    if n_symbols == 1:
        splitter = make_splitter(spec.validation, label_end=rows.label_end.iloc[dev])
    else:
        # rows of several symbols interleave by timestamp: purge by rows, not bars
        splitter = make_splitter(spec.validation, horizon=spec.labels.horizon * n_symbols)
        splitter.embargo = spec.validation.embargo * n_symbols
    try:
        folds = [(np.asarray(tr), np.asarray(te)) for tr, te in splitter.split(X_dev)]
    except ValueError as exc:
        raise SpecError(f"validation: {exc}") from None
    return folds


def _study_name(spec: ExperimentSpec) -> str:
    """The spec's name plus a hash of what the user set that changes what a trial means.

    Trial count, parallelism, timeout, storage and tracking are left out, so raising
    n_trials continues the same study; defaults are left out too, so a new setting added
    to trademl (with its default) does not orphan the studies of existing specs.
    """
    if spec.tuning.study_name:
        return spec.tuning.study_name
    keep = spec.model_dump(
        mode="json", exclude_defaults=True, exclude={"tracking", "monitoring", "name"}
    )
    ignored = {"n_trials", "n_jobs", "timeout", "log_trials", "plots", "resume", "storage"}
    keep["tuning"] = {k: v for k, v in keep.get("tuning", {}).items() if k not in ignored}
    digest = hashlib.sha256(json.dumps(keep, sort_keys=True).encode()).hexdigest()[:10]
    return f"{spec.name}-{digest}"


# ---- evaluation ------------------------------------------------------------------------
def _oos_frame(rows: _Rows, holdout: np.ndarray, pred) -> pd.DataFrame:
    """The contract frame ``predictions/oos.parquet``."""
    if pred.proba is not None:
        from trademl.models.signals import prob_up

        proba = prob_up(pred.proba, pred.classes)
    else:
        proba = np.full(len(holdout), np.nan)
    frame = pd.DataFrame(
        {
            "symbol": pd.array(rows.symbol[holdout], dtype="string"),
            "close": rows.close[holdout],
            "y_true": rows.y[holdout].astype(float),
            "y_pred": np.asarray(pred.y_pred, dtype=float),
            "proba": proba,
            "signal": pred.signal.astype(np.int8),
        },
        index=rows.X.index[holdout],
    )
    frame.index.name = "timestamp"
    return frame


def _evaluate(spec, rows: _Rows, holdout, pred, oos: pd.DataFrame, tuning) -> dict[str, float]:
    from scipy import stats

    from trademl.analytics.periods import periods_per_year
    from trademl.backtest import backtest_predictions
    from trademl.validation import metrics as m
    from trademl.validation.significance import deflated_sharpe_ratio, probabilistic_sharpe_ratio

    y_true = rows.y[holdout]
    out: dict[str, float] = {}
    if pred.proba is not None:
        for k, v in m.classification_metrics(y_true, pred.y_pred, _binary_proba(pred)).items():
            out[f"oos_{k}"] = v
        score = (
            pred.proba[:, int(np.argmax(pred.classes))]
            - pred.proba[:, int(np.argmin(pred.classes))]
        )
    else:
        for k, v in m.regression_metrics(y_true, pred.y_pred).items():
            out[f"oos_{k}"] = v
        score = pred.y_pred
    try:
        out["oos_ic"] = m.information_coefficient(score, rows.forward_return[holdout])
    except ValueError as exc:
        logger.warning("IC undefined on the holdout: %s", exc)
    try:
        out["oos_hit_rate"] = m.hit_rate(rows.forward_return[holdout], pred.signal)
    except ValueError as exc:  # the model stayed flat on the whole holdout
        logger.warning("hit rate undefined on the holdout: %s", exc)

    result = backtest_predictions(oos, spec.backtest)
    returns = result.returns.dropna()
    ppy = periods_per_year(returns.index)
    summary = result.summary(periods_per_year=ppy)
    for key in (
        "sharpe",
        "sortino",
        "max_drawdown",
        "total_return",
        "annual_return",
        "volatility",
        "calmar",
    ):
        if key in summary and summary[key] is not None and np.isfinite(summary[key]):
            out[f"oos_{key}"] = float(summary[key])
    out["oos_turnover"] = float(result.turnover.mean())
    std = returns.std(ddof=1)
    per_bar = float(returns.mean() / std) if std > 0 else 0.0
    out.setdefault("oos_sharpe", per_bar * float(np.sqrt(ppy)))
    n_obs = len(returns)
    skew = float(stats.skew(returns)) if n_obs > 2 else 0.0
    kurt = float(stats.kurtosis(returns, fisher=False)) if n_obs > 3 else 3.0
    out["probabilistic_sharpe"] = float(probabilistic_sharpe_ratio(per_bar, n_obs, skew, kurt, 0.0))
    if tuning is not None and tuning.n_complete > 1:
        # pruned trials were configurations tried and rejected too: they count as trials;
        # the Sharpe spread comes from the completed ones (pruned have no full-CV Sharpe)
        out["deflated_sharpe"] = float(
            deflated_sharpe_ratio(
                per_bar, tuning.n_trials, tuning.sharpe_variance, n_obs, skew, kurt
            )
        )
        out["n_trials"] = float(tuning.n_trials)
        best = tuning.study.trials[tuning.best_trial_number].user_attrs
        if "cv_sharpe" in best:
            out["cv_sharpe"] = float(best["cv_sharpe"])
    else:
        # one configuration tried: nothing to deflate for, DSR equals PSR against zero
        out["deflated_sharpe"] = out["probabilistic_sharpe"]
        out["n_trials"] = 1.0
    return {k: float(v) for k, v in out.items() if v is not None and np.isfinite(v)}


def _binary_proba(pred):
    if pred.classes is not None and len(pred.classes) == 2:
        return pred.proba[:, 1]
    return None


# ---- the run ---------------------------------------------------------------------------
def _resolve(spec, base_dir):
    from trademl.config import ExperimentSpec, load_spec

    if isinstance(spec, ExperimentSpec):
        return spec, (Path(base_dir) if base_dir else None)
    if isinstance(spec, dict):
        return load_spec(spec), (Path(base_dir) if base_dir else None)
    path = Path(spec)
    return load_spec(path), (Path(base_dir) if base_dir else path.resolve().parent)


def run(
    spec, *, progress: bool = True, base_dir: str | Path | None = None, console=None
) -> RunResult:
    """Run the experiment a spec (object, dict or YAML path) describes; see the module doc.

    Relative data paths resolve against the spec file's folder (or ``base_dir``), then
    the working directory.
    """
    started = time.perf_counter()
    spec, base = _resolve(spec, base_dir)
    check_spec(spec)
    task = _task(spec)
    display = _Progress(progress, spec.tuning.n_trials, console)
    with display.show():
        display.stage("data", 1)
        frames = _load(spec, base)
        _check_data(spec, frames)
        display.stage("features + labels", 2)
        rows = _assemble(spec, frames)
        display.stage("holdout + folds", 3)
        dev, holdout, cut = _holdout(spec, rows)
        folds = _folds(spec, rows, dev)
        n_symbols = len(frames)
        purge = spec.labels.horizon * n_symbols
        data = _cv_data(spec, rows, folds=[(dev[tr], dev[te]) for tr, te in folds])
        per_symbol = n_symbols > 1 and spec.model.multi_symbol == "per_symbol"

        tuning_result = None
        best_params: dict[str, Any] = {}
        if spec.tuning.n_trials > 0:
            display.stage(f"tuning ({spec.tuning.n_trials} trials, {len(folds)} folds)", 4)
            tuning_result = _tune(spec, task, data, rows, purge, per_symbol, display)
            best_params = tuning_result.best_params
        display.stage("refit on all development rows", 5)
        from trademl.tuning import fit_predict

        pred, models = fit_predict(
            spec.model, task, best_params, data, dev, holdout,
            purge=purge, seed=spec.seed, per_symbol=per_symbol,
        )  # fmt: skip
        model_map = (
            dict(zip(sorted(np.unique(rows.symbol[holdout])), models, strict=False))
            if per_symbol
            else {"pooled": models[0]}
        )
        display.stage("evaluate holdout", 6)
        oos = _oos_frame(rows, holdout, pred)
        metrics = _evaluate(spec, rows, holdout, pred, oos, tuning_result)
        result = RunResult(
            run_id=None,
            experiment=spec.tracking.experiment or spec.name,
            metrics=metrics,
            best_params=best_params,
            predictions=oos,
            models=model_map,
            tuning=tuning_result,
            study_name=None if tuning_result is None else tuning_result.study_name,
            n_features=rows.X.shape[1],
        )
        if spec.tracking.enabled:
            display.stage("log to MLflow + register", 7)
            _track(spec, rows, dev, holdout, cut, frames, result)
        display.done()
    result.elapsed = time.perf_counter() - started
    return result


def _cv_data(spec, rows: _Rows, folds):
    from trademl.analytics.periods import periods_per_year
    from trademl.tuning import CVData

    return CVData(
        X=rows.X,
        y=rows.y,
        next_return=rows.next_return,
        forward_return=rows.forward_return,
        folds=folds,
        periods_per_year=periods_per_year(rows.X.index.unique()),
        groups=rows.symbol if len(np.unique(rows.symbol)) > 1 else None,
        fee_bp=spec.backtest.fee_bp + spec.backtest.slippage_bp,
        threshold=0.5 + spec.backtest.threshold,
        allow_short=spec.backtest.allow_short,
    )


def _tune(spec, task, data, rows, purge, per_symbol, display):
    from trademl.tuning import CrossValidatedObjective, tune

    space = spec.model.resolved_search_space()
    objective = CrossValidatedObjective(
        spec.model,
        data,
        task=task,
        metrics=spec.tuning.metrics,
        space=space,
        purge=purge,
        seed=spec.seed,
        per_symbol=per_symbol,
        timestamps=rows.X.index,
    )
    return tune(
        objective,
        spec.tuning,
        space=space,
        study_name=_study_name(spec),
        seed=spec.seed,
        n_folds=len(data.folds),
        progress=display.trial,
    )


def _track(spec, rows: _Rows, dev, holdout, cut, frames, result: RunResult) -> None:
    from trademl import tracking
    from trademl.models.factory import card

    result.tracking_uri = tracking.configure(spec.tracking)
    model_name = spec.tracking.model_name or spec.name
    with tracking.start_run(spec, run_name=spec.name) as active, ExitStack() as stack:
        run_id = active.info.run_id
        result.run_id = run_id
        import mlflow

        source = spec.data.path or spec.data.sample or ",".join((spec.data.symbols or {}).values())
        for symbol, frame in frames.items():
            tracking.log_dataset(
                frame,
                source=str(source),
                symbols=[symbol],
                timeframe=rows.timeframe,
                name=f"{symbol}-{rows.timeframe}",
            )
        tracking.log_features(list(rows.X.columns))
        tracking.log_params(
            {
                "best": result.best_params or {"note": "spec params (no tuning)"},
                "holdout_start": cut.isoformat(),
                "rows_development": len(dev),
                "rows_holdout": len(holdout),
                "study_name": result.study_name or "",
            }
        )
        tracking.log_metrics_batch(result.metrics)
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory()))
        oos_path = tmp / "oos.parquet"
        result.predictions.to_parquet(oos_path)
        mlflow.log_artifact(str(oos_path), artifact_path="predictions")
        result.artifacts.append("predictions/oos.parquet")
        tuning_result = result.tuning
        if tuning_result is not None:
            if spec.tuning.log_trials:
                from trademl.tuning import log_trials

                log_trials(tuning_result.study, spec, spec.tuning.metrics)
            if spec.tuning.plots:
                from trademl.tuning import save_plots

                for path in save_plots(tuning_result.study, tmp / "tuning"):
                    mlflow.log_artifact(str(path), artifact_path="tuning")
                    result.artifacts.append(f"tuning/{path.name}")
            if tuning_result.pareto:
                mlflow.log_dict({"pareto_front": tuning_result.pareto}, "tuning/pareto_front.json")
                result.artifacts.append("tuning/pareto_front.json")
        model_card = card(spec.model.kind).to_dict() | {
            "task": _task(spec),
            "label": spec.labels.model_dump(mode="json"),
            "features": list(rows.X.columns),
            "trained_until": cut.isoformat(),
            "holdout_metrics": result.metrics,
            "params": result.best_params,
        }
        example = rows.X.iloc[holdout[:5]]
        for key, model in result.models.items():
            artifact = "model" if key == "pooled" else f"model_{key}"
            tracking.log_model(
                model, input_example=example, card=model_card, artifact_name=artifact
            )
        pooled_artifact = (
            "model" if "pooled" in result.models else f"model_{next(iter(result.models))}"
        )
    version = tracking.register_model(
        run_id,
        model_name,
        description=f"{spec.model.kind} on {','.join(frames)} {rows.timeframe}, {spec.labels.kind} h={spec.labels.horizon}",
        changelog=f"run {run_id}: oos_sharpe={result.metrics.get('oos_sharpe', float('nan')):.3f}",
        artifact_name=pooled_artifact,
    )
    result.model_name = model_name
    result.model_version = version
    if spec.monitoring.register_reference:
        _register_monitoring_reference(spec, rows, dev, result)
    gates = {k: v.model_dump(exclude_none=True) for k, v in spec.tracking.gates.items()}
    if not gates:
        result.promoted = None
        result.promotion = "no gates in tracking.gates: version left in development"
        return
    from trademl.tracking import PromotionRefused

    try:
        tracking.promote(model_name, version, gates, reason=f"trademl run {run_id}")
    except PromotionRefused as exc:
        result.promoted = False
        result.promotion = str(exc)
    else:
        result.promoted = True
        result.promotion = f"{model_name} v{version} is champion"


def _register_monitoring_reference(spec, rows: _Rows, dev, result: RunResult) -> None:
    """Give the monitor what live data is compared with: the training features' profile,
    the holdout predictions and outcomes, and the holdout metrics as the baseline."""
    from trademl.monitoring import frames_from_oos, open_store, register_reference

    predictions, outcomes = frames_from_oos(result.predictions)
    baseline = {
        name.removeprefix("oos_"): value
        for name, value in result.metrics.items()
        if name.startswith("oos_")
    }
    store = open_store(spec.monitoring.db_url)
    try:
        register_reference(
            store,
            model=result.model_name,
            version=str(result.model_version),
            features=rows.X.iloc[dev],
            predictions=predictions,
            labels=outcomes,
            baseline=baseline,
        )
    finally:
        store.close()


# ---- summary ---------------------------------------------------------------------------
def summary_table(result: RunResult):
    """A rich table of the run: where it is tracked and its honest out-of-sample figures."""
    from rich.table import Table

    table = Table(title=f"trademl run: {result.experiment}", show_header=True)
    table.add_column("item")
    table.add_column("value", justify="right")
    rows = [
        ("run id", result.run_id or "(tracking disabled)"),
        ("model", f"{result.model_name} v{result.model_version}" if result.model_version else "-"),
        ("promotion", result.promotion or "-"),
        ("features", str(result.n_features)),
        ("holdout rows", str(len(result.predictions))),
    ]
    if result.tuning is not None:
        rows.append(
            ("trials (complete / pruned)", f"{result.tuning.n_complete} / {result.tuning.n_pruned}")
        )
        rows.append(("best params", json.dumps(_rounded(result.best_params))))
    for key in (
        "oos_accuracy", "oos_roc_auc", "oos_rmse", "oos_ic", "oos_sharpe", "deflated_sharpe",
        "probabilistic_sharpe", "cv_sharpe", "oos_max_drawdown", "oos_total_return", "oos_turnover",
    ):  # fmt: skip
        if key in result.metrics:
            rows.append((key, f"{result.metrics[key]:.4f}"))
    rows.append(("elapsed", f"{result.elapsed:.1f} s"))
    for item, value in rows:
        table.add_row(item, value)
    return table


def _rounded(params: dict[str, Any]) -> dict[str, Any]:
    return {k: (round(v, 5) if isinstance(v, float) else v) for k, v in params.items()}
