"""Out-of-sample scores, on aligned NaN-free inputs (misalignment is an error, not a guess),
and the ONE metric registry every reported figure is named and scored by.

Classification scores come from scikit-learn; the information coefficient is the
Spearman rank correlation of prediction and realised return, with its t-statistic.

The registry (``METRICS``; look-ups through :func:`get_metric`, which also accepts
aliases such as ``auc`` for ``roc_auc``, and :func:`metric_names`) records, per metric:
its function, whether higher or lower is better, the task it belongs to, whether it is
annualised and its unit. Tuning objectives, the holdout evaluation
(``trademl.evaluation.score_predictions``) and monitoring take their names, directions
and Sharpe from here; ``docs/metrics.md`` explains each figure.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd

__all__ = [
    "METRICS",
    "MetricInfo",
    "accuracy",
    "balanced_accuracy",
    "classification_metrics",
    "f1",
    "get_metric",
    "hit_rate",
    "information_coefficient",
    "information_coefficient_tstat",
    "log_loss",
    "mae",
    "mape",
    "metric_names",
    "precision",
    "precision_recall_f1",
    "r2",
    "recall",
    "regression_metrics",
    "rmse",
    "roc_auc",
    "sharpe",
]

logger = logging.getLogger(__name__)


def aligned(**named) -> list[np.ndarray]:
    """Check that the inputs describe the same samples and hold no NaN; return arrays.

    Series must share the same index in the same order; plain arrays must have the
    same length. Errors name the input and the first offending row.
    """
    names = list(named)
    first_index = None
    first_name = None
    lengths = {}
    arrays = []
    for name in names:
        value = named[name]
        if isinstance(value, pd.DataFrame) and name != "proba":
            if value.shape[1] != 1:
                raise ValueError(f"{name} must be one column, got {value.shape[1]} columns")
            value = value.iloc[:, 0]
        if isinstance(value, (pd.Series, pd.DataFrame)):
            if first_index is None:
                first_index, first_name = value.index, name
            elif not value.index.equals(first_index):
                extra = value.index.difference(first_index)
                where = f"; e.g. {extra[0]} is in {name} only" if len(extra) else ""
                raise ValueError(
                    f"{name} and {first_name} are misaligned: their indexes differ{where}. "
                    "Align them (e.g. .reindex) before scoring"
                )
        array = np.asarray(value, dtype=np.float64)
        lengths[name] = len(array)
        arrays.append(array)
    if len(set(lengths.values())) > 1:
        raise ValueError(f"inputs have different lengths: {lengths}")
    for name, array in zip(names, arrays, strict=True):
        bad = ~np.isfinite(array)
        if bad.any():
            row = int(np.flatnonzero(bad.reshape(len(array), -1).any(axis=1))[0])
            label = f" ({first_index[row]})" if first_index is not None else ""
            raise ValueError(
                f"{name} has {int(bad.sum())} NaN/inf values, first at row {row}{label}; "
                "drop unknown labels before scoring"
            )
    if arrays and len(arrays[0]) == 0:
        raise ValueError("cannot score empty inputs")
    return arrays


def _average(y_true: np.ndarray) -> str:
    return "binary" if len(np.unique(y_true)) <= 2 and set(np.unique(y_true)) <= {0, 1} else "macro"


def accuracy(y_true, y_pred) -> float:
    from sklearn.metrics import accuracy_score

    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(accuracy_score(t, p))


def balanced_accuracy(y_true, y_pred) -> float:
    from sklearn.metrics import balanced_accuracy_score

    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(balanced_accuracy_score(t, p))


def precision_recall_f1(y_true, y_pred) -> tuple[float, float, float]:
    """Precision, recall and F1 in one pass: of class 1 for 0/1 labels, else macro-averaged."""
    from sklearn.metrics import precision_recall_fscore_support

    t, p = aligned(y_true=y_true, y_pred=y_pred)
    scores = precision_recall_fscore_support(t, p, average=_average(t), zero_division=0)
    return float(scores[0]), float(scores[1]), float(scores[2])


def precision(y_true, y_pred) -> float:
    """Precision of class 1 for 0/1 labels, else macro-averaged over classes."""
    return precision_recall_f1(y_true, y_pred)[0]


def recall(y_true, y_pred) -> float:
    return precision_recall_f1(y_true, y_pred)[1]


def f1(y_true, y_pred) -> float:
    return precision_recall_f1(y_true, y_pred)[2]


def roc_auc(y_true, proba) -> float:
    """ROC AUC from P(class 1) (binary) or an (n, classes) matrix (one-vs-rest macro)."""
    from sklearn.metrics import roc_auc_score

    t, p = aligned(y_true=y_true, proba=proba)
    if len(np.unique(t)) < 2:
        raise ValueError("roc_auc needs both classes in y_true, got only one")
    if p.ndim == 2 and p.shape[1] > 2:
        return float(roc_auc_score(t, p, multi_class="ovr"))
    return float(roc_auc_score(t, p if p.ndim == 1 else p[:, 1]))


def log_loss(y_true, proba) -> float:
    from sklearn.metrics import log_loss as sk_log_loss

    t, p = aligned(y_true=y_true, proba=proba)
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 2:
        # float32 probabilities (XGBoost) miss one by more than sklearn's float64
        # tolerance once cast: normalise the rows, as predict_proba of trademl models does
        p = p / p.sum(axis=1, keepdims=True)
    labels = np.unique(t) if p.ndim == 2 else [0, 1]
    return float(sk_log_loss(t, p, labels=labels))


def hit_rate(realized_return, prediction) -> float:
    """Share of samples where the predicted direction matches the realised return's sign.

    Samples with a zero prediction (no position) or a zero return are left out.
    """
    r, p = aligned(realized_return=realized_return, prediction=prediction)
    active = (np.sign(p) != 0) & (np.sign(r) != 0)
    if not active.any():
        raise ValueError("hit_rate: no sample has both a non-zero prediction and return")
    return float(np.mean(np.sign(p[active]) == np.sign(r[active])))


def rmse(y_true, y_pred) -> float:
    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(np.sqrt(np.mean((t - p) ** 2)))


def mae(y_true, y_pred) -> float:
    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(np.mean(np.abs(t - p)))


def mape(y_true, y_pred) -> float:
    """Mean absolute percentage error (as a fraction); undefined where y_true is 0."""
    t, p = aligned(y_true=y_true, y_pred=y_pred)
    zero = t == 0
    if zero.any():
        raise ValueError(
            f"mape is undefined: y_true is 0 at {int(zero.sum())} rows (first row "
            f"{int(np.flatnonzero(zero)[0])}); use mae or rmse for returns"
        )
    return float(np.mean(np.abs((t - p) / t)))


def r2(y_true, y_pred) -> float:
    t, p = aligned(y_true=y_true, y_pred=y_pred)
    total = np.sum((t - t.mean()) ** 2)
    if total == 0:
        raise ValueError("r2 is undefined when y_true is constant")
    return float(1 - np.sum((t - p) ** 2) / total)


def information_coefficient(prediction, realized_return) -> float:
    """Spearman rank correlation between prediction and realised return."""
    p, r = aligned(prediction=prediction, realized_return=realized_return)
    if len(p) < 3:
        raise ValueError(f"information_coefficient needs >= 3 samples, got {len(p)}")
    if np.ptp(p) == 0 or np.ptp(r) == 0:
        raise ValueError("information_coefficient is undefined for a constant input")
    from scipy import stats

    return float(stats.spearmanr(p, r).statistic)


def information_coefficient_tstat(prediction, realized_return) -> float:
    """t = IC·sqrt((n-2)/(1-IC²)), the usual test of a non-zero rank correlation."""
    ic = information_coefficient(prediction, realized_return)
    n = len(np.asarray(prediction))
    if abs(ic) >= 1:
        return float(np.sign(ic) * np.inf)
    return float(ic * np.sqrt((n - 2) / (1 - ic * ic)))


def classification_metrics(y_true, y_pred, proba=None) -> dict[str, float]:
    """All classification scores at once; probability scores only when ``proba`` given."""
    out = {
        "accuracy": accuracy(y_true, y_pred),
        "balanced_accuracy": balanced_accuracy(y_true, y_pred),
        "precision": precision(y_true, y_pred),
        "recall": recall(y_true, y_pred),
        "f1": f1(y_true, y_pred),
    }
    if proba is not None:
        try:
            out["roc_auc"] = roc_auc(y_true, proba)
        except ValueError as exc:  # one class only in a short test fold
            logger.info("roc_auc skipped: %s", exc)
        out["log_loss"] = log_loss(y_true, proba)
    return out


def regression_metrics(y_true, y_pred) -> dict[str, float]:
    """RMSE, MAE, R², IC and its t-stat, and the directional hit rate."""
    return {
        "rmse": rmse(y_true, y_pred),
        "mae": mae(y_true, y_pred),
        "r2": r2(y_true, y_pred),
        "ic": information_coefficient(y_pred, y_true),
        "ic_tstat": information_coefficient_tstat(y_pred, y_true),
        "hit_rate": hit_rate(y_true, y_pred),
    }


# ---- strategy figures (per-bar net returns from the backtest engine) -------------------
def sharpe(returns, periods_per_year: float = 1.0) -> float:
    """Annualised Sharpe of per-bar returns: mean / std (ddof=1) x sqrt(periods per year).

    The one Sharpe of every reported figure (tuning, holdout, monitoring), computed by
    ``trademl.analytics.ratios.per_bar_sharpe``. 0.0 where it is undefined (fewer than
    two bars, or constant returns such as a model that never trades): no risk taken, no
    risk-adjusted return. ``periods_per_year=1`` gives the per-bar Sharpe.
    """
    from trademl.analytics.ratios import per_bar_sharpe

    value = per_bar_sharpe(np.asarray(returns, dtype="float64"))
    if not np.isfinite(value):
        return 0.0
    return float(value * np.sqrt(float(periods_per_year)))


def _values(returns) -> np.ndarray:
    return np.asarray(returns, dtype="float64")


def sortino(returns, periods_per_year: float) -> float:
    """Annualised Sortino (downside deviation over all bars); NaN without a losing bar."""
    from trademl.analytics.ratios import _sortino

    return _sortino(_values(returns), float(periods_per_year))


def max_drawdown(returns) -> float:
    """Deepest fall of compounded equity from its running peak, a fraction <= 0."""
    from trademl.analytics.drawdowns import _max_drawdown

    return _max_drawdown(_values(returns))


def total_return(returns) -> float:
    """Compounded return over all bars, prod(1 + r) - 1, a fraction."""
    from trademl.analytics.returns import _total

    return _total(_values(returns))


def annual_return(returns, periods_per_year: float) -> float:
    """Compound annual growth rate, years = bars / periods per year (a fraction)."""
    from trademl.analytics.returns import _cagr

    return _cagr(_values(returns), float(periods_per_year))


def volatility(returns, periods_per_year: float) -> float:
    """Standard deviation (ddof=1) of per-bar returns x sqrt(periods per year)."""
    from trademl.analytics.returns import _volatility

    return _volatility(_values(returns), float(periods_per_year))


def calmar(returns, periods_per_year: float) -> float:
    """Annual return over |max drawdown|; NaN without a drawdown."""
    from trademl.analytics.ratios import _calmar

    return _calmar(_values(returns), float(periods_per_year))


def turnover(run) -> float:
    """Mean traded notional per bar, as a fraction of equity (1.0 = all-in from flat)."""
    return float(np.mean(run.turnover.to_numpy())) if len(run.turnover) else float("nan")


def time_in_market(run) -> float:
    """Share of bars with a non-zero executed position (weighted over symbols)."""
    return float(np.mean(run.exposure.to_numpy())) if len(run.exposure) else float("nan")


def n_trades(run) -> float:
    """Executed position changes (entries, exits, flips, resizes), summed over symbols."""
    return float(run.fills.to_numpy().sum())


def buy_hold_sharpe(buy_and_hold_returns, periods_per_year: float) -> float:
    """Sharpe of holding the same rows long through the same engine (one entry fee)."""
    return sharpe(buy_and_hold_returns, periods_per_year)


def excess_sharpe(returns, buy_and_hold_returns, periods_per_year: float) -> float:
    """Strategy Sharpe minus the buy-and-hold Sharpe on the same rows."""
    return sharpe(returns, periods_per_year) - sharpe(buy_and_hold_returns, periods_per_year)


# ---- the registry ------------------------------------------------------------------------
Direction = Literal["max", "min"]
Task = Literal["classification", "regression", "strategy", "any"]


@dataclass(frozen=True)
class MetricInfo:
    """One registered metric: how it is computed and how to read it."""

    name: str
    function: Callable[..., float]
    direction: Direction  # "max": higher is better; "min": lower is better
    task: Task  # "any": model scores of either task (vs the forward return)
    annualised: bool
    unit: str
    inputs: tuple[str, ...]
    aliases: tuple[str, ...] = field(default_factory=tuple)
    description: str = ""

    @property
    def optuna_direction(self) -> str:
        return "maximize" if self.direction == "max" else "minimize"


def _m(name, function, direction, task, unit, inputs, *, annualised=False, aliases=(), text=""):
    return MetricInfo(name, function, direction, task, annualised, unit, tuple(inputs),
                      tuple(aliases), text)  # fmt: skip


_LABELS = ("y_true", "y_pred")
_PROBA = ("y_true", "proba")
_RETURNS = ("returns",)
_ANNUAL = ("returns", "periods_per_year")

METRICS: dict[str, MetricInfo] = {
    m.name: m
    for m in (
        _m("accuracy", accuracy, "max", "classification", "fraction", _LABELS,
           aliases=("acc",), text="share of rows whose predicted class is the true class"),
        _m("balanced_accuracy", balanced_accuracy, "max", "classification", "fraction",
           _LABELS, text="mean recall over the classes"),
        _m("precision", precision, "max", "classification", "fraction", _LABELS,
           text="precision of the 'up' class (y > 0)"),
        _m("recall", recall, "max", "classification", "fraction", _LABELS,
           text="recall of the 'up' class (y > 0)"),
        _m("f1", f1, "max", "classification", "fraction", _LABELS,
           text="F1 of the 'up' class (y > 0)"),
        _m("roc_auc", roc_auc, "max", "classification", "fraction", _PROBA,
           aliases=("auc", "roc-auc", "rocauc"), text="ROC AUC of 'up' (y > 0) vs P(up)"),
        _m("log_loss", log_loss, "min", "classification", "nats per row", _PROBA,
           aliases=("logloss", "cross_entropy"), text="log loss of 'up' (y > 0) vs P(up)"),
        _m("rmse", rmse, "min", "regression", "label units", _LABELS),
        _m("mae", mae, "min", "regression", "label units", _LABELS),
        _m("r2", r2, "max", "regression", "fraction of variance", _LABELS, aliases=("r_squared",)),
        _m("ic", information_coefficient, "max", "any", "rank correlation",
           ("score", "forward_return"), aliases=("information_coefficient", "rank_ic"),
           text="Spearman correlation of the model score and the forward return"),
        _m("hit_rate", hit_rate, "max", "any", "fraction", ("forward_return", "signal"),
           text="share of non-flat signals whose side matches the forward return's sign"),
        _m("sharpe", sharpe, "max", "strategy", "ratio, annualised", _ANNUAL, annualised=True,
           aliases=("sharpe_ratio",), text="mean / std of per-bar net returns x sqrt(ppy)"),
        _m("sortino", sortino, "max", "strategy", "ratio, annualised", _ANNUAL,
           annualised=True, aliases=("sortino_ratio",)),
        _m("calmar", calmar, "max", "strategy", "ratio", _ANNUAL, annualised=True,
           aliases=("calmar_ratio",)),
        _m("max_drawdown", max_drawdown, "max", "strategy", "fraction (<= 0)", _RETURNS,
           aliases=("mdd", "drawdown")),
        _m("total_return", total_return, "max", "strategy", "fraction", _RETURNS),
        _m("annual_return", annual_return, "max", "strategy", "fraction per year", _ANNUAL,
           annualised=True, aliases=("cagr",)),
        _m("volatility", volatility, "min", "strategy", "fraction, annualised", _ANNUAL,
           annualised=True, aliases=("vol", "annual_volatility")),
        _m("turnover", turnover, "min", "strategy", "fraction of equity per bar", ("run",)),
        _m("time_in_market", time_in_market, "max", "strategy", "fraction of bars", ("run",),
           aliases=("exposure",)),
        _m("n_trades", n_trades, "min", "strategy", "count", ("run",),
           aliases=("trades",), text="executed position changes, summed over symbols"),
        _m("buy_hold_sharpe", buy_hold_sharpe, "max", "strategy", "ratio, annualised",
           ("buy_and_hold_returns", "periods_per_year"), annualised=True,
           aliases=("buy_and_hold_sharpe", "benchmark_sharpe")),
        _m("excess_sharpe", excess_sharpe, "max", "strategy", "ratio, annualised",
           ("returns", "buy_and_hold_returns", "periods_per_year"), annualised=True),
    )
}  # fmt: skip

_ALIASES: dict[str, str] = {a: m.name for m in METRICS.values() for a in m.aliases}


def _known() -> str:
    aliases = ", ".join(f"{a} -> {n}" for a, n in sorted(_ALIASES.items()))
    return f"known: {', '.join(METRICS)} (aliases: {aliases})"


def get_metric(name: str) -> MetricInfo:
    """The registered metric called ``name`` or one of its aliases (case-insensitive)."""
    key = str(name).strip().lower()
    key = _ALIASES.get(key, key)
    if key not in METRICS:
        raise ValueError(f"unknown metric {name!r}; {_known()}")
    return METRICS[key]


def metric_names(task: str | None = None) -> list[str]:
    """Canonical metric names, in registry order.

    ``None``: every metric. ``"classification"`` / ``"regression"``: every figure a model
    of that task gets (its own scores, the ``"any"`` scores ic and hit_rate, and the
    strategy figures). ``"strategy"`` / ``"any"``: exactly the metrics of that group.
    """
    if task is None:
        return list(METRICS)
    if task in ("classification", "regression"):
        groups = {task, "any", "strategy"}
    elif task in ("strategy", "any"):
        groups = {task}
    else:
        raise ValueError(f"task must be classification, regression, strategy or any, got {task=}")
    return [m.name for m in METRICS.values() if m.task in groups]
