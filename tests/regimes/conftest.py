"""Shared inputs for the regime tests: small synthetic series and a slice of real BTC."""

from __future__ import annotations

import pandas as pd
import pytest

from trademl.data.synthetic import default_process


@pytest.fixture(scope="session")
def synthetic_frame() -> pd.DataFrame:
    return default_process(3).sample(6_000, seed=7)


@pytest.fixture(scope="session")
def btc_frame(btc_1h_path) -> pd.DataFrame:
    return pd.read_csv(btc_1h_path, parse_dates=["timestamp"], index_col="timestamp")


@pytest.fixture(scope="session")
def fitted_hmm(synthetic_frame):
    from trademl.regimes import HMMRegimeDetector

    return HMMRegimeDetector(3, features=("log_return", "volatility"), n_init=3).fit(
        synthetic_frame
    )
