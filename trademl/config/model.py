"""``model:`` section (owned by trademl.models; extended there)."""

from __future__ import annotations

from typing import Any

from trademl.config._base import SpecModel


class ModelSpec(SpecModel):
    kind: str = "lightgbm"
    params: dict[str, Any] = {}
