"""Probability of backtest overfitting by combinatorially symmetric cross-validation.

Bailey, Borwein, López de Prado & Zhu, "The Probability of Backtest Overfitting"
(J. of Computational Finance, 2017; SSRN 2326253, 2015).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from itertools import combinations
from math import comb

import numpy as np

__all__ = ["PBOResult", "probability_of_backtest_overfitting"]


@dataclass(frozen=True)
class PBOResult:
    """``pbo``: share of splits whose in-sample best is below the out-of-sample median.

    ``logits`` λ per split (λ <= 0 means overfit), ``is_best``/``oos_of_best`` the
    in-sample best's performance in and out of sample (the degradation regression),
    ``prob_oos_loss`` the share of splits where the chosen trial lost out of sample.
    """

    pbo: float
    logits: np.ndarray
    is_best: np.ndarray
    oos_of_best: np.ndarray
    prob_oos_loss: float
    n_splits: int


def _sharpe(block: np.ndarray) -> np.ndarray:
    sd = block.std(axis=0, ddof=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        out = block.mean(axis=0) / sd
    return np.where(sd > 0, out, 0.0)


def probability_of_backtest_overfitting(
    trial_returns,
    n_blocks: int = 16,
    *,
    metric: Callable[[np.ndarray], np.ndarray] | None = None,
) -> PBOResult:
    """PBO from a (T observations × N trials) matrix of trial returns.

    The rows are cut into ``n_blocks`` (even) contiguous blocks; for every choice of half
    of them as in-sample, the trial with the best in-sample ``metric`` (default Sharpe,
    column-wise) is ranked among all trials on the other half. PBO is the share of
    choices where that rank falls at or below the median (logit <= 0).
    """
    m = np.asarray(trial_returns, dtype=np.float64)
    if m.ndim != 2 or m.shape[1] < 2:
        raise ValueError(f"trial_returns must be (observations, trials>=2), got {m.shape}")
    if not np.isfinite(m).all():
        raise ValueError("trial_returns hold NaN/inf values")
    if n_blocks < 2 or n_blocks % 2:
        raise ValueError(f"n_blocks must be an even int >= 2, but got {n_blocks=}")
    if m.shape[0] < 2 * n_blocks:
        raise ValueError(f"{m.shape[0]} observations are too few for {n_blocks=}")
    if comb(n_blocks, n_blocks // 2) > 200_000:
        raise ValueError(f"n_blocks={n_blocks} gives too many combinations; use <= 20")
    score = _sharpe if metric is None else metric
    n_trials = m.shape[1]
    blocks = np.array_split(np.arange(m.shape[0]), n_blocks)
    logits, is_best, oos_best = [], [], []
    for chosen in combinations(range(n_blocks), n_blocks // 2):
        rest = [b for b in range(n_blocks) if b not in chosen]
        is_rows = np.concatenate([blocks[b] for b in chosen])
        oos_rows = np.concatenate([blocks[b] for b in rest])
        is_score = np.asarray(score(m[is_rows]))
        oos_score = np.asarray(score(m[oos_rows]))
        best = int(np.argmax(is_score))
        # relative rank in (0, 1): 1 = best out of sample
        rank = (
            np.sum(oos_score < oos_score[best]) + 0.5 * np.sum(oos_score == oos_score[best]) + 0.5
        )
        omega = rank / (n_trials + 1)
        logits.append(np.log(omega / (1 - omega)))
        is_best.append(is_score[best])
        oos_best.append(oos_score[best])
    logits_arr = np.array(logits)
    oos_arr = np.array(oos_best)
    return PBOResult(
        pbo=float(np.mean(logits_arr <= 0)),
        logits=logits_arr,
        is_best=np.array(is_best),
        oos_of_best=oos_arr,
        prob_oos_loss=float(np.mean(oos_arr < 0)),
        n_splits=len(logits_arr),
    )
