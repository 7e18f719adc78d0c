"""The in-process predictor: a model package plus one online feature state per symbol.

``Predictor(package)`` answers what the service answers, without HTTP: ``on_bar(symbol,
bar, timestamp)`` takes the next closed bar of a symbol and returns the prediction for
it, equal to ``package.predict_frame(history)`` on the same bars; ``predict_rows(X)``
scores feature rows given directly, checked against the package's signature.
"""

from __future__ import annotations

import gc
import math
from collections import deque
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.package.model import ModelPackage
from trademl.serving.online import OnlineFeatures, UnservableFeatures, unservable_features

__all__ = ["Predictor", "settle_heap"]


def settle_heap() -> None:
    """Once the models are loaded and warm: collect, then move every object alive (models,
    warm-up histories, imported libraries) out of the collector's generations
    (``gc.freeze``). A long-running service's full collections then scan only what it
    allocated since, not everything it started with: with the demo model warm, one full
    collection takes ~65 ms, and it lands inside whichever request set it off. Objects
    frozen earlier are thawed first, so a swapped-out model's cycles are still collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


class Predictor:
    """Predictions bar by bar for the symbols of one :class:`ModelPackage`.

    ``allow_unservable``: serve a model whose features cannot be carried bar by bar by
    recomputing those on the whole history kept since the warm-up (see
    :mod:`trademl.serving.online`); refused with :class:`UnservableFeatures` otherwise.

    Each bar computes only the feature columns the model can read
    (``ModelPackage.columns_read``: 48 of the 257 default columns for the demo LightGBM);
    the others cannot change a prediction. ``all_features=True`` computes every column.
    """

    def __init__(
        self, package: ModelPackage, *, allow_unservable: bool = False, all_features: bool = False
    ):
        self.package = package
        self.allow_unservable = allow_unservable
        self.all_features = all_features
        self.unservable_ = unservable_features(package.recipe)
        if self.unservable_ and not allow_unservable:
            raise UnservableFeatures(self.unservable_)
        self.states_: dict[str, OnlineFeatures] = {}
        # a sequence model (lstm, tcn, hybrid ...) reads the `window` feature rows ending at
        # a bar: keep each symbol's last rows, so a bar is scored on the window the batch
        # path gives it, not on one row padded to a window
        self.window_ = max((_window_of(e) for e in package.estimators.values()), default=1)
        self._rows: dict[str, deque[tuple[pd.Timestamp, np.ndarray]]] = {}

    @property
    def symbols(self) -> list[str]:
        return list(self.package.symbols)

    def state(self, symbol: str) -> OnlineFeatures:
        """The online state of ``symbol`` (created cold on first use)."""
        state = self.states_.get(symbol)
        if state is None:
            if symbol not in self.package.symbols:
                raise DataError(
                    f"symbol {symbol!r} is unknown to this model (it serves "
                    f"{', '.join(self.package.symbols)})"
                )
            # a sequence model's window of rows is scored through the frame path: all of them
            read = self.all_features or self.window_ > 1
            state = OnlineFeatures(
                self.package.recipe,
                symbol,
                allow_unservable=self.allow_unservable,
                bar_delta=self.package.timeframe,
                compute=None if read else self.package.columns_read(symbol),
            )
            self.states_[symbol] = state
        return state

    def warm_up(self, symbol: str, candles: pd.DataFrame) -> None:
        """Start ``symbol`` from this history (its earlier state is dropped)."""
        self.state(symbol).warm_up(candles)
        self._rows.pop(symbol, None)
        if self.window_ > 1:
            X = self.package.features_frame(candles, symbol)
            X = X.loc[X.notna().all(axis=1)].iloc[-(self.window_ - 1) :]
            rows = self._recent_rows(symbol)
            values = X[self.package.feature_names].to_numpy()
            for stamp, row in zip(X.index, values, strict=True):
                rows.append((stamp, row))

    def _recent_rows(self, symbol: str) -> deque[tuple[pd.Timestamp, np.ndarray]]:
        rows = self._rows.get(symbol)
        if rows is None:
            rows = self._rows[symbol] = deque(maxlen=self.window_)
        return rows

    @property
    def ready(self) -> bool:
        """Every symbol has a state and every feature of it is warm."""
        return all(s in self.states_ and self.states_[s].ready for s in self.symbols)

    def on_bar(
        self,
        symbol: str,
        bar: Mapping[str, Any],
        timestamp: pd.Timestamp | str | None = None,
        *,
        now: pd.Timestamp | None = None,
    ) -> dict[str, Any]:
        """The next closed bar of ``symbol`` -> ``timestamp, prediction, proba, signal,
        ready`` for it. ``prediction``/``proba``/``signal`` are None while a feature is
        still warming (``predict_frame`` leaves such bars out too); ``proba`` is the
        probability of the positive class (None for a regressor). A rejected bar raises
        :class:`~trademl.serving.online.BarRejected` and changes nothing."""
        state = self.state(symbol)
        row = state.update(bar, timestamp, now=now)
        stamp = state.last_timestamp
        if not state.scorable:
            return {"timestamp": stamp, "prediction": None, "proba": None, "signal": None,
                    "ready": False}  # fmt: skip
        if self.window_ > 1:
            y_pred, p_up, signal = self._score_window(symbol, stamp, row)
            prediction, proba, signal = float(y_pred[-1]), float(p_up[-1]), int(signal[-1])
        else:
            prediction, proba, signal = self.package.score_row(row, symbol)
        return {
            "timestamp": stamp,
            "prediction": prediction,
            "proba": proba if math.isfinite(proba) else None,
            "signal": signal,
            "ready": True,
        }

    def _score_window(self, symbol: str, stamp: pd.Timestamp, row: np.ndarray):
        """Score the newest bar on its window of recent rows (a gap in their timestamps
        starts a new window, as in the batch path)."""
        rows = self._recent_rows(symbol)
        rows.append((stamp, row.copy()))
        frame = pd.DataFrame(
            np.vstack([r for _, r in rows]),
            columns=self.package.feature_names,
            index=pd.DatetimeIndex([t for t, _ in rows], name="timestamp"),
        )
        scored = self.package.score_rows(frame, symbol)
        return scored["y_pred"].to_numpy(), scored["proba"].to_numpy(), scored["signal"].to_numpy()

    def predict_rows(self, X: pd.DataFrame, symbol: str | None = None) -> pd.DataFrame:
        """Feature rows (named columns, the package's signature) -> ``y_pred, proba, signal``.

        Columns must all be there and numeric, without NaN or infinity (a row with a
        feature still warming has no prediction); extra columns are ignored."""
        if not isinstance(X, pd.DataFrame):
            raise DataError(
                f"rows: expected a DataFrame with named columns, got {type(X).__name__}"
            )
        names = self.package.feature_names
        missing = [c for c in names if c not in X.columns]
        if missing:
            more = f" and {len(missing) - 5} more" if len(missing) > 5 else ""
            raise DataError(f"rows: missing feature column(s) {', '.join(missing[:5])}{more}")
        try:
            values = X[names].to_numpy(dtype=self.package.recipe.dtype)
        except (TypeError, ValueError):
            bad = next(c for c in names if not pd.api.types.is_numeric_dtype(X[c]))
            raise DataError(f"rows: column {bad!r} is not numeric") from None
        finite = np.isfinite(values)
        if not finite.all():
            row, col = np.argwhere(~finite)[0]
            raise DataError(
                f"rows: column {names[col]!r} is {values[row, col]} at row {row}; every feature "
                "needs a finite value"
            )
        if symbol is None and len(self.package.estimators) > 1:
            raise DataError(
                f"rows: this model has one estimator per symbol ({', '.join(self.symbols)}): "
                "say which symbol the rows are for"
            )
        frame = pd.DataFrame(values, columns=names, index=X.index)
        return self.package.score_rows(frame, symbol or self.symbols[0])


def _window_of(estimator: Any) -> int:
    """How many trailing feature rows ``estimator`` reads per prediction (1: one row)."""
    window = getattr(estimator, "window", None)
    return int(window) if isinstance(window, int | np.integer) and window > 1 else 1
