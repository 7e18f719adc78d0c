"""The registry of model kinds and the factory that builds one from the spec.

Adding a model: write ``trademl/models/<kind>.py`` with a ``TabularModel`` subclass and
its ``CARD``, then add one line to ``REGISTRY`` below.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from trademl.errors import SpecError
from trademl.models.cards import REGIMES, ModelCard

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config.model import ModelSpec
    from trademl.models.base import TabularModel

__all__ = ["REGISTRY", "build_model", "card", "cards", "for_regime", "model_class"]

# kind -> "module:Class"; modules are light (they import their library inside methods)
REGISTRY: dict[str, str] = {
    "lightgbm": "trademl.models.lightgbm:LightGBMModel",
    "xgboost": "trademl.models.xgboost:XGBoostModel",
    "random_forest": "trademl.models.random_forest:RandomForestModel",
    "extra_trees": "trademl.models.extra_trees:ExtraTreesModel",
    "logistic": "trademl.models.logistic:LogisticModel",
    "ridge": "trademl.models.ridge:RidgeModel",
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


def build_model(
    model_spec: ModelSpec | dict[str, Any],
    task: str | None = None,
    *,
    params: dict[str, Any] | None = None,
    random_state: int | None = None,
    purge: int | None = None,
) -> TabularModel:
    """Build an unfitted model from ``model: {kind, task, params, ...}``.

    ``params`` (e.g. a tuning trial's choice) override the spec's params; ``purge`` is the
    label horizon in bars, kept between the fitting rows and the early-stopping slice.
    """
    from trademl.config.model import ModelSpec

    if isinstance(model_spec, dict):
        model_spec = ModelSpec.model_validate(model_spec)
    cls = model_class(model_spec.kind)
    task = task or model_spec.task
    if task not in cls.card.tasks:
        raise SpecError(
            f"model.kind '{model_spec.kind}' does not support task {task!r} "
            f"(supports: {', '.join(cls.card.tasks)})"
        )
    kwargs: dict[str, Any] = {**model_spec.params, **(params or {}), "task": task}
    accepted = cls._get_param_names()
    if "random_state" in accepted:
        kwargs["random_state"] = 0 if random_state is None else random_state
    if "n_jobs" in accepted and model_spec.n_jobs is not None:
        kwargs["n_jobs"] = model_spec.n_jobs
    if cls.card.early_stopping and model_spec.early_stopping_rounds:
        kwargs["early_stopping_rounds"] = model_spec.early_stopping_rounds
        kwargs["validation_fraction"] = model_spec.validation_fraction
        kwargs["purge"] = int(purge or 0)
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise SpecError(
            f"model.params: unknown parameter(s) {unknown} for kind '{model_spec.kind}'"
        )
    return cls(**kwargs)
