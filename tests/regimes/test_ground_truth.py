"""Against known regimes: the fitted causal HMM reaches the causal ceiling (within 2 points).

The ceiling is the forward filter run with the generator's TRUE parameters on the same
observation (the bar's log return): no causal method can beat it on average.
"""

from __future__ import annotations

import pytest

from trademl.data.synthetic import default_process
from trademl.regimes.evaluation import ground_truth_accuracy


@pytest.mark.parametrize("seed", [7, 11, 23])
def test_fitted_causal_hmm_is_within_two_points_of_the_ceiling(seed):
    scores = ground_truth_accuracy(default_process(3), 10_000, seed, hmmlearn_reference=False)
    ceiling = scores["ceiling_filter_true_params"]
    # overlapping return laws: even the ceiling misses a good share of bars
    assert 0.8 < ceiling < 0.97
    assert scores["hmm_filtered"] >= ceiling - 0.02
    # smoothing sees the future, so it does better — which is why it is not the default
    assert scores["hmm_smoothed_viterbi"] > scores["hmm_filtered"] + 0.02
    assert scores["hmm_smoothed_viterbi"] >= scores["viterbi_true_params"] - 0.02


def test_hmmlearn_reference_agrees_with_our_fit():
    scores = ground_truth_accuracy(default_process(3), 4_000, 7, n_init=1)
    assert abs(scores["hmmlearn_viterbi"] - scores["hmm_smoothed_viterbi"]) < 0.03
    assert abs(scores["hmmlearn_filtered"] - scores["hmm_filtered"]) < 0.03
