"""Fixtures for the data tests: real candles loaded once per session."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def btc_1h(btc_1h_path):
    from trademl.data.io import load_ohlcv

    return load_ohlcv(btc_1h_path)


@pytest.fixture(scope="session")
def btc_1h_text(btc_1h_path):
    """The real file's lines (header first), for writing broken variants of it."""
    import gzip

    with gzip.open(btc_1h_path, "rt") as handle:
        return handle.read().splitlines()
