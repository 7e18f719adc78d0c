"""``retraining:`` section: when a model is retrained, and what a retrained model must show.

    retraining:
      schedule: "0 2 * * *"          # cron (UTC); optional
      triggers:
        schedule: {cooldown: 12h}      # implied by ``schedule``
        degradation: {metric: sharpe, below: 0.0, cooldown: 1d}   # or no metric: health
        drift: {cooldown: 1d}          # the latest drift check found drift
        new_bars: {bars: 500, cooldown: 1d}
        manual: {cooldown: 0s}
      alpha: 0.05                      # the champion/challenger test's level
      rollback: {margin: 0.05, min_bars: 500}   # automatic rollback (optional)

Every rule is checked here, before anything runs: a cron expression that does not parse
or a metric the monitor does not record is refused with the field named.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, field_validator, model_validator

from trademl.config._base import SpecModel
from trademl.config.monitoring import check_duration

__all__ = ["ReplaySpec", "RetrainingSpec", "RollbackRule", "TriggerRules"]


class _Trigger(SpecModel):
    cooldown: str = "1d"

    @field_validator("cooldown")
    @classmethod
    def _cooldown(cls, value: Any) -> str:
        return check_duration(value)


class ScheduleTrigger(_Trigger):
    cooldown: str = "1h"


class DegradationTrigger(_Trigger):
    # a metric of the monitor's rolling snapshots and the level it must stay above; without
    # one, the trigger fires on the model's health status
    metric: str | None = None
    below: float | None = None
    statuses: list[Literal["DEGRADED", "FAILING"]] = Field(
        default_factory=lambda: ["DEGRADED", "FAILING"]
    )

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from trademl.validation.metrics import metric_names

        known = metric_names()
        if value not in known:
            raise ValueError(f"unknown metric {value!r}; known: {', '.join(known)}")
        return value

    @model_validator(mode="after")
    def _pair(self) -> DegradationTrigger:
        if (self.metric is None) != (self.below is None):
            raise ValueError("degradation needs both metric and below, or neither")
        return self


class DriftTrigger(_Trigger):
    pass


class NewBarsTrigger(_Trigger):
    bars: int = Field(ge=1, le=10_000_000)


class ManualTrigger(_Trigger):
    cooldown: str = "0s"


class TriggerRules(SpecModel):
    schedule: ScheduleTrigger | None = None
    degradation: DegradationTrigger | None = None
    drift: DriftTrigger | None = None
    new_bars: NewBarsTrigger | None = None
    manual: ManualTrigger = Field(default_factory=ManualTrigger)


class RollbackRule(SpecModel):
    """Roll back a live champion that trails its predecessor (predicting in shadow) by more
    than ``margin`` cumulative net return over at least ``min_bars`` shared bars."""

    margin: float = Field(default=0.05, ge=0)
    min_bars: int = Field(default=500, ge=1)


class ReplaySpec(SpecModel):
    """``trademl retrain replay``: a stretch of history replayed on an accelerated clock."""

    start: str
    end: str
    step: str = "7d"  # bars revealed per clock step (and how often the scheduler ticks)
    train_window: str = "730d"  # each (re)training sees this much history before the clock
    check_window: str = "30d"  # the monitor's window of predictions

    @field_validator("step", "train_window", "check_window")
    @classmethod
    def _durations(cls, value: Any) -> str:
        return check_duration(value)

    @model_validator(mode="after")
    def _order(self) -> ReplaySpec:
        import pandas as pd

        try:
            start, end = pd.Timestamp(self.start), pd.Timestamp(self.end)
        except ValueError as exc:
            raise ValueError(f"start/end must be dates: {exc}") from None
        if not start < end:
            raise ValueError(f"start {self.start} must be before end {self.end}")
        return self


class RetrainingSpec(SpecModel):
    # the registered model retrained (default: tracking.model_name, else the spec name)
    model: str | None = None
    schedule: str | None = None
    triggers: TriggerRules = Field(default_factory=TriggerRules)
    alpha: float = Field(default=0.05, gt=0, lt=0.5)
    # promote a challenger the offline test prefers (through the registry's gates)
    promote: bool = True
    # a job whose heartbeat is older than this is taken as dead (its process was killed)
    stale_after: str = "30m"
    # how often the daemon evaluates the triggers
    tick: str = "60s"
    rollback: RollbackRule | None = None
    replay: ReplaySpec | None = None

    @field_validator("schedule")
    @classmethod
    def _cron(cls, value: str | None) -> str | None:
        if value is None:
            return None
        from croniter import croniter

        if not croniter.is_valid(value):
            raise ValueError(f'not a cron expression: {value!r} (e.g. "0 2 * * *")')
        return value

    @field_validator("stale_after", "tick")
    @classmethod
    def _durations(cls, value: Any) -> str:
        return check_duration(value)

    @model_validator(mode="after")
    def _schedule_trigger(self) -> RetrainingSpec:
        if self.schedule is not None and self.triggers.schedule is None:
            self.triggers.schedule = ScheduleTrigger()
        if self.triggers.schedule is not None and self.schedule is None:
            raise ValueError("triggers.schedule needs retraining.schedule (a cron expression)")
        return self
