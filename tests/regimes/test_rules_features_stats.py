"""Rule-based labeller, regime_p_* feature columns, statistics table, plot, tuning."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.errors import DataError
from trademl.regimes import (
    HMMRegimeDetector,
    plot_regimes,
    regime_features,
    regime_statistics,
    rule_based_regimes,
    tune_hmm,
)
from trademl.regimes.statistics import regime_episodes


def test_rule_based_labels_are_causal_and_follow_trend(synthetic_frame):
    labels = rule_based_regimes(synthetic_frame)
    assert labels.index.equals(synthetic_frame.index)
    assert set(labels.dropna()) == {"bull", "sideways", "bear"}
    prefix = rule_based_regimes(synthetic_frame.iloc[:2_000])
    pd.testing.assert_series_equal(prefix, labels.iloc[:2_000])


def test_rule_based_trend_is_a_z_score_under_a_random_walk():
    index = pd.date_range("2024-01-01", periods=20_000, freq="1h", tz="UTC", name="timestamp")
    close = 100 * np.exp(np.cumsum(0.01 * np.random.default_rng(1).standard_normal(20_000)))
    labels = rule_based_regimes(pd.DataFrame({"close": close}, index=index))
    # |z| < 1 about 68% of the time for a driftless walk
    assert 0.6 < (labels.dropna() == "sideways").mean() < 0.76


def test_rule_based_labels_follow_a_clear_trend():
    index = pd.date_range("2024-01-01", periods=900, freq="1h", tz="UTC", name="timestamp")
    rng = np.random.default_rng(0)
    # up 300 bars, flat 300, down 300, with noise well below the drift
    drift = np.r_[np.full(300, 0.002), np.zeros(300), np.full(300, -0.002)]
    close = 100 * np.exp(np.cumsum(drift + 0.001 * rng.standard_normal(900)))
    labels = rule_based_regimes(pd.DataFrame({"close": close}, index=index), trend_threshold=2.0)
    assert (labels.iloc[150:300] == "bull").mean() > 0.9
    assert (labels.iloc[450:600] == "sideways").mean() > 0.8
    assert (labels.iloc[750:900] == "bear").mean() > 0.9


def test_rule_based_volatility_labels(synthetic_frame):
    labels = rule_based_regimes(synthetic_frame, label_volatility=True, percentile_window=500)
    assert {lab.split("_")[1] for lab in labels.dropna()} == {"calm", "volatile"}
    vol = np.log(synthetic_frame["close"]).diff().rolling(24).std()
    assert vol[labels.str.endswith("_volatile")].mean() > vol[labels.str.endswith("_calm")].mean()
    with pytest.raises(ValueError, match="ma_window"):
        rule_based_regimes(synthetic_frame, ma_window=1)
    with pytest.raises(ValueError, match="high_vol_percentile"):
        rule_based_regimes(synthetic_frame, high_vol_percentile=2.0)


def test_regime_features_are_causal_columns(fitted_hmm, synthetic_frame):
    columns = regime_features(synthetic_frame, fitted_hmm)
    assert list(columns.columns) == ["regime_p_bull", "regime_p_sideways", "regime_p_bear"]
    assert columns.index.equals(synthetic_frame.index)
    pd.testing.assert_frame_equal(
        regime_features(synthetic_frame.iloc[:1_000], fitted_hmm), columns.iloc[:1_000]
    )


def test_walk_forward_regime_features(synthetic_frame):
    detector = HMMRegimeDetector(3, features=("log_return",), n_init=1)
    frame = synthetic_frame.iloc[:2_400]
    columns = regime_features(frame, detector, refit_every=800, min_train_bars=800)
    assert columns.iloc[:800].isna().all().all() and columns.iloc[800:].notna().all().all()
    with pytest.raises(ValueError, match="min_train_bars"):
        regime_features(frame, detector, refit_every=800)


def test_statistics_table(synthetic_frame):
    truth = pd.Series(
        np.asarray(["bull", "sideways", "bear"], dtype=object)[synthetic_frame["regime"]],
        index=synthetic_frame.index,
    )
    table = regime_statistics(synthetic_frame, truth)
    assert list(table.index) == ["bull", "sideways", "bear"]  # sorted by mean return
    assert table["bars"].sum() == len(synthetic_frame)
    assert table["share"].sum() == pytest.approx(1.0)
    assert table.loc["bear", "volatility"] > table.loc["sideways", "volatility"]
    episodes = regime_episodes(truth)
    assert episodes["bars"].sum() == len(truth)
    assert table.loc["bull", "mean_duration"] == pytest.approx(
        episodes.loc[episodes["regime"] == "bull", "bars"].mean()
    )
    # hourly bars: 8766 per year
    assert table.loc["bull", "ann_return"] == pytest.approx(
        table.loc["bull", "mean_return"] * 8766, rel=1e-3
    )
    with pytest.raises(DataError, match="aligned"):
        regime_statistics(synthetic_frame, truth.iloc[:-1])


def test_plot_writes_a_png(fitted_hmm, synthetic_frame, tmp_path):
    frame = synthetic_frame.iloc[:1_500]
    path = plot_regimes(
        frame, fitted_hmm.predict(frame), tmp_path / "r.png", proba=fitted_hmm.predict_proba(frame)
    )
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000


def test_tuning_finds_settings_and_scores_are_comparable(synthetic_frame):
    frame = synthetic_frame.iloc[:3_000]
    result = tune_hmm(
        frame,
        n_trials=4,
        feature_sets=[("log_return",), ("log_return", "range")],
        n_regimes=(2, 3),
        covariance_types=["full", "diag"],
        n_init=1,
    )
    assert len(result.trials) == 4
    assert result.best_score == result.trials["value"].max()
    assert np.isfinite(result.best_score)
    assert result.detector.n_regimes_ == result.best_params["n_regimes"]
    with pytest.raises(ValueError, match="log_return"):
        tune_hmm(frame, feature_sets=[("volatility",)])
    with pytest.raises(ValueError, match="scoring"):
        tune_hmm(frame, scoring="accuracy")


def test_models_for_regime_uses_the_model_cards():
    from trademl.models import for_regime
    from trademl.regimes import models_for_regime
    from trademl.regimes.selection import card_conditions

    assert card_conditions("bull") == ["trending"]
    assert card_conditions("sideways_calm") == ["mean_reverting", "calm"]
    assert card_conditions("bear_volatile") == ["trending", "volatile"]
    kinds = {c.kind for c in models_for_regime("sideways")}
    assert kinds == {c.kind for c in for_regime("mean_reverting")}
    with pytest.raises(ValueError, match="mid_1"):
        models_for_regime("mid_1")
