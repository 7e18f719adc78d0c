"""Model cards: what each model is for, what it needs, what it returns, what it tunes.

A card is plain data, so listing cards or validating a spec never imports LightGBM or
XGBoost. Each model module defines its card beside its class.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Task = Literal["classification", "regression"]
Regime = Literal["trending", "mean_reverting", "volatile", "calm"]
REGIMES: tuple[str, ...] = ("trending", "mean_reverting", "volatile", "calm")

# the Python types a hyper-parameter may declare; bool is checked before int (bool ⊂ int)
ParamType = Literal["int", "float", "str", "bool"]


@dataclass(frozen=True)
class ParamInfo:
    """One hyper-parameter: its type, default and, for strings, the allowed values."""

    type: ParamType
    default: Any
    choices: tuple[Any, ...] | None = None
    nullable: bool = False
    help: str = ""


@dataclass(frozen=True)
class ModelCard:
    kind: str
    name: str
    purpose: str
    tasks: tuple[Task, ...]
    input_shape: str
    required_features: str
    output_schema: dict[str, str]
    regimes: tuple[str, ...]
    params: dict[str, ParamInfo]
    # search space in the spec's own format (see trademl.config.tuning.ParamRange)
    search_space: dict[str, dict[str, Any]]
    early_stopping: bool = False
    notes: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-friendly form, logged with every trained model."""
        return {
            "kind": self.kind,
            "name": self.name,
            "purpose": self.purpose,
            "tasks": list(self.tasks),
            "input_shape": self.input_shape,
            "required_features": self.required_features,
            "output_schema": dict(self.output_schema),
            "regimes": list(self.regimes),
            "params": {
                name: {"type": p.type, "default": p.default, "help": p.help}
                | ({"choices": list(p.choices)} if p.choices else {})
                for name, p in self.params.items()
            },
            "default_search_space": self.search_space,
            "early_stopping": self.early_stopping,
            "notes": self.notes,
        }


def output_schema(task: Task | None = None) -> dict[str, str]:
    """The columns a model's predictions carry; shared by every tabular model."""
    schema = {
        "y_pred": "class label (classification) or expected forward return (regression)",
        "proba": "P(highest class), i.e. P(up), classifiers only",
    }
    if task == "regression":
        schema.pop("proba")
    return schema


def check_param(card: ModelCard, name: str, value: Any) -> str | None:
    """Why ``value`` does not fit parameter ``name`` of ``card`` (no "got ..."), or None."""
    info = card.params.get(name)
    if info is None:
        known = ", ".join(sorted(card.params))
        return f"unknown parameter for model kind '{card.kind}' (known: {known})"
    if value is None:
        return None if info.nullable else f"expected {info.type}"
    ok = {
        "bool": isinstance(value, bool),
        "int": isinstance(value, int) and not isinstance(value, bool),
        "float": isinstance(value, int | float) and not isinstance(value, bool),
        "str": isinstance(value, str),
    }[info.type]
    if not ok:
        return f"expected {info.type}"
    if info.choices is not None and value not in info.choices:
        return f"expected one of {list(info.choices)}"
    if name in _AT_LEAST_ONE and info.type in ("int", "float") and value < 1:
        return "must be at least 1"
    if name in _POSITIVE and info.type in ("int", "float") and value <= 0:
        return "must be greater than 0"
    return None


# counts and rates no estimator accepts below these bounds (the library would fail inside
# a tuning trial with a traceback that names neither the spec nor the field)
_AT_LEAST_ONE = {
    "n_estimators", "num_leaves", "max_iter", "min_child_samples", "max_bin",
    "num_boost_round", "n_neighbors",
}  # fmt: skip
_POSITIVE = {"learning_rate", "subsample", "colsample_bytree", "eta", "C", "tol"}
