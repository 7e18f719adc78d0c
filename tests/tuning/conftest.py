"""Real BTC/USDT 1h rows turned into cross-validation data for tuning tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trademl.config.backtest import BacktestSpec
from trademl.tuning import CVData
from trademl.validation import PurgedKFold

HORIZON = 4


@pytest.fixture(scope="session")
def cv_data(btc_1h_path) -> CVData:
    bars = pd.read_csv(btc_1h_path, nrows=2000)
    bars.index = pd.to_datetime(bars.pop("timestamp"), utc=True)
    close = bars["close"]
    ret = np.log(close).diff()
    X = pd.DataFrame(
        {f"ret_{k}": ret.rolling(k).sum() for k in (1, 3, 6, 12, 24)}
        | {f"vol_{k}": ret.rolling(k).std() for k in (12, 48)},
        index=bars.index,
    )
    forward = close.shift(-HORIZON) / close - 1
    ok = X.notna().all(axis=1) & forward.notna()
    X = X[ok]
    folds = list(PurgedKFold(3, horizon=HORIZON).split(X))
    return CVData(
        X=X,
        y=np.where(forward[ok] > 0, 1, -1),
        folds=[(np.asarray(a), np.asarray(b)) for a, b in folds],
        close=close[ok].to_numpy(),
        forward_return=forward[ok].to_numpy(),
        symbol=np.full(len(X), "BTCUSDT"),
        backtest=BacktestSpec(),
        periods_per_year=8760.0,
    )
