"""Explanations of any registered model: SHAP (native TreeSHAP for LightGBM/XGBoost, checked
against ``shap``), interaction values, a model-agnostic Permutation explainer, LIME, a
surrogate tree with its fidelity, feature impact over time, and ``explain_one`` for serving.
"""

from trademl.explain._target import ExplainError, Target, resolve_target
from trademl.explain.cache import ExplanationCache, data_hash
from trademl.explain.impact import impact_over_time, latest_impact_facts
from trademl.explain.lime_tabular import LimeExplanation, lime_explanation
from trademl.explain.online import explain_one
from trademl.explain.package import Explanation, explain_package, feature_rows
from trademl.explain.shap_values import (
    MIN_BACKGROUND,
    Interactions,
    ShapValues,
    interaction_values,
    permutation_shap,
    shap_values,
    tree_shap,
    tree_shap_reference,
)
from trademl.explain.surrogate import Surrogate, fit_surrogate

__all__ = [
    "MIN_BACKGROUND",
    "ExplainError",
    "Explanation",
    "ExplanationCache",
    "Interactions",
    "LimeExplanation",
    "ShapValues",
    "Surrogate",
    "Target",
    "data_hash",
    "explain_one",
    "explain_package",
    "feature_rows",
    "fit_surrogate",
    "impact_over_time",
    "interaction_values",
    "latest_impact_facts",
    "lime_explanation",
    "permutation_shap",
    "resolve_target",
    "shap_values",
    "tree_shap",
    "tree_shap_reference",
]
