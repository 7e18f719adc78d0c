"""Epoch-level reporting from a network's training loop to whoever is watching (Optuna).

Torch-free, so the tuner can set a reporter without importing torch. The training loop
calls the current reporter as ``reporter(epoch, validation_loss)`` after every epoch; it
may raise (``optuna.TrialPruned``) to stop a hopeless trial in the middle of a fold.
"""

from __future__ import annotations

import contextvars
from collections.abc import Callable, Iterator
from contextlib import contextmanager

__all__ = ["EPOCH_REPORTER", "EPOCH_STEP_BASE", "epoch_pruning", "no_epoch_reports"]

EPOCH_REPORTER: contextvars.ContextVar[Callable[[int, float], None] | None] = (
    contextvars.ContextVar("trademl_epoch_reporter", default=None)
)

# epoch reports use their own step numbers, above the per-fold ones (0, 1, ...), ordered by
# (fold, epoch), so a pruner compares validation losses at the same fold and epoch only
EPOCH_STEP_BASE = 1_000_000
_STEPS_PER_FOLD = 10_000


@contextmanager
def epoch_pruning(trial, fold: int) -> Iterator[None]:
    """While fitting fold ``fold``, report each epoch's validation loss to ``trial``."""
    import optuna

    if getattr(trial, "study", None) is None:  # a FixedTrial: nobody to report to
        yield
        return
    # the study maximises or minimises its metric; a lower loss must read as better
    maximise = trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
    sign = -1.0 if maximise else 1.0

    def report(epoch: int, validation_loss: float) -> None:
        trial.report(sign * validation_loss, EPOCH_STEP_BASE + fold * _STEPS_PER_FOLD + epoch)
        if trial.should_prune():
            trial.set_user_attr("pruned_at", {"fold": fold, "epoch": epoch})
            raise optuna.TrialPruned(
                f"fold {fold} epoch {epoch}: validation loss {validation_loss:.4f}"
            )

    token = EPOCH_REPORTER.set(report)
    try:
        yield
    finally:
        EPOCH_REPORTER.reset(token)


@contextmanager
def no_epoch_reports() -> Iterator[None]:
    """Fit without reporting (a model that trains several networks reports one of them)."""
    token = EPOCH_REPORTER.set(None)
    try:
        yield
    finally:
        EPOCH_REPORTER.reset(token)
