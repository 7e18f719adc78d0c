"""``labels:`` section: which target to learn and how far ahead it looks."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from trademl.config._base import SpecModel


class LabelSpec(SpecModel):
    """The target of an experiment (see ``trademl.labels``).

    ``horizon`` is in bars; splitters purge and embargo by the label spans it implies.
    Settings that a kind does not use are rejected, so a typo cannot silently do nothing.
    """

    kind: Literal["forward_return", "direction", "triple_barrier", "trend_scanning"] = "direction"
    horizon: int = Field(24, ge=1)
    return_kind: Literal["simple", "log"] | None = None  # forward_return (default log)
    classes: Literal["binary", "ternary"] | None = None  # direction (default binary)
    dead_zone: float | None = Field(None, ge=0)  # direction, fixed log-return threshold
    dead_zone_vol: float | None = Field(None, ge=0)  # direction, multiple of volatility
    profit_take: float | None = Field(None, gt=0)  # triple_barrier (default 1.0)
    stop_loss: float | None = Field(None, gt=0)  # triple_barrier (default 1.0)
    touch: Literal["close", "high_low"] | None = None  # triple_barrier (default close)
    vertical: Literal["sign", "zero"] | None = None  # triple_barrier (default sign)
    min_horizon: int | None = Field(None, ge=2)  # trend_scanning (default 3)
    vol_window: int = Field(100, ge=2)
    sample_weights: bool = False  # weight samples by average label uniqueness

    @model_validator(mode="after")
    def _settings_match_kind(self) -> LabelSpec:
        used_by = {
            "return_kind": "forward_return",
            "classes": "direction",
            "dead_zone": "direction",
            "dead_zone_vol": "direction",
            "profit_take": "triple_barrier",
            "stop_loss": "triple_barrier",
            "touch": "triple_barrier",
            "vertical": "triple_barrier",
            "min_horizon": "trend_scanning",
        }
        for field, kind in used_by.items():
            if getattr(self, field) is not None and self.kind != kind:
                raise ValueError(f"{field} applies to kind '{kind}', not '{self.kind}'")
        if self.dead_zone is not None and self.dead_zone_vol is not None:
            raise ValueError("set dead_zone or dead_zone_vol, not both")
        dead = self.dead_zone is not None or self.dead_zone_vol is not None
        if self.kind == "direction" and (self.classes or "binary") == "binary" and dead:
            raise ValueError("a dead zone needs classes: ternary")
        if self.classes == "ternary" and not dead:
            raise ValueError("classes: ternary needs dead_zone or dead_zone_vol")
        if self.min_horizon is not None and self.min_horizon > self.horizon:
            raise ValueError(f"min_horizon ({self.min_horizon}) must be <= horizon")
        return self
