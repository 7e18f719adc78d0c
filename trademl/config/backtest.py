"""``backtest:`` section (owned by trademl.backtest; extended there)."""

from __future__ import annotations

from trademl.config._base import SpecModel


class BacktestSpec(SpecModel):
    pass
