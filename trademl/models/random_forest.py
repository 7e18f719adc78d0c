"""Random forest (bootstrap-aggregated trees), classification and regression."""

from __future__ import annotations

from typing import Any

from trademl.models.base import TabularModel
from trademl.models.cards import ModelCard, ParamInfo, output_schema

__all__ = ["RandomForestModel", "forest_params"]


def forest_params() -> dict[str, ParamInfo]:
    """Hyper-parameters shared by the two scikit-learn forests."""
    return {
        "n_estimators": ParamInfo("int", 300),
        "max_depth": ParamInfo(
            "int", None, nullable=True, help="None = grow until min_samples_leaf"
        ),
        "min_samples_leaf": ParamInfo("int", 50, help="large leaves average out label noise"),
        "max_features": ParamInfo("float", 0.5, help="fraction of features tried per split"),
        "max_samples": ParamInfo("float", None, nullable=True, help="bootstrap fraction"),
    }


CARD = ModelCard(
    kind="random_forest",
    name="Random forest",
    purpose="Low-variance bagged trees; a stable baseline that rarely overfits badly.",
    tasks=("classification", "regression"),
    input_shape="rows = bars, 10–200 numeric features; up to ~1M rows (memory grows with depth)",
    required_features="numeric features without NaN (warm-up rows dropped); scale-free",
    output_schema=output_schema(),
    regimes=("mean_reverting", "calm", "trending"),
    params=forest_params(),
    search_space={
        "min_samples_leaf": {"type": "int", "low": 10, "high": 500, "log": True},
        "max_features": {"type": "float", "low": 0.1, "high": 1.0},
        "max_depth": {"type": "int", "low": 3, "high": 16},
    },
)


class RandomForestModel(TabularModel):
    card = CARD

    def __init__(
        self,
        *,
        task="classification",
        n_estimators=300,
        max_depth=None,
        min_samples_leaf=50,
        max_features=0.5,
        max_samples=None,
        random_state=0,
        n_jobs=None,
    ):
        self.task = task
        self.n_estimators = n_estimators
        self.max_depth = max_depth
        self.min_samples_leaf = min_samples_leaf
        self.max_features = max_features
        self.max_samples = max_samples
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_estimator(self) -> Any:
        from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

        cls = RandomForestClassifier if self.task == "classification" else RandomForestRegressor
        return cls(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            max_samples=self.max_samples,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
