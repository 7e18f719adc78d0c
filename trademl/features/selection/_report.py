"""Compare selection methods on one training set, and measure how stable a method's
importances are across time periods."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from trademl.errors import DataError
from trademl.features.selection._base import Task

Method = Literal[
    "variance", "mutual_info", "f_test", "correlation", "l1", "rfe", "permutation", "pca"
]
METHODS: tuple[str, ...] = ("variance", "mutual_info", "f_test", "correlation", "l1", "rfe",
                            "permutation", "pca")  # fmt: skip


def _scores(method: str, X: pd.DataFrame, y: np.ndarray, k: int, task: Task,
            random_state: int) -> np.ndarray:  # fmt: skip
    """Per-feature score of one method (higher = more useful)."""
    from trademl.features import selection

    if method == "variance":
        # scale-free: variance of the rank-standardised column would be constant, so use the
        # coefficient of variation on the raw column (a near-constant feature scores ~0)
        values = X.to_numpy()
        with np.errstate(divide="ignore", invalid="ignore"):
            return np.nan_to_num(
                values.std(axis=0) / (np.abs(values.mean(axis=0)) + values.std(axis=0))
            )
    if method == "rfe":
        from sklearn.feature_selection import RFE
        from sklearn.linear_model import LinearRegression, LogisticRegression
        from sklearn.preprocessing import StandardScaler

        model = LogisticRegression(max_iter=300) if task == "classification" else LinearRegression()
        rfe = RFE(model, n_features_to_select=min(k, X.shape[1]), step=0.2)
        rfe.fit(StandardScaler().fit_transform(X), y)
        return -rfe.ranking_.astype(float)
    if method == "pca":
        from sklearn.decomposition import PCA
        from sklearn.preprocessing import StandardScaler

        pca = PCA(n_components=min(k, X.shape[1]), random_state=random_state)
        pca.fit(StandardScaler().fit_transform(X))
        # a feature's weight in the kept components, weighted by explained variance
        return (np.abs(pca.components_) * pca.explained_variance_ratio_[:, None]).sum(axis=0)
    selector = {
        "mutual_info": lambda: selection.MutualInfoSelector(
            k, task=task, random_state=random_state
        ),
        "f_test": lambda: selection.FTestSelector(k, task=task),
        "correlation": lambda: selection.CorrelationFilter(0.95, task=task),
        "l1": lambda: selection.L1Selector(k, task=task),
        "permutation": lambda: selection.PermutationSelector(
            k, task=task, random_state=random_state
        ),
    }[method]()
    return selector.fit(X, y).scores_


@dataclass
class SelectionReport:
    """``ranks``: features x methods (1 = best); ``summary``: one row per method."""

    ranks: pd.DataFrame
    summary: pd.DataFrame

    def selected(self, method: str, k: int) -> list[str]:
        return list(self.ranks[method].nsmallest(k).index)


def _validation_score(X: pd.DataFrame, y: np.ndarray, columns: list[str], task: Task) -> float:
    from sklearn.linear_model import LogisticRegression, Ridge
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    split = int(len(X) * 0.75)
    model = LogisticRegression(max_iter=300) if task == "classification" else Ridge()
    pipe = make_pipeline(StandardScaler(), model)
    pipe.fit(X[columns].iloc[:split], y[:split])
    return float(pipe.score(X[columns].iloc[split:], y[split:]))


def _check(X: pd.DataFrame, y) -> np.ndarray:
    if not isinstance(X, pd.DataFrame):
        raise DataError("selection report: X must be a DataFrame of named features")
    y = np.asarray(y)
    if len(y) != len(X):
        raise DataError(f"selection report: X has {len(X)} rows but y has {len(y)}")
    bad = X.columns[~np.isfinite(X.to_numpy()).all(axis=0)]
    if len(bad):
        raise DataError(f"selection report: {len(bad)} feature(s) have NaN/inf, e.g. {bad[0]!r}; "
                        "drop the warm-up rows first")  # fmt: skip
    return y


def compare_selectors(X: pd.DataFrame, y, *, k: int = 20, task: Task = "classification",
                      methods: tuple[str, ...] = METHODS, random_state: int = 0) -> SelectionReport:  # fmt: skip
    """Run each method on (X, y) (training data only), rank the features, and score a
    linear model on each method's top ``k`` on the last 25% of the rows (time order)."""
    y = _check(X, y)
    unknown = [m for m in methods if m not in METHODS]
    if unknown:
        raise ValueError(f"unknown selection method {unknown[0]!r} (methods: {', '.join(METHODS)})")
    ranks, rows = {}, []
    for method in methods:
        started = time.perf_counter()
        scores = _scores(method, X, y, k, task, random_state)
        seconds = time.perf_counter() - started
        ranks[method] = pd.Series(scores, index=X.columns).rank(ascending=False, method="first")
        top = list(ranks[method].nsmallest(k).index)
        rows.append({"method": method, "seconds": round(seconds, 3), "k": len(top),
                     "validation_score": _validation_score(X, y, top, task)})  # fmt: skip
    rank_frame = pd.DataFrame(ranks)
    summary = pd.DataFrame(rows).set_index("method")
    tops = {m: set(rank_frame[m].nsmallest(k).index) for m in methods}
    summary["mean_overlap"] = [
        np.mean([len(tops[m] & tops[o]) / k for o in methods if o != m])
        if len(methods) > 1
        else 1.0
        for m in methods
    ]
    return SelectionReport(rank_frame, summary)


def stability_score(X: pd.DataFrame, y, *, method: str = "f_test", n_periods: int = 4, k: int = 20,
                    task: Task = "classification", random_state: int = 0) -> float:  # fmt: skip
    """Mean Spearman rank correlation of a method's feature scores between consecutive time
    periods (1 = the same features matter in every period, ~0 = no stable signal)."""
    y = _check(X, y)
    if n_periods < 2:
        raise ValueError(f"n_periods must be >= 2, got {n_periods=}")
    bounds = np.linspace(0, len(X), n_periods + 1).astype(int)
    scores = [
        _scores(method, X.iloc[a:b], y[a:b], k, task, random_state)
        for a, b in zip(bounds[:-1], bounds[1:], strict=True)
    ]
    correlations = [
        spearmanr(s1, s2).statistic for s1, s2 in zip(scores[:-1], scores[1:], strict=True)
    ]
    return float(np.nanmean(correlations))
