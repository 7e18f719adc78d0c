"""NNRegimeDetector: learns known regimes, causal windows, seeded, saved without pickle."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from trademl.errors import DataError
from trademl.regimes import NNRegimeDetector, load_detector

SMALL = {
    "features": ("log_return", "range"),
    "sequence_length": 16,
    "hidden_size": 12,
    "max_epochs": 3,
    "batch_size": 128,
    "learning_rate": 1e-2,
}


@pytest.fixture(scope="module")
def labelled(synthetic_frame):
    frame = synthetic_frame.iloc[:3_000]
    names = np.asarray(["bull", "sideways", "bear"], dtype=object)
    return frame, pd.Series(names[frame["regime"].to_numpy()], index=frame.index)


@pytest.fixture(scope="module")
def fitted_nn(labelled):
    frame, labels = labelled
    return NNRegimeDetector(**SMALL, random_state=0).fit(frame.iloc[:2_000], labels.iloc[:2_000])


def test_learns_the_true_regimes_out_of_sample(fitted_nn, labelled):
    frame, labels = labelled
    predicted = fitted_nn.predict(frame).iloc[2_000:]
    # three sticky regimes, a third each: chance is ~0.33; the bar's range gives the LSTM
    # the volatility, which separates the calm regime from the turbulent ones
    assert (predicted == labels.iloc[2_000:]).mean() > 0.6
    assert fitted_nn.names_ == ["bull", "sideways", "bear"]  # ordered by mean return
    assert 1 <= fitted_nn.n_epochs_ <= SMALL["max_epochs"]
    assert all(np.isfinite(h["val_loss"]) for h in fitted_nn.history_)


def test_predictions_are_causal_and_wait_for_a_full_window(fitted_nn, labelled):
    frame, _ = labelled
    full = fitted_nn.predict_proba(frame)
    ready = full.notna().all(axis=1).to_numpy()
    first = int(np.argmax(ready))
    assert first == SMALL["sequence_length"]  # range is known at bar 0, log_return at bar 1
    np.testing.assert_allclose(full.iloc[first:].sum(axis=1), 1.0, atol=1e-5)
    prefix = fitted_nn.predict_proba(frame.iloc[:1_500])
    # the scaling was fitted once, so a prefix sees exactly the same numbers
    pd.testing.assert_frame_equal(prefix, full.iloc[:1_500], atol=1e-6, rtol=1e-5)


def test_same_seed_same_model(labelled, fitted_nn):
    frame, labels = labelled
    again = NNRegimeDetector(**SMALL, random_state=0).fit(frame.iloc[:2_000], labels.iloc[:2_000])
    pd.testing.assert_frame_equal(again.predict_proba(frame), fitted_nn.predict_proba(frame))


def test_save_load_is_weights_and_json_not_pickle(fitted_nn, labelled, tmp_path):
    frame, _ = labelled
    path = fitted_nn.save(tmp_path / "lstm")
    assert sorted(p.name for p in path.iterdir()) == ["config.json", "weights.pt"]
    config = json.loads((path / "config.json").read_text())
    assert config["kind"] == "lstm" and config["params"]["sequence_length"] == 16
    loaded = load_detector(path)
    pd.testing.assert_frame_equal(loaded.predict_proba(frame), fitted_nn.predict_proba(frame))


def test_trains_on_labels_from_the_hmm(synthetic_frame):
    from trademl.regimes import HMMRegimeDetector

    frame = synthetic_frame.iloc[:2_500]
    hmm_labels = HMMRegimeDetector(3, features=("log_return",), n_init=2).fit_predict(frame)
    nn = NNRegimeDetector(**{**SMALL, "max_epochs": 2}).fit(frame, hmm_labels)
    assert set(nn.names_) == set(hmm_labels.dropna())


def test_bad_input(labelled):
    frame, labels = labelled
    with pytest.raises(ValueError, match="needs labels y"):
        NNRegimeDetector(**SMALL).fit(frame)
    with pytest.raises(DataError, match="aligned"):
        NNRegimeDetector(**SMALL).fit(frame, labels.iloc[:10])
    with pytest.raises(ValueError, match="dropout"):
        NNRegimeDetector(**{**SMALL, "dropout": 1.5}).fit(frame, labels)
    with pytest.raises(ValueError, match="sequence_length"):
        NNRegimeDetector(**{**SMALL, "sequence_length": 0}).fit(frame, labels)
    with pytest.raises(DataError, match="at least 2"):
        NNRegimeDetector(**SMALL).fit(frame, pd.Series("bull", index=frame.index))
    with pytest.raises(DataError, match="too few"):
        two = pd.Series(["bull", "bear"] * 20, index=frame.index[:40])
        NNRegimeDetector(**SMALL).fit(frame.iloc[:40], two)
