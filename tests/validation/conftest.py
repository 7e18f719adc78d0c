from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def btc(btc_1h_path):
    from trademl.data.io import load_ohlcv

    return load_ohlcv(btc_1h_path)
