"""``validation:`` section: how the data is split so that no test label leaks into training."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field, field_validator, model_validator

from trademl.config._base import SpecModel


class ValidationSpec(SpecModel):
    """Splitting scheme (see ``trademl.validation``); sizes are in bars.

    ``n_splits`` is the number of folds (purged-kfold, walk-forward) or of groups N
    (cpcv, with ``test_groups`` = k). ``holdout_fraction`` keeps the last part of the data
    out of every split, for one final out-of-sample score.
    """

    scheme: Literal["purged-kfold", "walk-forward", "cpcv"] = "purged-kfold"
    n_splits: int = Field(5, ge=2)
    test_groups: int = Field(2, ge=1)
    embargo: int = Field(0, ge=0)
    # None: the last 20 % (unless holdout_start is set); 0 is refused, a run needs a holdout
    holdout_fraction: float | None = Field(None, lt=0.9)
    # or a date: the holdout is every bar from here on (naive dates are UTC)
    holdout_start: datetime | None = None
    window: Literal["expanding", "sliding"] = "expanding"
    test_size: int | None = Field(None, ge=1)
    step: int | None = Field(None, ge=1)
    gap: int = Field(0, ge=0)
    max_train_size: int | None = Field(None, ge=1)

    @field_validator("holdout_fraction")
    @classmethod
    def _holdout_is_kept(cls, value: float | None) -> float | None:
        if value is not None and value <= 0:
            raise ValueError(
                "must be > 0: every run keeps an untouched holdout to score "
                "the model and gate its promotion (leave it out for the last 20 %, or set "
                "holdout_start)"
            )
        return value

    @model_validator(mode="after")
    def _settings_match_scheme(self) -> ValidationSpec:
        if self.holdout_start is not None and self.holdout_fraction is not None:
            raise ValueError("set holdout_fraction or holdout_start, not both")
        if self.scheme == "cpcv" and self.test_groups >= self.n_splits:
            raise ValueError(
                f"test_groups ({self.test_groups}) must be < n_splits ({self.n_splits}) for cpcv"
            )
        walk_only = {
            "test_size": self.test_size,
            "step": self.step,
            "max_train_size": self.max_train_size,
        }
        if self.gap:
            walk_only["gap"] = self.gap
        if self.window != "expanding":
            walk_only["window"] = self.window
        for name, value in walk_only.items():
            if value is not None and self.scheme != "walk-forward":
                raise ValueError(f"{name} applies to scheme walk-forward, not {self.scheme}")
        return self
