"""Degenerate models: a fit that learnt (almost) nothing, whose holdout figures are not a strategy.

A model long on every holdout bar scores the same bars' buy-and-hold Sharpe; one that
stopped boosting after a round or two predicts its prior; one whose P(up) barely moves
has no opinion. Their Sharpe, CAGR and deflated Sharpe describe the market, not the
model. ``find_degeneracy`` names each symptom; the run puts the reasons in its summary,
its tags (``trademl.degenerate``, ``trademl.degenerate.reasons``) and the report, and
promotion refuses such a version unless ``tracking.refuse_degenerate`` is false.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "DEGENERATE_TAG",
    "FEW_ROUNDS",
    "MAX_SIDE_SHARE",
    "MIN_SCORE_STD",
    "REASONS_TAG",
    "degeneracy_of",
    "degeneracy_tags",
    "find_degeneracy",
]

DEGENERATE_TAG = "trademl.degenerate"
REASONS_TAG = "trademl.degenerate.reasons"
# one position (long, short or flat) on more than this share of the holdout bars
MAX_SIDE_SHARE = 0.95
# a boosted model whose early stopping kept this many rounds or fewer
FEW_ROUNDS = 10
# P(up) with a smaller standard deviation over the holdout is near-constant; a regressor's
# predictions are near-constant below this share of the target's standard deviation
MIN_SCORE_STD = 0.005
_SIDES = {1: "long", -1: "short", 0: "flat"}


def _side_reason(signal: np.ndarray) -> str | None:
    values, counts = np.unique(signal.astype(int), return_counts=True)
    top = int(np.argmax(counts))
    share = counts[top] / len(signal)
    if share <= MAX_SIDE_SHARE:
        return None
    side = _SIDES.get(int(values[top]), str(values[top]))
    return (
        f"{side} on {share:.1%} of the {len(signal):,} holdout bars "
        f"(more than {MAX_SIDE_SHARE:.0%}): its figures are the market's, not the model's"
    )


def _score_reason(task: str, oos: pd.DataFrame) -> str | None:
    if task == "classification":
        proba = pd.to_numeric(oos["proba"], errors="coerce").to_numpy(dtype=float)
        proba = proba[np.isfinite(proba)]
        if len(proba) < 2:
            return None
        spread = float(proba.std())
        if spread >= MIN_SCORE_STD:
            return None
        return f"near-constant P(up): std {spread:.4f} over the holdout (< {MIN_SCORE_STD:g})"
    predicted = oos["y_pred"].to_numpy(dtype=float)
    target = oos["y_true"].to_numpy(dtype=float)
    scale = float(np.nanstd(target))
    spread = float(np.nanstd(predicted))
    if scale == 0 or spread >= MIN_SCORE_STD * scale:
        return None
    return (
        f"near-constant predictions: std {spread:.3g} is under {MIN_SCORE_STD:.1%} "
        f"of the target's std {scale:.3g}"
    )


def _rounds_reasons(rounds: Mapping[str, int | None]) -> list[str]:
    reasons = []
    for key, value in rounds.items():
        if value is not None and int(value) <= FEW_ROUNDS:
            where = "" if key == "pooled" else f" ({key})"
            reasons.append(
                f"early stopping kept {int(value)} boosting round(s){where} "
                f"(<= {FEW_ROUNDS}): the model is close to its prior"
            )
    return reasons


def find_degeneracy(
    oos: pd.DataFrame, *, task: str, rounds: Mapping[str, int | None] | None = None
) -> list[str]:
    """Every symptom of a degenerate model on its holdout predictions (empty: none).

    ``oos``: the run's holdout predictions (``signal``, ``proba``, ``y_pred``, ``y_true``);
    ``rounds``: the boosting rounds early stopping kept, per estimator.
    """
    if len(oos) == 0:
        return []
    reasons = []
    side = _side_reason(oos["signal"].to_numpy())
    if side:
        reasons.append(side)
    score = _score_reason(task, oos)
    if score:
        reasons.append(score)
    reasons += _rounds_reasons(dict(rounds or {}))
    return reasons


def degeneracy_tags(reasons: list[str]) -> dict[str, Any]:
    """The run tags that record the verdict (read back by promotion and the report)."""
    return {DEGENERATE_TAG: "true" if reasons else "false", REASONS_TAG: "; ".join(reasons)}


def degeneracy_of(spec, package, oos: pd.DataFrame) -> list[str]:
    """:func:`find_degeneracy` of a run's model package on its holdout predictions."""
    rounds = package.metadata.get("early_stopping_rounds") or {}
    return find_degeneracy(oos, task=spec.model.task, rounds=rounds)
