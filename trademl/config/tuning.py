"""``tuning:`` section (owned by trademl.tuning; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class TuningSpec(SpecModel):
    pass
