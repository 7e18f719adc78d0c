"""The hybrid model: a CNN-LSTM-attention network's representation + tabular features -> XGBoost.

Nested and leak-free inside whatever training rows it is given (a CV fold's, or the
development rows): the rows are cut into ``inner_folds`` time blocks; for each block a
network is trained on the OTHER rows (purged by ``purge`` rows on both sides of the
block), and an XGBoost booster is trained on that block only, from the network's
penultimate representation (a network that never saw those rows' labels) joined with the
tabular features. Prediction averages the pairs (network k, booster k).

Each booster reads the representation of the one network it was trained with, because
two separately trained networks do not share a representation basis: mixing one
network's features at training time with another's at prediction time would be noise.
"""

from __future__ import annotations

import contextlib
from typing import Any

import numpy as np
import pandas as pd
from sklearn.utils.metaestimators import available_if

from trademl.errors import DataError
from trademl.models.base import TabularModel, _is_classifier
from trademl.models.cards import ModelCard, ParamInfo, output_schema
from trademl.models.deep._reporting import no_epoch_reports
from trademl.models.deep.cnn_lstm_attention import CARD as STAGE1_CARD

__all__ = ["HybridModel"]

_STAGE1 = ("window", "epochs", "batch_size", "hidden_size", "layers", "dropout",
           "learning_rate", "weight_decay", "grad_clip", "kernel_size", "filters",
           "class_weight", "device", "mixed_precision", "onnx")  # fmt: skip

CARD = ModelCard(
    kind="hybrid",
    name="CNN-LSTM-attention -> XGBoost",
    purpose=(
        "Stage 1 learns a representation of the last `window` bars (CNN, LSTM, Bahdanau "
        "attention); stage 2 (XGBoost) combines it with the tabular features."
    ),
    tasks=("classification", "regression"),
    input_shape="rows = bars of one or more symbols, 5-200 features, >= 3 windows per block",
    required_features="numeric, no NaN (warm-up rows dropped)",
    output_schema=output_schema(),
    regimes=("trending", "volatile", "mean_reverting"),
    params={
        **{k: STAGE1_CARD.params[k] for k in _STAGE1},
        "inner_folds": ParamInfo("int", 3, help="time blocks: one (network, booster) pair each"),
        "xgb_n_estimators": ParamInfo("int", 300),
        "xgb_max_depth": ParamInfo("int", 4),
        "xgb_learning_rate": ParamInfo("float", 0.05),
    },
    search_space={
        **{
            k: v
            for k, v in STAGE1_CARD.search_space.items()
            if k in ("window", "hidden_size", "learning_rate")
        },
        "xgb_max_depth": {"type": "int", "low": 2, "high": 8},
        "xgb_learning_rate": {"type": "float", "low": 0.01, "high": 0.2, "log": True},
    },  # fmt: skip
    early_stopping=True,
    notes="early_stopping_rounds applies to each stage-1 network (epochs).",
    extra={"allow_nan": False, "sequence": True},
)


