"""``tracking:`` section (owned by trademl.tracking; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class TrackingSpec(SpecModel):
    pass
