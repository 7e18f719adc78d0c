"""Epoch-level pruning: a network's validation loss is reported after every epoch, and a
hopeless trial is stopped in the middle of its first fold."""

from __future__ import annotations

import optuna
import torch

from trademl.config import load_spec
from trademl.tuning import CrossValidatedObjective

HORIZON = 4


def test_a_diverging_network_is_pruned_mid_fold(cv_data):
    torch.set_num_threads(1)
    spec = load_spec(
        {
            "model": {
                "kind": "lstm",
                "params": {"window": 8, "epochs": 4, "hidden_size": 8, "batch_size": 128,
                           "onnx": False, "grad_clip": 0.0},
                "search_space": {"learning_rate": {"type": "categorical",
                                                   "choices": [0.003, 3.0]}},
            }
        }
    )  # fmt: skip
    objective = CrossValidatedObjective(
        spec.model, cv_data, task="classification", metrics=["sharpe"],
        space=spec.model.resolved_search_space(), purge=HORIZON, seed=0,
    )  # fmt: skip
    study = optuna.create_study(
        direction="maximize",
        pruner=optuna.pruners.MedianPruner(n_startup_trials=1, n_warmup_steps=0),
    )
    study.enqueue_trial({"learning_rate": 0.003})
    study.enqueue_trial({"learning_rate": 3.0})
    study.optimize(objective, n_trials=2)
    good, wild = study.trials
    assert good.state == optuna.trial.TrialState.COMPLETE
    epoch_steps = [s for s in good.intermediate_values if s >= 1_000_000]
    assert len(epoch_steps) == 3 * 4  # every epoch of every fold was reported
    assert wild.state == optuna.trial.TrialState.PRUNED
    assert wild.user_attrs["pruned_at"]["fold"] == 0  # stopped before its first fold ended
