"""The model zoo: scikit-learn estimators with cards, built from the spec by kind.

Importing this package loads no ML library; each model imports its own on first fit.
"""

from trademl.models.base import TabularModel, load
from trademl.models.cards import REGIMES, ModelCard, ParamInfo
from trademl.models.extra_trees import ExtraTreesModel
from trademl.models.factory import build_model
from trademl.models.lightgbm import LightGBMModel
from trademl.models.logistic import LogisticModel
from trademl.models.random_forest import RandomForestModel
from trademl.models.registry import REGISTRY, card, cards, for_regime, model_class
from trademl.models.ridge import RidgeModel
from trademl.models.xgboost import XGBoostModel

__all__ = [
    "REGIMES",
    "REGISTRY",
    "ExtraTreesModel",
    "LightGBMModel",
    "LogisticModel",
    "ModelCard",
    "ParamInfo",
    "RandomForestModel",
    "RidgeModel",
    "TabularModel",
    "XGBoostModel",
    "build_model",
    "card",
    "cards",
    "for_regime",
    "load",
    "model_class",
]
