"""Out-of-sample scores, on aligned NaN-free inputs (misalignment is an error, not a guess).

Classification scores come from scikit-learn; the information coefficient is the
Spearman rank correlation of prediction and realised return, with its t-statistic.
"""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
from scipy import stats

__all__ = [
    "accuracy",
    "balanced_accuracy",
    "classification_metrics",
    "f1",
    "hit_rate",
    "information_coefficient",
    "information_coefficient_tstat",
    "log_loss",
    "mae",
    "mape",
    "precision",
    "r2",
    "recall",
    "regression_metrics",
    "rmse",
    "roc_auc",
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


def precision(y_true, y_pred) -> float:
    """Precision of class 1 for 0/1 labels, else macro-averaged over classes."""
    from sklearn.metrics import precision_score

    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(precision_score(t, p, average=_average(t), zero_division=0))


def recall(y_true, y_pred) -> float:
    from sklearn.metrics import recall_score

    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(recall_score(t, p, average=_average(t), zero_division=0))


def f1(y_true, y_pred) -> float:
    from sklearn.metrics import f1_score

    t, p = aligned(y_true=y_true, y_pred=y_pred)
    return float(f1_score(t, p, average=_average(t), zero_division=0))


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
