"""The experiment spec: one YAML file wires the stages together.

Each section lives in its own module (``trademl/config/<section>.py``) next to the
stage it configures; this module composes them and turns pydantic's errors into one
line per bad field: ``model.params.max_depth: expected int, got "deep"``.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import yaml
from pydantic import Field, ValidationError, model_validator

from trademl.config._base import SpecModel
from trademl.config.backtest import BacktestSpec
from trademl.config.data import DataSpec
from trademl.config.features import FeatureSpec
from trademl.config.labels import LabelSpec
from trademl.config.model import ModelSpec
from trademl.config.monitoring import MonitoringSpec
from trademl.config.retraining import RetrainingSpec
from trademl.config.secrets import literal_secrets
from trademl.config.tracking import TrackingSpec, model_name_problem
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
    "read_yaml",
]

logger = logging.getLogger(__name__)


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

    @model_validator(mode="after")
    def _name_is_registrable(self) -> ExperimentSpec:
        # without tracking.model_name the spec's name is the registered model's name
        if self.tracking.enabled and self.tracking.model_name is None:
            problem = model_name_problem(self.name)
            if problem:
                raise ValueError(
                    f"name {self.name!r} is used as the registered model name, which {problem}; "
                    "set tracking.model_name"
                )
        return self


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
            if not path:  # a check across fields: its message says what is wrong
                lines.append(msg)
                continue
            lines.append(f"{path}: {msg}, got {_describe(item.get('input'))}")
    return "\n".join(lines)


class _UniqueKeyLoader(yaml.SafeLoader):
    """Safe YAML that refuses a key given twice in one mapping (YAML keeps the last)."""

    def construct_mapping(self, node, deep=False):
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"duplicate key {key!r} (lines {seen[key]} and {line})"
                )
            try:
                seen[key] = line
            except TypeError:  # an unhashable key; SafeLoader reports it below
                break
        return super().construct_mapping(node, deep)


def read_yaml(path: Path, *, what: str = "spec") -> Any:
    """A YAML file, safely, with one-line errors naming the file (encoding, syntax, duplicates)."""
    if not path.is_file():
        raise SpecError(f"{path}: {what} file not found")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecError(
            f"{path}: {what} file is not UTF-8 text (byte {exc.start}: {exc.reason})"
        ) from None
    try:
        return yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        detail = " ".join(str(exc).split())
        raise SpecError(f"{path}: not valid YAML ({detail})") from None


def load_spec(source: str | Path | dict) -> ExperimentSpec:
    """Load an experiment spec from a YAML file path or a dict; raise ``SpecError``.

    A file must be UTF-8 and must set something (an empty file would silently run the
    whole default experiment); a key given twice is an error, not "the last one wins".
    """
    where = "spec"
    if isinstance(source, dict):
        raw: Any = source
    else:
        path = Path(source)
        where = str(path)
        raw = read_yaml(path)
        if raw is None or raw == {}:
            raise SpecError(
                f"{path}: spec file is empty; set at least `name:` and `data:` "
                "(an empty spec is refused rather than running the default experiment)"
            )
    if not isinstance(raw, dict):
        raise SpecError(f"{where}: expected a mapping at the top level, got {_describe(raw)}")
    try:
        spec = ExperimentSpec.model_validate(raw)
    except ValidationError as exc:
        problems = format_validation_error(exc)
        joiner = " " if "\n" not in problems else "\n"
        raise SpecError(f"{where}: invalid spec:{joiner}{problems}") from None
    for field in literal_secrets(raw):
        logger.warning(
            "%s: %s holds a literal secret; write it as ${ENV_VAR} (it is stored as ***)",
            where,
            field,
        )
    return spec
