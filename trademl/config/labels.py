"""``labels:`` section (owned by trademl.labels; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class LabelSpec(SpecModel):
    pass
