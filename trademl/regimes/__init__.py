"""Market regimes: causal HMM and LSTM detectors, a rule-based labeller, regime features.

Names load lazily (torch, matplotlib and optuna only when their detector/plot/tuner is
used). Causal by default: ``predict``/``predict_proba`` use bars <= t; smoothed regimes
are only available under the name ``smooth``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from trademl._lazy import lazy_getattr

_LAZY = {
    "RegimeDetector": "trademl.regimes._base",
    "NotFittedError": "trademl.regimes._base",
    "HMMRegimeDetector": "trademl.regimes.hmm",
    "NNRegimeDetector": "trademl.regimes.neural",
    "rule_based_regimes": "trademl.regimes.rules",
    "regime_features": "trademl.regimes.features",
    "regime_statistics": "trademl.regimes.statistics",
    "regime_names": "trademl.regimes._naming",
    "match_regimes": "trademl.regimes._naming",
    "plot_regimes": "trademl.regimes.plotting",
    "tune_hmm": "trademl.regimes.tuning",
    "forward_filter": "trademl.regimes._gaussian_hmm",
    "save_detector": "trademl.regimes.persistence",
    "load_detector": "trademl.regimes.persistence",
    "models_for_regime": "trademl.regimes.selection",
    "ground_truth_accuracy": "trademl.regimes.evaluation",
}

__all__ = sorted(_LAZY)


__getattr__ = lazy_getattr(__name__, _LAZY)


def __dir__() -> list[str]:
    return __all__


if TYPE_CHECKING:  # pragma: no cover
    from trademl.regimes._base import NotFittedError, RegimeDetector  # noqa: F401
    from trademl.regimes._gaussian_hmm import forward_filter  # noqa: F401
    from trademl.regimes._naming import match_regimes, regime_names  # noqa: F401
    from trademl.regimes.evaluation import ground_truth_accuracy  # noqa: F401
    from trademl.regimes.features import regime_features  # noqa: F401
    from trademl.regimes.hmm import HMMRegimeDetector  # noqa: F401
    from trademl.regimes.neural import NNRegimeDetector  # noqa: F401
    from trademl.regimes.persistence import load_detector, save_detector  # noqa: F401
    from trademl.regimes.plotting import plot_regimes  # noqa: F401
    from trademl.regimes.rules import rule_based_regimes  # noqa: F401
    from trademl.regimes.selection import models_for_regime  # noqa: F401
    from trademl.regimes.statistics import regime_statistics  # noqa: F401
    from trademl.regimes.tuning import tune_hmm  # noqa: F401
