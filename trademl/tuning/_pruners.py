"""Pruners that stop a trial whose early folds already score worse than the others'."""

from __future__ import annotations

from trademl.errors import SpecError

__all__ = ["make_pruner"]


def make_pruner(name: str, *, n_folds: int, n_startup_trials: int = 5):
    """``median``, ``hyperband`` or ``none``; one step per cross-validation fold."""
    import optuna

    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "median":
        # never judge a trial on zero folds; start once a few trials have finished
        return optuna.pruners.MedianPruner(n_startup_trials=n_startup_trials, n_warmup_steps=1)
    if name == "hyperband":
        return optuna.pruners.HyperbandPruner(
            min_resource=1, max_resource=max(n_folds, 2), reduction_factor=2
        )
    raise SpecError(f"tuning.pruner: unknown pruner {name!r}")
