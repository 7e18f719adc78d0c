"""The factory that builds an unfitted model from the spec's ``model:`` section."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from trademl.config.model import ModelSpec
from trademl.errors import SpecError
from trademl.models.registry import model_class

if TYPE_CHECKING:  # pragma: no cover
    from trademl.models.base import TabularModel

__all__ = ["build_model"]


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
