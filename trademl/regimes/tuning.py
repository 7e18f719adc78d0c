"""Optuna search over HMM settings: feature set, number of regimes, covariance type.

Two scores:

- ``"heldout_loglik"`` (default, maximised): mean one-step-ahead predictive log density
  of the next bar's log return on the held-out last part of the series. The regime
  probabilities come from the causal filter run through the training bars and on, so
  it measures what a trader would have known. Scoring the *return* (not the whole
  feature vector) keeps different feature sets comparable; every set must therefore
  contain ``log_return``.
- ``"bic"`` (minimised): BIC on the training part. Comparable across regime counts and
  covariance types, but only between trials that use the same features.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from trademl.regimes import _gaussian_hmm as ghmm
from trademl.regimes._inputs import log_returns
from trademl.regimes.hmm import HMMRegimeDetector

__all__ = ["HMMTuningResult", "heldout_return_loglik", "tune_hmm"]

logger = logging.getLogger(__name__)

DEFAULT_FEATURE_SETS: tuple[tuple[str, ...], ...] = (
    ("log_return",),
    ("log_return", "volatility"),
    ("log_return", "range"),
    ("log_return", "volatility", "volume_z"),
)


@dataclass
class HMMTuningResult:
    best_params: dict[str, Any]
    best_score: float
    detector: HMMRegimeDetector  # the best settings, fitted on the training part
    trials: pd.DataFrame
    study: Any  # optuna.Study


def heldout_return_loglik(detector: HMMRegimeDetector, frame: pd.DataFrame, start: int) -> float:
    """Mean log p(r_t | bars < t) over bars ``t >= start`` (causal one-step-ahead density)."""
    features = list(detector.features)
    if "log_return" not in features:
        raise ValueError(f"heldout_loglik scores the log return; add 'log_return' to {features}")
    j = features.index("log_return")
    log_lik, _ = detector._log_lik(frame)
    filtered, _ = ghmm.forward_filter(log_lik, detector.startprob_, detector.transmat_)
    # regime distribution for bar t from information up to t-1
    predicted = np.nan_to_num(filtered[start - 1 : -1]) @ detector.transmat_
    mean = detector.means_[:, j]
    std = np.sqrt(detector.covars_[:, j, j])
    r = log_returns(frame).to_numpy()[start:]
    density = np.exp(-0.5 * ((r[:, None] - mean) / std) ** 2) / (std * np.sqrt(2 * np.pi))
    mixture = (predicted * density).sum(axis=1)
    usable = np.isfinite(r) & (mixture > 0)
    return float(np.log(mixture[usable]).mean())


def tune_hmm(
    frame: pd.DataFrame,
    *,
    n_trials: int = 20,
    scoring: Literal["heldout_loglik", "bic"] = "heldout_loglik",
    feature_sets: Sequence[Sequence[str]] = DEFAULT_FEATURE_SETS,
    n_regimes: tuple[int, int] = (2, 5),
    covariance_types: Sequence[str] = ghmm.COVARIANCE_TYPES,
    validation_fraction: float = 0.3,
    n_init: int = 3,
    seed: int = 0,
    storage: str | None = None,
    study_name: str | None = None,
) -> HMMTuningResult:
    """Search HMM settings with Optuna (TPE, seeded); the last ``validation_fraction`` is held out."""
    import optuna

    if scoring not in ("heldout_loglik", "bic"):
        raise ValueError(f"scoring must be 'heldout_loglik' or 'bic', but got {scoring=}")
    if not 0.05 <= validation_fraction <= 0.5:
        raise ValueError(f"validation_fraction must be in [0.05, 0.5], got {validation_fraction=}")
    sets = [tuple(s) for s in feature_sets]
    if scoring == "heldout_loglik" and any("log_return" not in s for s in sets):
        raise ValueError("with scoring='heldout_loglik' every feature set must hold 'log_return'")
    bad = [c for c in covariance_types if c not in ghmm.COVARIANCE_TYPES]
    if bad:
        raise ValueError(f"unknown covariance_types {bad}; choose from {ghmm.COVARIANCE_TYPES}")
    low, high = (int(v) for v in n_regimes)
    if not 2 <= low <= high:
        raise ValueError(f"n_regimes must be (low, high) with 2 <= low <= high, got {n_regimes=}")
    split = int(len(frame) * (1.0 - validation_fraction))
    train = frame.iloc[:split]
    labels = [",".join(s) for s in sets]

    def build(trial) -> HMMRegimeDetector:
        return HMMRegimeDetector(
            trial.suggest_int("n_regimes", low, high),
            covariance_type=trial.suggest_categorical("covariance_type", list(covariance_types)),
            features=sets[labels.index(trial.suggest_categorical("features", labels))],
            n_init=n_init,
            random_state=seed,
        )

    def objective(trial) -> float:
        detector = build(trial).fit(train)
        if scoring == "bic":
            return detector.information_criteria(train)["bic"]
        return heldout_return_loglik(detector, frame, split)

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(
        direction="minimize" if scoring == "bic" else "maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        storage=storage,
        study_name=study_name,
        load_if_exists=storage is not None,
    )
    study.optimize(objective, n_trials=int(n_trials))
    best = study.best_trial
    detector = build(optuna.trial.FixedTrial(best.params)).fit(train)
    trials = study.trials_dataframe(attrs=("number", "value", "params", "state"))
    logger.info("best HMM settings %s, %s=%.5f", best.params, scoring, best.value)
    return HMMTuningResult(dict(best.params), float(best.value), detector, trials, study)
