"""The model package: what a registered version is, from raw candles to a prediction.

A package holds the fitted feature recipe, the estimator(s) (one pooled, or one per
symbol), the task and label (kind, horizon), the timeframe and the execution settings
(lag, threshold, shorting) its backtest used. ``predict_frame(candles)`` gives the same
columns as the run's ``predictions/oos.parquet``; ``predict(X)`` scores feature rows.
Everything downstream (``trademl predict``, serving, retraining, explanations) uses a
package and nothing of the pipeline's internals.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from trademl.errors import DataError
from trademl.package.recipe import FeatureRecipe

__all__ = ["POOLED", "ModelPackage"]

POOLED = "pooled"


@dataclass
class ModelPackage:
    recipe: FeatureRecipe
    estimators: dict[str, Any]  # "pooled", or one per symbol
    task: str
    label: dict[str, Any]  # the labels: section (kind, horizon, ...)
    timeframe: str
    backtest: dict[str, Any]  # the backtest: section (execution_lag, threshold, fees, ...)
    name: str = ""
    trained_until: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    # ---- what it is -------------------------------------------------------------------
    @property
    def horizon(self) -> int:
        return int(self.label["horizon"])

    @property
    def execution_lag(self) -> int:
        return int(self.backtest.get("execution_lag", 1))

    @property
    def symbols(self) -> list[str]:
        if POOLED in self.estimators:
            return list(self.recipe.symbols)
        return sorted(self.estimators)

    @property
    def feature_names(self) -> list[str]:
        return self.recipe.input_columns

    def _estimator(self, symbol: str | None):
        if POOLED in self.estimators:
            return self.estimators[POOLED]
        if symbol not in self.estimators:
            raise DataError(
                f"symbol {symbol!r}: this model has one estimator per symbol, for "
                f"{sorted(self.estimators)}"
            )
        return self.estimators[symbol]

    def columns_read(self, symbol: str | None = None) -> list[str] | None:
        """The recipe's feature columns the estimator for ``symbol`` can read (in recipe
        order), or None when it may read every one (or tells nothing). The rest cannot
        change its predictions, so the service does not compute them bar by bar."""
        read = getattr(self._estimator(symbol), "features_read", None)
        positions = read() if read is not None else None
        if positions is None or len(positions) == 0:  # a model of no column: keep them all
            return None
        columns = self.recipe.columns  # the one-hot symbol columns come after them
        chosen = [columns[i] for i in np.unique(positions) if i < len(columns)]
        return None if len(chosen) == len(columns) else chosen

    # ---- scoring ----------------------------------------------------------------------
    def score_rows(self, X: pd.DataFrame, symbol: str | None = None) -> pd.DataFrame:
        """Feature rows (the package's columns, no NaN) -> y_pred, proba, signal."""
        missing = [c for c in self.feature_names if c not in X.columns]
        if missing:
            raise DataError(f"features: missing column(s) {missing[:5]} (the model needs them)")
        X = X[self.feature_names]
        y_pred, p_up, signal = self._score(X, symbol, values=False)
        return pd.DataFrame({"y_pred": y_pred, "proba": p_up, "signal": signal}, index=X.index)

    def score_values(
        self, values: np.ndarray, symbol: str | None = None
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``score_rows`` of a matrix already in ``feature_names`` order -> ``(y_pred, proba,
        signal)`` arrays; the per-bar path of serving (no frame built, the same numbers).
        One row goes through ``score_row``: a single-row call costs a fraction of a batch's."""
        values = np.asarray(values)
        if values.ndim == 2 and len(values) == 1:
            y_pred, p_up, signal = self.score_row(values[0], symbol)
            return np.array([y_pred]), np.array([p_up]), np.array([signal], dtype=np.int8)
        return self._score(values, symbol, values=True)

    def score_row(self, row: np.ndarray, symbol: str | None = None) -> tuple[float, float, int]:
        """``score_values`` of one row (``feature_names`` order) as Python numbers ``(y_pred,
        proba, signal)``: serving's per-bar path, where the array bookkeeping of a batch
        costs more than the trees. Classifiers with a one-row call only; the rest (and a
        NaN probability) go through the batch scoring, so the numbers are the same."""
        estimator = self._estimator(symbol)
        one_row = getattr(estimator, "predict_proba_row", None)
        if self.task == "classification" and one_row is not None:
            proba = one_row(row).tolist()
            if all(p == p for p in proba):
                return self._signal_of(proba, estimator.classes_)
        y_pred, p_up, signal = self._score(row[None, :], symbol, values=True)
        return float(y_pred[-1]), float(p_up[-1]), int(signal[-1])

    def _signal_of(self, proba: list[float], classes: np.ndarray) -> tuple[float, float, int]:
        # signal_from_predictions for one row: long when P(up) > threshold, short when
        # P(down) > threshold, the first most probable class as the prediction (argmax)
        best = max(range(len(proba)), key=proba.__getitem__)
        labels = classes.tolist()  # Python numbers: np.argmax per bar costs more than this
        p_up, p_down = proba[labels.index(max(labels))], proba[labels.index(min(labels))]
        threshold, position = self._decision()
        signal = 1 if p_up > threshold else -1 if p_down > threshold else 0
        if position == "long_only":
            signal = max(signal, 0)
        return float(labels[best]), p_up, signal

    def _decision(self) -> tuple[float, str]:
        """The backtest's rule for a signal: the probability to beat, and the positions."""
        threshold = 0.5 + float(self.backtest.get("threshold", 0.0))
        return threshold, "long_short" if self.backtest.get("allow_short", True) else "long_only"

    def _score(self, X: Any, symbol: str | None, *, values: bool):
        from trademl.models.signals import prob_up, signal_from_predictions

        estimator = self._estimator(symbol)
        if self.task == "classification":
            direct = getattr(estimator, "predict_proba_values", None) if values else None
            if values and direct is None:  # a plain estimator: give it its frame
                X = pd.DataFrame(X, columns=self.feature_names)
            proba = direct(X) if direct is not None else estimator.predict_proba(X)
            classes = estimator.classes_
            y_pred = classes[np.argmax(proba, axis=1)].astype(float)
            p_up = prob_up(proba, classes)
        else:
            if values:
                X = pd.DataFrame(X, columns=self.feature_names)
            proba, classes = None, None
            y_pred = np.asarray(estimator.predict(X), dtype=float)
            p_up = np.full(len(X), np.nan)
        threshold, position = self._decision()
        signal = signal_from_predictions(
            y_pred, proba, classes, threshold=threshold, position=position
        )
        return y_pred, p_up, signal.astype(np.int8)

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """Predictions for feature rows (what an MLflow pyfunc ``predict`` returns)."""
        symbol = None if POOLED in self.estimators else self.symbols[0]
        return self.score_rows(pd.DataFrame(X), symbol)["y_pred"].to_numpy()

    def features_frame(self, candles: pd.DataFrame, symbol: str) -> pd.DataFrame:
        """The model's feature matrix for one symbol's candles (warm-up rows are NaN)."""
        return self.recipe.transform(candles, symbol)

    def predict_frame(
        self, candles: pd.DataFrame | Mapping[str, pd.DataFrame], symbol: str | None = None
    ) -> pd.DataFrame:
        """Raw candles -> ``symbol, close, y_pred, proba, signal`` per bar with every feature.

        ``candles``: one symbol's OHLCV frame (name it with ``symbol`` unless the model
        knows only one), or ``{symbol: frame}``. Bars still in a feature's warm-up are
        left out. Rows are sorted by timestamp, then symbol, like the pipeline's.
        """
        if isinstance(candles, Mapping):
            frames = dict(candles)
        else:
            if symbol is None:
                if len(self.symbols) != 1:
                    raise DataError(
                        f"this model knows symbols {self.symbols}: say which one the candles are"
                    )
                symbol = self.symbols[0]
            frames = {symbol: candles}
        parts = []
        for name, frame in frames.items():
            X = self.features_frame(frame, name)
            complete = X.notna().all(axis=1).to_numpy()
            X = X.loc[complete]
            if X.empty:
                raise DataError(
                    f"{name}: no bar has every feature ({len(frame)} bars given); "
                    "give more history for the warm-up"
                )
            scored = self.score_rows(X, name)
            scored.insert(0, "close", frame["close"].astype(float).loc[complete].to_numpy())
            scored.insert(0, "symbol", pd.array([name] * len(scored), dtype="string"))
            parts.append(scored)
        out = pd.concat(parts) if len(parts) > 1 else parts[0]
        order = np.lexsort((out["symbol"].to_numpy(dtype=str), out.index.asi8))
        out = out.iloc[order]
        out.index.name = "timestamp"
        return out

    def describe(self) -> dict[str, Any]:
        """What the package is, as plain data (for cards, CLI output and checks)."""
        return {
            "name": self.name,
            "task": self.task,
            "label": self.label,
            "timeframe": self.timeframe,
            "execution_lag": self.execution_lag,
            "symbols": self.symbols,
            "estimators": {k: type(v).__name__ for k, v in self.estimators.items()},
            "n_features": len(self.feature_names),
            "dtype": self.recipe.dtype,
            "user_modules": {k: v[0] for k, v in self.recipe.modules.items()},
            "trained_until": self.trained_until,
        }
