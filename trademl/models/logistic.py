"""Logistic regression on standardised features (classification only)."""

from __future__ import annotations

from typing import Any

from trademl.models.base import TabularModel
from trademl.models.cards import ModelCard, ParamInfo, output_schema

__all__ = ["LogisticModel"]

CARD = ModelCard(
    kind="logistic",
    name="Logistic regression",
    purpose="Linear, well-calibrated direction classifier; the honest baseline to beat.",
    tasks=("classification",),
    input_shape="rows = bars, 5–200 numeric features; any row count",
    required_features="numeric features without NaN; standardised inside (fitted on train only)",
    output_schema=output_schema("classification"),
    regimes=("trending", "calm"),
    params={
        "C": ParamInfo("float", 1.0, help="inverse L2 strength"),
        "max_iter": ParamInfo("int", 1000),
        "class_weight": ParamInfo("str", None, choices=("balanced",), nullable=True),
    },
    search_space={"C": {"type": "float", "low": 1e-4, "high": 10.0, "log": True}},
    notes="Scaler and model are one scikit-learn Pipeline, so scaling never sees test rows.",
)


class LogisticModel(TabularModel):
    card = CARD

    def __init__(
        self,
        *,
        task="classification",
        C=1.0,
        max_iter=1000,
        class_weight=None,
        random_state=0,
        n_jobs=None,
    ):
        self.task = task
        self.C = C
        self.max_iter = max_iter
        self.class_weight = class_weight
        self.random_state = random_state
        self.n_jobs = n_jobs

    def _make_estimator(self) -> Any:
        from sklearn.linear_model import LogisticRegression
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(
            StandardScaler(),
            LogisticRegression(
                C=self.C,
                max_iter=self.max_iter,
                class_weight=self.class_weight,
                random_state=self.random_state,
            ),
        )
