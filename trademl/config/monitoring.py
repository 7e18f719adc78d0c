"""``monitoring:`` section (owned by trademl.monitoring; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class MonitoringSpec(SpecModel):
    pass
