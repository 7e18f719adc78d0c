"""Ridge regression on standardised features (regression only)."""

from __future__ import annotations

from typing import Any

from trademl.models.base import TabularModel
from trademl.models.cards import ModelCard, ParamInfo, output_schema

__all__ = ["RidgeModel"]

CARD = ModelCard(
    kind="ridge",
    name="Ridge regression",
    purpose="Linear forward-return forecaster with L2 shrinkage; the regression baseline.",
    tasks=("regression",),
    input_shape="rows = bars, 5–500 numeric features; any row count",
    required_features="numeric features without NaN; standardised inside (fitted on train only)",
    output_schema=output_schema("regression"),
    regimes=("trending", "calm"),
    params={"alpha": ParamInfo("float", 1.0, help="L2 strength")},
    search_space={"alpha": {"type": "float", "low": 1e-3, "high": 1e4, "log": True}},
    notes="Scaler and model are one scikit-learn Pipeline, so scaling never sees test rows.",
)


class RidgeModel(TabularModel):
    card = CARD

    def __init__(self, *, task="regression", alpha=1.0, random_state=0, n_jobs=None):
        self.task = task
        self.alpha = alpha
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_estimator(self) -> Any:
        from sklearn.linear_model import Ridge
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), Ridge(alpha=self.alpha))
