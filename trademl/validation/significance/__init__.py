"""Statistics against overfitting and multiple-testing luck.

Each function cites its source; the tests check them against the papers' worked
examples or an independent implementation (scipy, statsmodels, arch).
"""

from __future__ import annotations

from trademl.validation.significance._bootstrap import BootstrapResult, block_bootstrap_difference
from trademl.validation.significance._multiple import benjamini_hochberg, holm
from trademl.validation.significance._paired import (
    ComparisonResult,
    diebold_mariano,
    effect_size,
    paired_t_test,
    wilcoxon_test,
)
from trademl.validation.significance._pbo import PBOResult, probability_of_backtest_overfitting
from trademl.validation.significance._sharpe import (
    deflated_sharpe_ratio,
    expected_max_sharpe,
    minimum_track_record_length,
    probabilistic_sharpe_ratio,
    sharpe_moments,
)

__all__ = [
    "BootstrapResult",
    "PBOResult",
    "ComparisonResult",
    "benjamini_hochberg",
    "block_bootstrap_difference",
    "deflated_sharpe_ratio",
    "diebold_mariano",
    "effect_size",
    "expected_max_sharpe",
    "holm",
    "minimum_track_record_length",
    "paired_t_test",
    "probabilistic_sharpe_ratio",
    "probability_of_backtest_overfitting",
    "sharpe_moments",
    "wilcoxon_test",
]
