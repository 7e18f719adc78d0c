"""HMMRegimeDetector: causality, naming, selection, restarts, persistence, bad input."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hmmlearn.hmm import GaussianHMM

from trademl.errors import DataError
from trademl.regimes import HMMRegimeDetector, NotFittedError, load_detector
from trademl.regimes import _gaussian_hmm as ghmm


def test_filtered_probabilities_are_causal(fitted_hmm, synthetic_frame):
    full = fitted_hmm.predict_proba(synthetic_frame)
    for cut in (500, 2_345, 4_000):
        prefix = fitted_hmm.predict_proba(synthetic_frame.iloc[:cut])
        pd.testing.assert_frame_equal(prefix, full.iloc[:cut], rtol=1e-9, atol=1e-12)
    # and changing the future does not move the past
    altered = synthetic_frame.copy()
    altered.iloc[3_000:, altered.columns.get_loc("close")] *= 1.5
    np.testing.assert_allclose(
        fitted_hmm.predict_proba(altered).iloc[:3_000].to_numpy(),
        full.iloc[:3_000].to_numpy(),
    )


def test_smoothing_sees_the_future(fitted_hmm, synthetic_frame):
    full = fitted_hmm.smooth_proba(synthetic_frame)
    prefix = fitted_hmm.smooth_proba(synthetic_frame.iloc[:3_000])
    assert not np.allclose(prefix.to_numpy()[-50:], full.to_numpy()[2_950:3_000])


def test_probabilities_shape_names_and_warm_up(fitted_hmm, synthetic_frame):
    proba = fitted_hmm.predict_proba(synthetic_frame)
    assert list(proba.columns) == ["bull", "sideways", "bear"]
    assert proba.index.equals(synthetic_frame.index)
    warm = fitted_hmm.window  # rolling volatility needs `window` returns
    assert proba.iloc[:warm].isna().all().all()
    np.testing.assert_allclose(proba.iloc[warm:].sum(axis=1), 1.0)
    labels = fitted_hmm.predict(synthetic_frame)
    assert labels.iloc[:warm].isna().all() and set(labels.dropna()) <= set(proba.columns)


def test_states_named_by_mean_return(fitted_hmm, synthetic_frame):
    returns = np.log(synthetic_frame["close"]).diff()
    labels = fitted_hmm.smooth(synthetic_frame)
    means = [returns[labels == name].mean() for name in fitted_hmm.names_]
    assert means == sorted(means, reverse=True)
    # the true regimes are bull/sideways/bear in that order: the names agree with them
    truth = np.asarray(["bull", "sideways", "bear"], dtype=object)[synthetic_frame["regime"]]
    assert (labels.to_numpy() == truth).mean() > 0.75


def test_names_stable_across_refits_on_overlapping_data(synthetic_frame):
    first = HMMRegimeDetector(3, features=("log_return",), random_state=1)
    second = HMMRegimeDetector(3, features=("log_return",), random_state=2)
    first.fit(synthetic_frame.iloc[:4_000])
    second.fit(synthetic_frame.iloc[2_000:])
    overlap = synthetic_frame.iloc[2_000:4_000]
    agreement = (first.predict(overlap) == second.predict(overlap)).mean()
    assert agreement > 0.85


def test_summaries(fitted_hmm):
    trans = fitted_hmm.transition_matrix()
    assert list(trans.index) == list(trans.columns) == fitted_hmm.names_
    np.testing.assert_allclose(trans.sum(axis=1), 1.0)
    durations = fitted_hmm.expected_durations()
    np.testing.assert_allclose(durations, 1.0 / (1.0 - np.diag(trans)))
    # sticky regimes of ~100 bars are recovered as long-lived states
    assert (durations > 20).all()
    assert fitted_hmm.means_.shape == (3, 2) and fitted_hmm.covars_.shape == (3, 2, 2)


def test_forward_filter_matches_a_plain_loop_and_hmmlearn(fitted_hmm, synthetic_frame):
    log_lik, _ = fitted_hmm._log_lik(synthetic_frame.iloc[:800])
    start, trans = fitted_hmm.startprob_, fitted_hmm.transmat_
    alpha = start * np.exp(log_lik[0])
    expected = [alpha / alpha.sum()]
    for row in log_lik[1:]:
        alpha = (expected[-1] @ trans) * np.exp(row)
        expected.append(alpha / alpha.sum())
    filtered, log_prob = ghmm.forward_filter(log_lik, start, trans)
    np.testing.assert_allclose(filtered, np.array(expected), atol=1e-10)
    # the total log-likelihood agrees with hmmlearn's GaussianHMM.score on the same model
    x = fitted_hmm._inputs(synthetic_frame.iloc[:800])[100:]
    reference = GaussianHMM(3, "full")
    reference.n_features = x.shape[1]
    reference.startprob_, reference.transmat_ = start, trans
    reference.means_, reference.covars_ = fitted_hmm.params_.means, fitted_hmm.params_.covars
    ours = ghmm.forward_filter(
        ghmm.log_likelihood(x, fitted_hmm.params_.means, fitted_hmm.params_.covars), start, trans
    )[1]
    assert ours == pytest.approx(reference.score(x), rel=1e-9)


@pytest.mark.parametrize("covariance_type", ["full", "diag", "spherical", "tied"])
def test_covariance_types(covariance_type, synthetic_frame):
    detector = HMMRegimeDetector(
        2, covariance_type=covariance_type, n_init=2, features=("log_return", "volatility")
    ).fit(synthetic_frame.iloc[:3_000])
    cov = detector.params_.covars
    if covariance_type == "diag":
        assert np.allclose(cov[:, 0, 1], 0.0)
    if covariance_type == "spherical":
        assert np.allclose(cov[:, 0, 0], cov[:, 1, 1]) and np.allclose(cov[:, 0, 1], 0.0)
    if covariance_type == "tied":
        assert np.allclose(cov[0], cov[1])
    assert np.isfinite(detector.log_likelihood_)


def test_auto_regime_count_by_bic_and_aic(synthetic_frame):
    detector = HMMRegimeDetector(
        "auto", n_regimes_range=(2, 4), features=("log_return",), n_init=2
    ).fit(synthetic_frame)
    table = detector.selection_
    assert list(table.index) == [2, 3, 4]
    assert detector.n_regimes_ == int(table["bic"].idxmin())
    # on 3 true regimes BIC does not choose the smallest model
    assert detector.n_regimes_ >= 3
    aic = HMMRegimeDetector(
        "auto", n_regimes_range=(2, 3), criterion="aic", features=("log_return",), n_init=2
    ).fit(synthetic_frame)
    assert aic.n_regimes_ == int(aic.selection_["aic"].idxmin())


def test_more_restarts_never_lower_the_likelihood(synthetic_frame):
    common = {"features": ("log_return",), "prefit_iter": None, "random_state": 3}
    one = HMMRegimeDetector(3, n_init=1, **common).fit(synthetic_frame)
    five = HMMRegimeDetector(3, n_init=5, **common).fit(synthetic_frame)
    assert five.log_likelihood_ >= one.log_likelihood_ - 1e-6
    again = HMMRegimeDetector(3, n_init=5, **common).fit(synthetic_frame)
    assert again.log_likelihood_ == five.log_likelihood_  # seeded


def test_save_and_load_round_trip(fitted_hmm, synthetic_frame, tmp_path):
    path = fitted_hmm.save(tmp_path / "hmm.json")
    loaded = load_detector(path)
    assert loaded.names_ == fitted_hmm.names_
    assert loaded.get_params() == {
        **fitted_hmm.get_params(),
        "features": tuple(fitted_hmm.features),
    }
    pd.testing.assert_frame_equal(
        loaded.predict_proba(synthetic_frame), fitted_hmm.predict_proba(synthetic_frame)
    )


def test_walk_forward_refits_stay_causal(synthetic_frame):
    detector = HMMRegimeDetector(3, features=("log_return",), n_init=2)
    frame = synthetic_frame.iloc[:3_000]
    full = detector.predict_proba_walk_forward(frame, refit_every=1_000, min_train_bars=1_000)
    assert full.iloc[:1_000].isna().all().all()
    assert full.iloc[1_000:].notna().all().all()
    prefix = detector.predict_proba_walk_forward(
        frame.iloc[:2_500], refit_every=1_000, min_train_bars=1_000
    )
    pd.testing.assert_frame_equal(prefix, full.iloc[:2_500])
    rolling = detector.predict_proba_walk_forward(
        frame, refit_every=1_000, min_train_bars=1_000, train_window="rolling"
    )
    assert rolling.iloc[1_000:2_000].equals(full.iloc[1_000:2_000])  # same first window
    assert not hasattr(detector, "names_")  # the detector itself is not fitted


def test_unfitted_and_bad_settings(synthetic_frame):
    with pytest.raises(NotFittedError, match="fit"):
        HMMRegimeDetector().predict_proba(synthetic_frame)
    with pytest.raises(ValueError, match="covariance_type='banana'"):
        HMMRegimeDetector(covariance_type="banana").fit(synthetic_frame)
    with pytest.raises(ValueError, match="n_regimes"):
        HMMRegimeDetector(1).fit(synthetic_frame)
    with pytest.raises(ValueError, match="n_regimes_range"):
        HMMRegimeDetector("auto", n_regimes_range=(4, 2)).fit(synthetic_frame)
    with pytest.raises(DataError, match="'nope'"):
        HMMRegimeDetector(features=("log_return", "nope")).fit(synthetic_frame)
    with pytest.raises(DataError, match="volume"):
        HMMRegimeDetector(features=("volume_z",)).fit(synthetic_frame[["close"]])
    broken = synthetic_frame.copy()
    broken.iloc[10, broken.columns.get_loc("close")] = -1.0
    with pytest.raises(DataError, match="close"):
        HMMRegimeDetector().fit(broken)
    with pytest.raises(ValueError, match="too few"):
        HMMRegimeDetector(3).fit(synthetic_frame.iloc[:30])


def test_any_feature_column_and_gaps_are_handled(synthetic_frame):
    frame = synthetic_frame.copy()
    frame["my_signal"] = np.log(frame["close"]).diff().rolling(5).mean()
    frame.iloc[1_000:1_010, frame.columns.get_loc("my_signal")] = np.nan  # a gap mid-series
    detector = HMMRegimeDetector(2, features=("log_return", "my_signal"), n_init=2).fit(frame)
    proba = detector.predict_proba(frame)
    # missing observations: the filter carries the regime through the gap
    assert proba.iloc[1_000:1_010].notna().all().all()
