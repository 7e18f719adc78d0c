from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def btc(btc_1h_path):
    """Real BTC/USDT 1h candles (gaps and all) through the data layer."""
    from trademl.data.io import load_ohlcv

    return load_ohlcv(btc_1h_path)


@pytest.fixture(scope="session")
def btc_recent(btc):
    """The last 6,000 bars: enough for every labeller, small enough for slow reference loops."""
    return btc.iloc[-6000:]
