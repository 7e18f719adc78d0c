"""The model package: a registered version's feature recipe, estimator(s) and settings.

``load_model("name@champion")`` (or ``name/3``, ``runs:/ID``) returns a
:class:`ModelPackage`, verified against its SHA-256 manifest before unpickling, whose
``predict_frame(candles)`` goes from raw candles to predictions.
"""

from trademl.package.load import ModelRef, load_model, parse_model_uri
from trademl.package.model import POOLED, ModelPackage
from trademl.package.recipe import SYMBOL_PREFIX, FeatureRecipe

__all__ = [
    "POOLED",
    "SYMBOL_PREFIX",
    "FeatureRecipe",
    "ModelPackage",
    "ModelRef",
    "load_model",
    "parse_model_uri",
]