class HybridModel(TabularModel):
    card = CARD

    def __init__(self, *, task="classification", window=32, epochs=20, batch_size=256,
                 hidden_size=32, layers=1, dropout=0.1, learning_rate=1e-3, weight_decay=1e-4,
                 grad_clip=1.0, kernel_size=3, filters=32, class_weight="balanced",
                 device="auto", mixed_precision=None, onnx=True, inner_folds=3,
                 xgb_n_estimators=300, xgb_max_depth=4, xgb_learning_rate=0.05,
                 early_stopping_rounds=None, validation_fraction=0.15, purge=0,
                 random_state=0, n_jobs=1):  # fmt: skip
        self.task = task
        self.window = window
        self.epochs = epochs
        self.batch_size = batch_size
        self.hidden_size = hidden_size
        self.layers = layers
        self.dropout = dropout
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.grad_clip = grad_clip
        self.kernel_size = kernel_size
        self.filters = filters
        self.class_weight = class_weight
        self.device = device
        self.mixed_precision = mixed_precision
        self.onnx = onnx
        self.inner_folds = inner_folds
        self.xgb_n_estimators = xgb_n_estimators
        self.xgb_max_depth = xgb_max_depth
        self.xgb_learning_rate = xgb_learning_rate
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.purge = purge
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_estimator(self) -> Any:  # the pairs are built in fit
        raise NotImplementedError

    def _stage1(self, seed: int):
        from trademl.models.deep.cnn_lstm_attention import CNNLSTMAttentionModel

        return CNNLSTMAttentionModel(
            task=self.task,
            **{k: getattr(self, k) for k in _STAGE1},
            early_stopping_rounds=self.early_stopping_rounds,
            validation_fraction=self.validation_fraction,
            purge=self.purge,
            random_state=seed,
            n_jobs=self.n_jobs,
        )

    def _stage2(self, seed: int):
        from trademl.models.xgboost import XGBoostModel

        return XGBoostModel(
            task=self.task,
            n_estimators=self.xgb_n_estimators,
            max_depth=self.xgb_max_depth,
            learning_rate=self.xgb_learning_rate,
            random_state=seed,
            n_jobs=self.n_jobs,
        )

    @staticmethod
    def _joined(representation: np.ndarray, X: pd.DataFrame) -> pd.DataFrame:
        names = [f"representation_{i}" for i in range(representation.shape[1])]
        values = np.hstack([representation, X.to_numpy(dtype=np.float64)])
        return pd.DataFrame(values, index=X.index, columns=[*names, *map(str, X.columns)])

    def fit(self, X, y, sample_weight=None):
        self._check_task()
        if sample_weight is not None:
            raise ValueError("sample_weight is not supported by trademl models yet")
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
        y = np.asarray(y)
        if len(y) != len(X):
            raise ValueError(f"X has {len(X)} rows but y has {len(y)}")
        k = self.inner_folds
        if isinstance(k, bool) or not isinstance(k, int) or k < 2:
            raise ValueError(f"inner_folds must be an integer >= 2, got inner_folds={k!r}")
        purge = int(self.purge)
        bounds = np.linspace(0, len(X), k + 1).astype(int)
        if np.min(np.diff(bounds)) < 3 * int(self.window):
            raise DataError(
                f"hybrid: {len(X)} rows make blocks of {np.min(np.diff(bounds))} rows with "
                f"inner_folds={k}, fewer than 3 windows (window={self.window})"
            )
        if self.task == "classification":
            self.classes_ = np.unique(y)
        self.feature_names_in_ = np.asarray(X.columns, dtype=object)
        self.n_features_in_ = X.shape[1]
        seed = int(self.random_state or 0)
        pairs = []
        for fold, (start, end) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
            # the network never sees the block's labels, nor the purge rows around it
            outside = np.r_[0 : max(0, start - purge), min(len(X), end + purge) : len(X)]
            # the first network's epochs go to a tuner's pruner; the same steps again would
            # only be ignored by Optuna
            quiet = no_epoch_reports() if fold else contextlib.nullcontext()
            with quiet:
                network = self._stage1(seed + fold).fit(X.iloc[outside], y[outside])
            # windows of the block's rows look back into earlier FEATURE rows (never labels)
            representation = network.transform(X)[start:end]
            booster = self._stage2(seed + fold)
            booster.fit(self._joined(representation, X.iloc[start:end]), y[start:end])
            if self.task == "classification" and not np.array_equal(
                booster.classes_, self.classes_
            ):
                raise DataError(
                    f"hybrid: inner block {fold} has classes {booster.classes_}, the rows "
                    f"{self.classes_}; use fewer inner_folds"
                )
            pairs.append((network, booster))
        self.pairs_ = pairs
        self.estimator_ = pairs
        return self

    def _each(self, X, method: str) -> np.ndarray:
        self._check_fitted()
        if not isinstance(X, pd.DataFrame):
            X = pd.DataFrame(np.asarray(X))
        outputs = [
            getattr(booster, method)(self._joined(network.transform(X), X))
            for network, booster in self.pairs_
        ]
        return np.mean(outputs, axis=0)

    @available_if(_is_classifier)
    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities averaged over the (network, booster) pairs."""
        return self._each(X, "predict_proba")

    def predict(self, X) -> np.ndarray:
        if self.task == "classification":
            return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
        return self._each(X, "predict")
