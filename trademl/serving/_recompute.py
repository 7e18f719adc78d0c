"""Until the online feature state lands: a predictor that recomputes the batch path on the
whole kept history for every bar (exact by construction, slow). Same interface as
``trademl.serving.online.Predictor``."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

from trademl.errors import DataError


class Predictor:
    def __init__(self, package, *, allow_unservable: bool = False):
        self.package = package
        self.allow_unservable = allow_unservable
        self._frames: dict[str, pd.DataFrame] = {}

    def warm_up(self, symbol: str, candles: pd.DataFrame) -> None:
        self._frames[symbol] = candles[["open", "high", "low", "close", "volume"]].astype(float)

    def on_bar(self, symbol: str, bar: Mapping[str, float], timestamp: pd.Timestamp) -> dict:
        frame = self._frames.get(symbol)
        if frame is None:
            raise DataError(f"symbol {symbol!r}: not warmed up")
        row = pd.DataFrame([{k: float(bar[k]) for k in frame.columns}], index=[timestamp])
        frame = pd.concat([frame, row])
        frame.index.name = "timestamp"
        self._frames[symbol] = frame
        X = self.package.features_frame(frame.iloc[-2000:], symbol).iloc[[-1]]
        if not np.isfinite(X.to_numpy(dtype=float)).all():
            raise DataError(f"{symbol}: not every feature is warm at {timestamp}")
        scored = self.package.score_rows(X, symbol).iloc[0]
        return {
            "timestamp": timestamp,
            "prediction": float(scored["y_pred"]),
            "proba": float(scored["proba"]),
            "signal": int(scored["signal"]),
        }

    def predict_rows(self, X: pd.DataFrame, symbol: str | None = None) -> pd.DataFrame:
        return self.package.score_rows(X, symbol)
