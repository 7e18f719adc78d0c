"""Extremely randomised trees: random split thresholds, even lower variance than a forest."""

from __future__ import annotations

from typing import Any

from trademl.models.cards import ModelCard, output_schema
from trademl.models.random_forest import RandomForestModel, forest_params

__all__ = ["ExtraTreesModel"]

CARD = ModelCard(
    kind="extra_trees",
    name="Extra trees",
    purpose="Randomised-split tree ensemble; smooth decision surface for very noisy targets.",
    tasks=("classification", "regression"),
    input_shape="rows = bars, 10–200 numeric features; up to ~1M rows",
    required_features="numeric features without NaN (warm-up rows dropped); scale-free",
    output_schema=output_schema(),
    regimes=("mean_reverting", "calm", "volatile"),
    params=forest_params(),
    search_space={
        "min_samples_leaf": {"type": "int", "low": 10, "high": 500, "log": True},
        "max_features": {"type": "float", "low": 0.1, "high": 1.0},
        "max_depth": {"type": "int", "low": 3, "high": 16},
    },
)


class ExtraTreesModel(RandomForestModel):
    """The forest's parameters; only the trees (and the bootstrap default) differ."""

    card = CARD

    def _make_estimator(self) -> Any:
        from sklearn.ensemble import ExtraTreesClassifier, ExtraTreesRegressor

        cls = ExtraTreesClassifier if self.task == "classification" else ExtraTreesRegressor
        # bootstrap only when a sample fraction is asked for (scikit-learn refuses otherwise)
        return cls(
            n_estimators=self.n_estimators,
            max_depth=self.max_depth,
            min_samples_leaf=self.min_samples_leaf,
            max_features=self.max_features,
            bootstrap=self.max_samples is not None,
            max_samples=self.max_samples,
            random_state=self.random_state,
            n_jobs=self.n_jobs,
        )
