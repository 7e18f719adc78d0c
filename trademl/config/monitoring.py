"""``monitoring:`` section: where the monitoring store lives and when a model counts as sick.

Thresholds are read by ``trademl.monitoring.performance`` (degradation), ``drift`` (tests)
and ``alerts`` (rules, channels, rate limits). Durations are strings such as ``"15m"``,
``"24h"`` or ``"7d"``.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import Field, field_validator

from trademl.config._base import SpecModel

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw])\s*$")


def check_duration(value: str) -> str:
    """Return ``value`` if it reads as a duration like ``15m``; else raise ValueError."""
    if not isinstance(value, str) or not _DURATION.match(value):
        raise ValueError("expected a duration like 30s, 15m, 24h, 7d or 2w")
    return value


class ChannelSpec(SpecModel):
    """One alert channel. ``kind`` picks the class; the other keys are its settings."""

    kind: Literal["log", "email", "slack", "webhook"]
    # email
    host: str = "127.0.0.1"
    port: int = Field(default=25, ge=1, le=65535)
    sender: str = "trademl@localhost"
    recipients: list[str] = Field(default_factory=list)
    username: str | None = None
    password: str | None = None
    starttls: bool = False
    # slack / webhook
    url: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)
    # every channel
    timeout: float = Field(default=5.0, gt=0)
    retries: int = Field(default=2, ge=0, le=10)
    max_per_hour: int = Field(default=30, ge=1)


class DegradationSpec(SpecModel):
    """When a live metric counts as degraded (warning) or failing (critical)."""

    # absolute drop below the validation baseline (accuracy-like points for accuracy,
    # balanced_accuracy, precision, recall, f1, roc_auc, hit_rate, ic; Sharpe units)
    accuracy_drop: float = Field(default=0.05, ge=0)
    sharpe_drop: float = Field(default=1.0, ge=0)
    # relative drop versus the model's own recent history (0.2 = 20 % worse)
    relative_drop: float = Field(default=0.2, ge=0, le=1)
    # a drop this many times the thresholds above is "failing" rather than "degraded"
    failing_factor: float = Field(default=2.0, ge=1)
    # number of earlier snapshots that make "recent history" and the trend estimate
    history: int = Field(default=10, ge=2)
    # a drop must also exceed this many standard errors of the window's estimate, so a
    # short window's noise (an hourly Sharpe over 500 bars has SE ~4) is not an alarm
    noise_z: float = Field(default=2.0, ge=0)


class DriftSpec(SpecModel):
    alpha: float = Field(default=0.01, gt=0, lt=1)
    psi_bins: int = Field(default=10, ge=2, le=100)


class MonitoringSpec(SpecModel):
    # SQLAlchemy URL (or a SQLite path), found by trademl.monitoring.resolve_db_url:
    # an explicit --db > $TRADEML_MONITOR_DB > this > ./trademl_monitor.db
    db_url: str | None = None
    # `trademl run`: when a version is registered, store its reference (training-feature
    # profile, holdout predictions and outcomes, holdout metrics as the baseline) here
    register_reference: bool = False
    # annualisation of live figures; None = what the version's baseline was scored with
    # (stored by register_reference), else inferred from the window's timestamps (365 days)
    periods_per_year: float | None = Field(default=None, gt=0)
    # each check deletes rows recorded more than this many days ago (None: keep all)
    retention_days: int | None = Field(default=90, ge=1)
    degradation: DegradationSpec = Field(default_factory=DegradationSpec)
    drift: DriftSpec = Field(default_factory=DriftSpec)
    # path of a YAML rule file; None = the default rules shipped with trademl
    rules: str | None = None
    channels: dict[str, ChannelSpec] = Field(
        default_factory=lambda: {"log": ChannelSpec(kind="log")}
    )
    # the "no predictions" alert fires after this long without a prediction
    stale_after: str = "30m"
    # baseline metrics from validation, used when the store holds none for the model
    baseline: dict[str, float] = Field(default_factory=dict)

    @field_validator("stale_after")
    @classmethod
    def _duration(cls, value: Any) -> str:
        return check_duration(value)
