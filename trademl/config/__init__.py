"""The experiment spec: one YAML file wires the stages together.

Each section lives in its own module (``trademl/config/<section>.py``) next to the
stage it configures; this module composes them and turns pydantic's errors into one
line per bad field: ``model.params.max_depth: expected int, got "deep"``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError

from trademl.config._base import SpecModel
from trademl.config.backtest import BacktestSpec
from trademl.config.data import DataSpec
from trademl.config.features import FeatureSpec
from trademl.config.labels import LabelSpec
from trademl.config.model import ModelSpec
from trademl.config.monitoring import MonitoringSpec
from trademl.config.retraining import RetrainingSpec
from trademl.config.tracking import TrackingSpec
from trademl.config.tuning import TuningSpec
from trademl.config.validation import ValidationSpec
from trademl.errors import SpecError

__all__ = [
    "BacktestSpec",
    "DataSpec",
    "ExperimentSpec",
    "FeatureSpec",
    "LabelSpec",
    "ModelSpec",
    "MonitoringSpec",
    "RetrainingSpec",
    "SpecModel",
    "TrackingSpec",
    "TuningSpec",
    "ValidationSpec",
    "format_validation_error",
    "load_spec",
]


class ExperimentSpec(SpecModel):
    name: str = "trademl-experiment"
    seed: int = 42
    data: DataSpec = Field(default_factory=DataSpec)
    features: FeatureSpec = Field(default_factory=FeatureSpec)
    labels: LabelSpec = Field(default_factory=LabelSpec)
    validation: ValidationSpec = Field(default_factory=ValidationSpec)
    model: ModelSpec = Field(default_factory=ModelSpec)
    tuning: TuningSpec = Field(default_factory=TuningSpec)
    backtest: BacktestSpec = Field(default_factory=BacktestSpec)
    tracking: TrackingSpec = Field(default_factory=TrackingSpec)
    monitoring: MonitoringSpec = Field(default_factory=MonitoringSpec)
    retraining: RetrainingSpec = Field(default_factory=RetrainingSpec)


def _describe(value: Any) -> str:
    if isinstance(value, str):
        return f'"{value}"'
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    return repr(value)


def format_validation_error(error: ValidationError, prefix: str = "") -> str:
    """One line per problem, each starting with the dotted path of the bad field."""
    lines = []
    for item in error.errors():
        path = ".".join(str(p) for p in (prefix, *item["loc"]) if p != "")
        kind = item["type"]
        if kind == "extra_forbidden":
            lines.append(f"{path}: unknown key")
        elif kind == "missing":
            lines.append(f"{path}: required but missing")
        elif kind in {"int_parsing", "int_type", "int_from_float"}:
            lines.append(f"{path}: expected int, got {_describe(item.get('input'))}")
        elif kind in {"float_parsing", "float_type"}:
            lines.append(f"{path}: expected float, got {_describe(item.get('input'))}")
        elif kind in {"bool_parsing", "bool_type"}:
            lines.append(f"{path}: expected true/false, got {_describe(item.get('input'))}")
        else:
            msg = item["msg"].removeprefix("Value error, ")
            lines.append(f"{path}: {msg}, got {_describe(item.get('input'))}")
    return "\n".join(lines)


def load_spec(source: str | Path | dict) -> ExperimentSpec:
    """Load an experiment spec from a YAML file path or a dict; raise ``SpecError``."""
    where = "spec"
    if isinstance(source, dict):
        raw: Any = source
    else:
        path = Path(source)
        where = str(path)
        if not path.is_file():
            raise SpecError(f"{path}: spec file not found")
        try:
            raw = yaml.safe_load(path.read_text())
        except yaml.YAMLError as exc:
            raise SpecError(f"{path}: not valid YAML ({exc})") from None
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping at the top level, got {_describe(raw)}")
    try:
        return ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        raise SpecError(f"{where}: invalid spec\n{format_validation_error(exc)}") from None
