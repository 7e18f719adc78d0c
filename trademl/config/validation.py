"""``validation:`` section (owned by trademl.validation; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class ValidationSpec(SpecModel):
    pass
