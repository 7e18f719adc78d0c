"""``model:`` section: which model kind, its task, params, search space and early stopping.

Params and search-space names are checked against the model's card here, so a typo or a
wrong type fails in ``load_spec`` (``model.params.max_depth: expected int, got "deep"``).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator
from pydantic_core import InitErrorDetails, PydanticCustomError, ValidationError

from trademl.config._base import SpecModel
from trademl.config.tuning import CategoricalRange, FloatRange, IntRange, ParamRange

__all__ = ["ModelSpec"]


class ModelSpec(SpecModel):
    kind: str = "lightgbm"
    task: Literal["classification", "regression"] = "classification"
    params: dict[str, Any] = Field(default_factory=dict)
    # None = the card's default search space
    search_space: dict[str, ParamRange] | None = None
    # boosted models: stop on a slice carved from the end of each training fold
    early_stopping_rounds: int | None = Field(default=50, ge=1)
    validation_fraction: float = Field(default=0.15, gt=0, lt=0.5)
    # threads per model fit; 1 by default because trials run in parallel processes
    # (tuning.n_jobs) and OpenMP threads fight badly over a busy machine's cores
    n_jobs: int | None = Field(default=1, ge=-1)
    # several symbols: one pooled model (symbol as a category feature) or one per symbol
    multi_symbol: Literal["pooled", "per_symbol"] = "pooled"

    @field_validator("kind")
    @classmethod
    def _known_kind(cls, kind: str) -> str:
        from trademl.models.registry import REGISTRY

        if kind not in REGISTRY:
            raise ValueError(f"unknown model kind (known: {', '.join(sorted(REGISTRY))})")
        return kind

    @model_validator(mode="after")
    def _check_against_card(self) -> ModelSpec:
        from trademl.models.cards import check_param
        from trademl.models.registry import card

        model_card = card(self.kind)
        errors: list[InitErrorDetails] = []

        def bad(loc: tuple, message: str, value: Any) -> None:
            errors.append(
                InitErrorDetails(
                    type=PydanticCustomError("card_mismatch", message),
                    loc=loc,
                    input=value,
                )
            )

        if self.task not in model_card.tasks:
            bad(("task",), f"model kind '{self.kind}' supports {list(model_card.tasks)}", self.task)
        for name, value in self.params.items():
            problem = check_param(model_card, name, value)
            if problem is not None:
                bad(("params", name), problem, value)
        for name, rng in (self.search_space or {}).items():
            info = model_card.params.get(name)
            if info is None:
                bad(("search_space", name), "not a parameter of this model kind", name)
            elif isinstance(rng, IntRange) and info.type not in ("int", "float"):
                bad(("search_space", name), f"int range for a {info.type} parameter", rng.type)
            elif isinstance(rng, FloatRange) and info.type != "float":
                bad(("search_space", name), f"float range for a {info.type} parameter", rng.type)
            elif isinstance(rng, CategoricalRange):
                for choice in rng.choices:
                    problem = check_param(model_card, name, choice)
                    if problem is not None:
                        bad(("search_space", name, "choices"), problem, choice)
        if errors:
            # raising ValidationError keeps each field's own path in format_validation_error
            raise ValidationError.from_exception_data(type(self).__name__, errors)
        return self

    def resolved_search_space(self) -> dict[str, ParamRange]:
        """The spec's search space, or the card's default one."""
        if self.search_space is not None:
            return dict(self.search_space)
        from pydantic import TypeAdapter

        from trademl.models.registry import card

        adapter = TypeAdapter(ParamRange)
        return {k: adapter.validate_python(v) for k, v in card(self.kind).search_space.items()}
