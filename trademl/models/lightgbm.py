"""LightGBM gradient-boosted trees (leaf-wise), classification and regression."""

from __future__ import annotations

from typing import Any

import numpy as np

from trademl.models.base import TabularModel
from trademl.models.cards import ModelCard, ParamInfo, output_schema

__all__ = ["LightGBMModel"]

CARD = ModelCard(
    kind="lightgbm",
    name="LightGBM",
    purpose="Fast gradient-boosted trees; the default workhorse for tabular bar features.",
    tasks=("classification", "regression"),
    input_shape="rows = bars (or symbol-bars), 10–500 numeric features; 5k–10M rows",
    required_features="any numeric features; NaN allowed (warm-up rows); scale-free",
    output_schema=output_schema(),
    regimes=("trending", "volatile", "mean_reverting"),
    params={
        "n_estimators": ParamInfo(
            "int", 500, help="boosting rounds (upper bound with early stopping)"
        ),
        "learning_rate": ParamInfo("float", 0.05),
        "num_leaves": ParamInfo("int", 31),
        "max_depth": ParamInfo("int", -1, help="-1 = no limit"),
        "min_child_samples": ParamInfo("int", 50),
        "subsample": ParamInfo("float", 1.0),
        "subsample_freq": ParamInfo("int", 0),
        "colsample_bytree": ParamInfo("float", 1.0),
        "reg_alpha": ParamInfo("float", 0.0),
        "reg_lambda": ParamInfo("float", 0.0),
        "max_bin": ParamInfo("int", 255),
        "deterministic": ParamInfo("bool", True, help="same seed -> same model across runs"),
    },
    search_space={
        "learning_rate": {"type": "float", "low": 0.005, "high": 0.2, "log": True},
        "num_leaves": {"type": "int", "low": 8, "high": 128, "log": True},
        "min_child_samples": {"type": "int", "low": 20, "high": 500, "log": True},
        "subsample": {"type": "float", "low": 0.5, "high": 1.0},
        "colsample_bytree": {"type": "float", "low": 0.3, "high": 1.0},
        "reg_lambda": {"type": "float", "low": 1e-3, "high": 10.0, "log": True},
    },
    early_stopping=True,
    extra={"allow_nan": True},
)


class LightGBMModel(TabularModel):
    card = CARD

    def __init__(
        self,
        *,
        task="classification",
        n_estimators=500,
        learning_rate=0.05,
        num_leaves=31,
        max_depth=-1,
        min_child_samples=50,
        subsample=1.0,
        subsample_freq=0,
        colsample_bytree=1.0,
        reg_alpha=0.0,
        reg_lambda=0.0,
        max_bin=255,
        deterministic=True,
        early_stopping_rounds=None,
        validation_fraction=0.15,
        purge=0,
        random_state=0,
        n_jobs=1,
    ):
        self.task = task
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.max_depth = max_depth
        self.min_child_samples = min_child_samples
        self.subsample = subsample
        self.subsample_freq = subsample_freq
        self.colsample_bytree = colsample_bytree
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.deterministic = deterministic
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.purge = purge
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_estimator(self) -> Any:
        import lightgbm as lgb

        cls = lgb.LGBMClassifier if self.task == "classification" else lgb.LGBMRegressor
        # subsampling without a frequency is silently ignored by LightGBM: turn it on
        freq = self.subsample_freq or (1 if self.subsample < 1.0 else 0)
        return cls(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            max_depth=self.max_depth,
            min_child_samples=self.min_child_samples,
            subsample=self.subsample,
            subsample_freq=freq,
            colsample_bytree=self.colsample_bytree,
            reg_alpha=self.reg_alpha,
            reg_lambda=self.reg_lambda,
            max_bin=self.max_bin,
            deterministic=self.deterministic,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
            verbose=-1,
        )

    def _fit_estimator(self, estimator, X, y, X_val=None, y_val=None) -> None:
        if X_val is None:
            estimator.fit(X, y)
            return
        import lightgbm as lgb

        estimator.fit(
            X,
            y,
            eval_X=(X_val,),
            eval_y=(y_val,),
            callbacks=[lgb.early_stopping(self.early_stopping_rounds, verbose=False)],
        )

    def predict_proba_values(self, values: np.ndarray) -> np.ndarray:
        # the booster directly: LGBMClassifier.predict_proba is this same call wrapped in
        # parameter and frame checks that cost ~20x the prediction of one row
        if self.task != "classification":
            raise AttributeError("predict_proba_values: not a classifier")
        self._check_fitted()
        booster = self.estimator_.booster_
        raw = booster.predict(values, num_threads=self.n_jobs or 1)
        if raw.ndim == 1:  # binary: LightGBM reports P(class 1)
            return np.column_stack([1.0 - raw, raw])
        return raw

    @property
    def best_iteration_(self) -> int | None:
        self._check_fitted()
        return self.estimator_.best_iteration_ or None

    @property
    def best_n_estimators_(self) -> int | None:
        """Trees up to the early-stopping optimum: what a refit on all rows should grow."""
        return self.best_iteration_
