"""The registry of model kinds: each kind's class and card, found without importing it.

Adding a model: write ``trademl/models/<kind>.py`` with a ``TabularModel`` subclass and
its ``CARD``, then add one line to ``REGISTRY`` below. This module imports nothing of
``trademl.config``, so the spec can check kinds and parameters against it.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING

from trademl.errors import SpecError
from trademl.models.cards import REGIMES, ModelCard

if TYPE_CHECKING:  # pragma: no cover
    from trademl.models.base import TabularModel

__all__ = ["REGISTRY", "card", "cards", "for_regime", "model_class"]

# kind -> "module:Class"; modules are light (they import their library inside methods)
REGISTRY: dict[str, str] = {
    "lightgbm": "trademl.models.lightgbm:LightGBMModel",
    "xgboost": "trademl.models.xgboost:XGBoostModel",
    "random_forest": "trademl.models.random_forest:RandomForestModel",
    "extra_trees": "trademl.models.extra_trees:ExtraTreesModel",
    "logistic": "trademl.models.logistic:LogisticModel",
    "ridge": "trademl.models.ridge:RidgeModel",
    "lstm": "trademl.models.deep.lstm:LSTMModel",
    "gru": "trademl.models.deep.gru:GRUModel",
    "tcn": "trademl.models.deep.tcn:TCNModel",
    "transformer": "trademl.models.deep.transformer:TransformerModel",
    "cnn_lstm_attention": "trademl.models.deep.cnn_lstm_attention:CNNLSTMAttentionModel",
    "hybrid": "trademl.models.deep.hybrid:HybridModel",
}


def _unknown_kind(kind: str) -> SpecError:
    return SpecError(f"unknown model kind {kind!r} (known: {', '.join(sorted(REGISTRY))})")


def model_class(kind: str) -> type[TabularModel]:
    if kind not in REGISTRY:
        raise _unknown_kind(kind)
    module, name = REGISTRY[kind].split(":")
    return getattr(importlib.import_module(module), name)


def card(kind: str) -> ModelCard:
    """The card of one model kind."""
    return model_class(kind).card


def cards() -> list[ModelCard]:
    """Every registered card, in registry order."""
    return [card(kind) for kind in REGISTRY]


def for_regime(name: str) -> list[ModelCard]:
    """Cards of the models suited to a market regime (trending, mean_reverting, ...)."""
    if name not in REGIMES:
        raise ValueError(f"unknown regime {name!r} (known: {', '.join(REGIMES)})")
    return [c for c in cards() if name in c.regimes]
