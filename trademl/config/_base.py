"""The base every spec section derives from: unknown keys are errors, not ignored."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class SpecModel(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)
