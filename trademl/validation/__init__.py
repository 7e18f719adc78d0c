"""Leak-free validation: purged/embargoed splitters, metrics and overfitting statistics.

The splitters are scikit-learn cross-validators (``cross_val_score``, ``GridSearchCV``)
that also know how far each label looks ahead (``horizon=`` bars or ``label_end=``
timestamps) and drop training samples that would leak test information.
``metrics`` and ``significance`` are submodules (imported on use).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trademl.validation._base import Fold, PurgedSplitter, label_end_positions
from trademl.validation._combinatorial import CombinatorialPurgedCV
from trademl.validation._holdout import holdout_split
from trademl.validation._purged_kfold import PurgedKFold
from trademl.validation._report import fold_table, plot_folds
from trademl.validation._walk_forward import WalkForward

if TYPE_CHECKING:
    from trademl.config.validation import ValidationSpec

__all__ = [
    "CombinatorialPurgedCV",
    "Fold",
    "PurgedKFold",
    "PurgedSplitter",
    "WalkForward",
    "fold_table",
    "holdout_split",
    "label_end_positions",
    "make_splitter",
    "metrics",
    "plot_folds",
    "significance",
]


def make_splitter(spec: ValidationSpec | None = None, *, horizon=None, label_end=None):
    """The splitter an experiment spec asks for, purging by ``horizon`` or ``label_end``."""
    from trademl.config.validation import ValidationSpec

    spec = ValidationSpec() if spec is None else spec
    common = {"horizon": horizon, "label_end": label_end, "embargo": spec.embargo}
    if spec.scheme == "purged-kfold":
        return PurgedKFold(spec.n_splits, **common)
    if spec.scheme == "cpcv":
        return CombinatorialPurgedCV(spec.n_splits, spec.test_groups, **common)
    return WalkForward(
        spec.n_splits,
        test_size=spec.test_size,
        step=spec.step,
        gap=spec.gap,
        window=spec.window,
        max_train_size=spec.max_train_size,
        **common,
    )


def __getattr__(name: str):
    if name in ("metrics", "significance"):
        import importlib

        return importlib.import_module(f"trademl.validation.{name}")
    raise AttributeError(f"module 'trademl.validation' has no attribute {name!r}")
