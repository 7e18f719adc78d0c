"""Feature selection as scikit-learn transformers (fit on the training fold only), a report
comparing methods, and a stability score across time periods."""

from __future__ import annotations

from trademl.features.selection._base import ScoreSelector
from trademl.features.selection._correlation import CorrelationFilter
from trademl.features.selection._f_test import FTestSelector
from trademl.features.selection._l1 import L1Selector
from trademl.features.selection._mutual_info import MutualInfoSelector
from trademl.features.selection._permutation import PermutationSelector
from trademl.features.selection._report import (
    METHODS,
    SelectionReport,
    compare_selectors,
    stability_score,
)

__all__ = [
    "METHODS",
    "CorrelationFilter",
    "FTestSelector",
    "L1Selector",
    "MutualInfoSelector",
    "PermutationSelector",
    "ScoreSelector",
    "SelectionReport",
    "compare_selectors",
    "stability_score",
]
