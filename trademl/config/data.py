"""``data:`` section: where the candles come from."""

from __future__ import annotations

from pydantic import model_validator

from trademl.config._base import SpecModel


class DataSpec(SpecModel):
    # a bundled sample name (e.g. "BTCUSDT-1h") or a file path; one of them per symbol
    sample: str | None = "BTCUSDT-1h"
    path: str | None = None
    # several symbols: mapping symbol -> file path (or sample name)
    symbols: dict[str, str] | None = None
    timeframe: str | None = None
    start: str | None = None
    end: str | None = None

    @model_validator(mode="after")
    def _one_source(self) -> DataSpec:
        if self.path is not None or self.symbols is not None:
            object.__setattr__(self, "sample", None)
        return self
