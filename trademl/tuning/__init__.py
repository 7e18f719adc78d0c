"""Hyper-parameter search with Optuna: purged-CV objective, samplers, pruners, storage.

Importing this package does not import Optuna; each function imports it when called.
"""

from trademl.tuning._mlflow import log_trials
from trademl.tuning._objective import (
    CrossValidatedObjective,
    CVData,
    Predictions,
    evaluate_predictions,
    fit_predict,
)
from trademl.tuning._plots import save_plots
from trademl.tuning._pruners import make_pruner
from trademl.tuning._samplers import make_sampler
from trademl.tuning._space import grid_values, suggest_params
from trademl.tuning._storage import describe_storage, make_storage
from trademl.tuning._study import TuningResult, tune

__all__ = [
    "CVData",
    "CrossValidatedObjective",
    "Predictions",
    "TuningResult",
    "describe_storage",
    "evaluate_predictions",
    "fit_predict",
    "grid_values",
    "log_trials",
    "make_pruner",
    "make_sampler",
    "make_storage",
    "save_plots",
    "suggest_params",
    "tune",
]
