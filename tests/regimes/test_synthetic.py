"""The regime-switching generator: shape, reproducibility, realism of the candles."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.data.synthetic import RegimeProcess, default_process, synthetic_ohlcv


def test_shape_index_and_dtypes():
    frame = synthetic_ohlcv(2_000, seed=3)
    assert list(frame.columns) == ["open", "high", "low", "close", "volume", "regime"]
    assert isinstance(frame.index, pd.DatetimeIndex)
    assert frame.index.name == "timestamp"
    assert str(frame.index.tz) == "UTC"
    assert frame.index.freq == "h" or (frame.index.to_series().diff().dropna() == "1h").all()
    for column in ["open", "high", "low", "close", "volume"]:
        assert frame[column].dtype == np.float64
    assert np.issubdtype(frame["regime"].dtype, np.integer)
    assert set(frame["regime"].unique()) <= {0, 1, 2}


def test_same_seed_same_frame_other_seed_differs():
    a = synthetic_ohlcv(1_000, seed=11)
    b = synthetic_ohlcv(1_000, seed=11)
    c = synthetic_ohlcv(1_000, seed=12)
    pd.testing.assert_frame_equal(a, b)
    assert not np.allclose(a["close"].to_numpy(), c["close"].to_numpy())


def test_candles_are_consistent_and_volume_follows_volatility():
    frame = synthetic_ohlcv(20_000, seed=5)
    body_top = frame[["open", "close"]].max(axis=1)
    body_bottom = frame[["open", "close"]].min(axis=1)
    assert (frame["high"] >= body_top).all() and (frame["low"] <= body_bottom).all()
    assert (frame["high"] > body_top).mean() > 0.5  # wicks exist, not just bodies
    np.testing.assert_array_equal(frame["open"].to_numpy()[1:], frame["close"].to_numpy()[:-1])
    bar_range = np.log(frame["high"] / frame["low"])
    assert np.corrcoef(np.log(frame["volume"]), bar_range)[0, 1] > 0.5
    # the turbulent regime (bear) trades more than the calm one (sideways)
    by_regime = frame.groupby("regime")["volume"].median()
    assert by_regime[2] > 1.5 * by_regime[1]


def test_regime_statistics_match_the_process():
    process = default_process(3)
    frame = process.sample(200_000, seed=1)
    log_ret = np.log(frame["close"]).diff().fillna(np.log(frame["close"].iloc[0] / 10_000.0))
    for state, (mu, sigma) in enumerate(zip(process.drift, process.volatility, strict=True)):
        sample = log_ret[frame["regime"] == state]
        assert abs(sample.std() - sigma) < 0.03 * sigma
        assert abs(sample.mean() - mu) < 4 * sigma / np.sqrt(len(sample))
    # sticky transitions: the observed stay rate is close to 0.99, durations ~ 100 bars
    stays = (frame["regime"].to_numpy()[1:] == frame["regime"].to_numpy()[:-1]).mean()
    assert 0.985 < stays < 0.995
    np.testing.assert_allclose(process.expected_durations().to_numpy(), 100.0)
    shares = frame["regime"].value_counts(normalize=True).sort_index().to_numpy()
    np.testing.assert_allclose(shares, process.stationary_distribution(), atol=0.05)


@pytest.mark.parametrize("n", [2, 4, 5])
def test_other_regime_counts_are_named_and_ordered_by_drift(n):
    process = default_process(n)
    assert process.names[0] == "bull" and process.names[-1] == "bear"
    assert len(process.names) == n
    assert list(process.drift) == sorted(process.drift, reverse=True)
    frame = synthetic_ohlcv(5_000, seed=0, n_regimes=n)
    assert frame["regime"].max() < n


def test_start_and_frequency():
    frame = default_process(3).sample(10, seed=0, start="2021-03-01 12:00", freq="15min")
    assert frame.index[0] == pd.Timestamp("2021-03-01 12:00", tz="UTC")
    assert frame.index[1] - frame.index[0] == pd.Timedelta("15min")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"drift": [0.0]}, "drift"),
        ({"volatility": [0.01, -0.01]}, "volatility"),
        ({"transition_matrix": [[0.9, 0.2], [0.1, 0.9]]}, "transition_matrix"),
        ({"transition_matrix": [[1.0]]}, "transition_matrix"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, message):
    params = {
        "names": ["up", "down"],
        "drift": [0.001, -0.001],
        "volatility": [0.01, 0.02],
        "transition_matrix": [[0.95, 0.05], [0.05, 0.95]],
    }
    params.update(kwargs)
    with pytest.raises(ValueError, match=message):
        RegimeProcess(**params).sample(10, seed=0)


def test_bad_bar_count():
    with pytest.raises(ValueError, match="n_bars"):
        synthetic_ohlcv(0, seed=0)
    with pytest.raises(ValueError, match="n_regimes"):
        synthetic_ohlcv(10, seed=0, n_regimes=1)
