"""Accuracy against known regimes: how close causal detection gets to what is possible.

On a series from ``trademl.data.synthetic`` the true regime of every bar is known. The
detectors below all see the same observation — the bar's log return — so the forward
filter run with the generator's TRUE parameters is the best any causal method can do
with that information (the "causal ceiling"); Viterbi with true parameters is the same
for methods allowed to look ahead.
"""

from __future__ import annotations

import time

import numpy as np
import pandas as pd

from trademl.data.synthetic import RegimeProcess
from trademl.regimes import _gaussian_hmm as ghmm
from trademl.regimes._inputs import log_returns
from trademl.regimes._naming import match_regimes

__all__ = ["ground_truth_accuracy", "true_log_likelihood"]


def true_log_likelihood(process: RegimeProcess, frame: pd.DataFrame) -> np.ndarray:
    """``(T, K)`` log densities of each bar's log return under each true regime."""
    r = log_returns(frame).to_numpy().copy()
    r[0] = np.log(frame["close"].iloc[0] / float(process.initial_price))
    mean = np.asarray(process.drift, dtype=float)
    std = np.asarray(process.volatility, dtype=float)
    return -0.5 * np.log(2 * np.pi * std**2) - 0.5 * ((r[:, None] - mean) / std) ** 2


def _codes(labels: pd.Series, names: list[str]) -> np.ndarray:
    code = {n: i for i, n in enumerate(names)}
    return np.array([code.get(v, -1) for v in labels.astype(object)], dtype=np.int64)


def _score(truth: np.ndarray, predicted: np.ndarray) -> float:
    known = predicted >= 0
    return match_regimes(truth[known], predicted[known])[1]


def ground_truth_accuracy(
    process: RegimeProcess,
    n_bars: int,
    seed: int,
    *,
    n_init: int = 5,
    hmmlearn_reference: bool = True,
    lstm_epochs: int = 0,
    lstm_kwargs: dict | None = None,
) -> dict[str, float]:
    """Accuracy (after the best one-to-one label matching) of each way to find regimes.

    Keys: ``ceiling_filter_true_params``, ``viterbi_true_params``, ``hmm_filtered``
    (causal, fitted), ``hmm_smoothed_viterbi``, ``hmm_smoothed_forward_backward``,
    ``hmmlearn_viterbi`` (reference), ``lstm_test`` (trained on the first 70% with the
    TRUE labels, scored on the last 30%; only with ``lstm_epochs > 0``), plus fit times.
    """
    from trademl.regimes.hmm import HMMRegimeDetector

    frame = process.sample(n_bars, seed)
    truth = frame["regime"].to_numpy()
    trans = np.asarray(process.transition_matrix, dtype=float)
    start = process.stationary_distribution()
    true_ll = true_log_likelihood(process, frame)
    out: dict[str, float] = {}
    out["ceiling_filter_true_params"] = _score(
        truth, ghmm.forward_filter(true_ll, start, trans)[0].argmax(axis=1)
    )
    out["viterbi_true_params"] = _score(truth, ghmm.viterbi(true_ll, start, trans))

    began = time.perf_counter()
    k = len(process.names)
    detector = HMMRegimeDetector(k, features=("log_return",), n_init=n_init, random_state=seed)
    detector.fit(frame)
    out["hmm_fit_seconds"] = time.perf_counter() - began
    out["hmm_filtered"] = _score(truth, _codes(detector.predict(frame), detector.names_))
    out["hmm_smoothed_viterbi"] = _score(truth, _codes(detector.smooth(frame), detector.names_))
    smoothed_fb = detector.smooth(frame, method="forward_backward")
    out["hmm_smoothed_forward_backward"] = _score(truth, _codes(smoothed_fb, detector.names_))

    if hmmlearn_reference:
        from hmmlearn.hmm import GaussianHMM

        x = log_returns(frame).fillna(0.0).to_numpy()[:, None]
        # standardised as our detector does: hmmlearn's min_covar (1e-3) would otherwise
        # swamp hourly return variances (~1e-5) and the reference would be crippled
        x = (x - x.mean()) / x.std()
        began = time.perf_counter()
        best, best_score = None, -np.inf
        for restart in range(n_init):
            model = GaussianHMM(
                k,
                "full",
                n_iter=200,
                tol=1e-4,
                random_state=seed + restart,
                implementation="scaling",
            ).fit(x)
            score = model.score(x)
            if score > best_score:
                best, best_score = model, score
        out["hmmlearn_fit_seconds"] = time.perf_counter() - began
        out["hmmlearn_viterbi"] = _score(truth, best.predict(x))
        out["hmmlearn_filtered"] = _score(
            truth,
            ghmm.forward_filter(best._compute_log_likelihood(x), best.startprob_, best.transmat_)[
                0
            ].argmax(axis=1),
        )

    if lstm_epochs > 0:
        from trademl.regimes.neural import NNRegimeDetector

        names = np.asarray(process.names, dtype=object)
        labels = pd.Series(names[truth], index=frame.index)
        cut = int(0.7 * n_bars)
        settings = {"features": ("log_return",), "max_epochs": lstm_epochs, "random_state": seed}
        settings.update(lstm_kwargs or {})
        began = time.perf_counter()
        network = NNRegimeDetector(**settings).fit(frame.iloc[:cut], labels.iloc[:cut])
        out["lstm_fit_seconds"] = time.perf_counter() - began
        predicted = network.predict(frame).iloc[cut:]
        out["lstm_test"] = _score(truth[cut:], _codes(predicted, list(process.names)))
        # the causal ceiling on the same test bars, for a like-for-like comparison
        filtered = ghmm.forward_filter(true_ll, start, trans)[0].argmax(axis=1)
        out["ceiling_filter_true_params_test"] = float((filtered[cut:] == truth[cut:]).mean())
    return out
