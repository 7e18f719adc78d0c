"""XGBoost gradient-boosted trees (histogram method), classification and regression."""

from __future__ import annotations

from typing import Any

from trademl.models.base import TabularModel
from trademl.models.cards import ModelCard, ParamInfo, output_schema

__all__ = ["XGBoostModel"]

CARD = ModelCard(
    kind="xgboost",
    name="XGBoost (hist)",
    purpose="Depth-wise gradient-boosted trees; strong regularisation, robust on noisy labels.",
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
        "max_depth": ParamInfo("int", 6),
        "min_child_weight": ParamInfo("float", 1.0),
        "subsample": ParamInfo("float", 1.0),
        "colsample_bytree": ParamInfo("float", 1.0),
        "gamma": ParamInfo("float", 0.0),
        "reg_alpha": ParamInfo("float", 0.0),
        "reg_lambda": ParamInfo("float", 1.0),
        "max_bin": ParamInfo("int", 256),
        "tree_method": ParamInfo("str", "hist", choices=("hist", "approx", "exact")),
    },
    search_space={
        "learning_rate": {"type": "float", "low": 0.005, "high": 0.2, "log": True},
        "max_depth": {"type": "int", "low": 2, "high": 8},
        "min_child_weight": {"type": "float", "low": 1.0, "high": 100.0, "log": True},
        "subsample": {"type": "float", "low": 0.5, "high": 1.0},
        "colsample_bytree": {"type": "float", "low": 0.3, "high": 1.0},
        "reg_lambda": {"type": "float", "low": 1e-2, "high": 10.0, "log": True},
    },
    early_stopping=True,
    extra={"allow_nan": True},
)


class XGBoostModel(TabularModel):
    card = CARD

    def __init__(
        self,
        *,
        task="classification",
        n_estimators=500,
        learning_rate=0.05,
        max_depth=6,
        min_child_weight=1.0,
        subsample=1.0,
        colsample_bytree=1.0,
        gamma=0.0,
        reg_alpha=0.0,
        reg_lambda=1.0,
        max_bin=256,
        tree_method="hist",
        early_stopping_rounds=None,
        validation_fraction=0.15,
        purge=0,
        random_state=0,
        n_jobs=1,
    ):
        self.task = task
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.max_depth = max_depth
        self.min_child_weight = min_child_weight
        self.subsample = subsample
        self.colsample_bytree = colsample_bytree
        self.gamma = gamma
        self.reg_alpha = reg_alpha
        self.reg_lambda = reg_lambda
        self.max_bin = max_bin
        self.tree_method = tree_method
        self.early_stopping_rounds = early_stopping_rounds
        self.validation_fraction = validation_fraction
        self.purge = purge
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_estimator(self) -> Any:
        import xgboost as xgb

        cls = xgb.XGBClassifier if self.task == "classification" else xgb.XGBRegressor
        return cls(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            max_depth=self.max_depth,
            min_child_weight=self.min_child_weight,
            subsample=self.subsample,
            colsample_bytree=self.colsample_bytree,
            gamma=self.gamma,
            reg_alpha=self.reg_alpha,
            reg_lambda=self.reg_lambda,
            max_bin=self.max_bin,
            tree_method=self.tree_method,
            # XGBoost takes the patience at construction, then stops on the eval_set in fit
            early_stopping_rounds=self.early_stopping_rounds,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )

    def _fit_estimator(self, estimator, X, y, X_val=None, y_val=None) -> None:
        if X_val is None:
            estimator.fit(X, y, verbose=False)
        else:
            estimator.fit(X, y, eval_set=[(X_val, y_val)], verbose=False)

    @property
    def best_iteration_(self) -> int | None:
        self._check_fitted()
        return getattr(self.estimator_, "best_iteration", None)

    @property
    def best_n_estimators_(self) -> int | None:
        """Trees up to the early-stopping optimum (XGBoost counts iterations from 0)."""
        best = self.best_iteration_ if self.early_stopping_slice_ is not None else None
        return None if best is None else int(best) + 1
