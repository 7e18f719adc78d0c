"""Alert rules: a condition on the facts a check produces, a severity and where to send it.

YAML shape (a file with a top-level ``rules:`` list)::

    - name: accuracy_drop
      when: performance.accuracy.drop_vs_baseline > 0.05   # or a list: all must hold
      severity: warning                                      # info | warning | critical
      channels: [log, slack]
      cooldown: 1h            # after it resolves, stay quiet this long
      escalate_after: 30m     # critical and unacknowledged this long ...
      escalate_to: [email]    # ... goes here too
      auto_resolve: true      # resolve by itself when the condition clears
"""

from __future__ import annotations

import math
import operator
import re
from importlib import resources
from pathlib import Path
from typing import Literal

import yaml
from pydantic import Field, ValidationError, field_validator

from trademl.config import format_validation_error
from trademl.config._base import SpecModel
from trademl.config.monitoring import check_duration
from trademl.errors import SpecError

__all__ = ["AlertRule", "Condition", "default_rules", "load_rules", "parse_condition"]

_OPERATORS = {
    ">": operator.gt,
    ">=": operator.ge,
    "<": operator.lt,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
}
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.]*)\s*(>=|<=|==|!=|>|<)\s*(-?[\d.]+(?:e-?\d+)?)\s*$")


class Condition(SpecModel):
    fact: str
    op: Literal[">", ">=", "<", "<=", "==", "!="]
    threshold: float

    def holds(self, facts: dict[str, float]) -> bool | None:
        """True/False, or None when the fact is missing or not a number (unknown)."""
        value = facts.get(self.fact)
        if value is None:
            return None
        try:
            number = float(value)
        except (TypeError, ValueError):
            return None
        if math.isnan(number):
            return None
        return bool(_OPERATORS[self.op](number, self.threshold))

    def __str__(self) -> str:
        return f"{self.fact} {self.op} {self.threshold:g}"


def parse_condition(text: str) -> Condition:
    match = _CONDITION.match(str(text))
    if not match:
        raise ValueError(
            f"cannot read condition {text!r}; expected '<fact> <op> <number>' "
            "with op one of > >= < <= == !="
        )
    return Condition(fact=match.group(1), op=match.group(2), threshold=float(match.group(3)))


class AlertRule(SpecModel):
    name: str = Field(pattern=r"^[\w.-]+$")
    when: list[Condition]
    severity: Literal["info", "warning", "critical"] = "warning"
    channels: list[str] = Field(default_factory=lambda: ["log"])
    cooldown: str = "1h"
    escalate_after: str | None = None
    escalate_to: list[str] = Field(default_factory=list)
    auto_resolve: bool = True
    message: str | None = None

    @field_validator("when", mode="before")
    @classmethod
    def _conditions(cls, value):
        items = value if isinstance(value, list) else [value]
        if not items:
            raise ValueError("needs at least one condition")
        return [parse_condition(v) if isinstance(v, str) else v for v in items]

    @field_validator("cooldown", "escalate_after")
    @classmethod
    def _duration(cls, value):
        return value if value is None else check_duration(value)

    def evaluate(self, facts: dict[str, float]) -> bool | None:
        """All conditions hold -> True; any is False -> False; otherwise None (unknown)."""
        results = [c.holds(facts) for c in self.when]
        if any(r is False for r in results):
            return False
        if any(r is None for r in results):
            return None
        return True

    def render(self, model: str, facts: dict[str, float]) -> tuple[str, float | None]:
        value = facts.get(self.when[0].fact)
        number = float(value) if value is not None else None
        if self.message:
            try:
                text = self.message.format(value=number, model=model, **_safe(facts))
            except (KeyError, ValueError, TypeError, IndexError):
                text = self.message
        else:
            text = " and ".join(str(c) for c in self.when)
        return f"{text} [{' and '.join(str(c) for c in self.when)}]", number


def _safe(facts: dict) -> dict:
    return {k.replace(".", "_"): v for k, v in facts.items()}


def _parse(raw, where: str) -> list[AlertRule]:
    if isinstance(raw, dict):
        raw = raw.get("rules")
    if not isinstance(raw, list):
        raise SpecError(f"{where}: expected a 'rules:' list")
    rules = []
    for i, item in enumerate(raw):
        try:
            rules.append(AlertRule.model_validate(item))
        except ValidationError as exc:
            raise SpecError(
                f"{where}: invalid rule\n{format_validation_error(exc, prefix=f'rules.{i}')}"
            ) from None
    names = [r.name for r in rules]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise SpecError(f"{where}: duplicate rule name(s) {duplicates}")
    return rules


def load_rules(path: str | Path) -> list[AlertRule]:
    """Rules from a YAML file; raise ``SpecError`` naming the file and the bad field."""
    path = Path(path)
    if not path.is_file():
        raise SpecError(f"{path}: rules file not found")
    try:
        raw = yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise SpecError(f"{path}: not valid YAML ({exc})") from None
    return _parse(raw, str(path))


def default_rules() -> list[AlertRule]:
    """The rules trademl ships (``default_rules.yaml`` beside this module)."""
    text = resources.files("trademl.monitoring.alerts").joinpath("default_rules.yaml").read_text()
    return _parse(yaml.safe_load(text), "default_rules.yaml")
