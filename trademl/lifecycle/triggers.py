"""Retraining triggers: each looks at the monitoring store (or the clock) and says whether
it fires and why. A trigger that fired within its cooldown does not fire again, and none
fires while a job of the model is still running; every verdict is recorded by the caller.

- ``schedule``: the cron expression's latest tick is newer than the trigger's last firing
  (a tick missed while no scheduler ran is caught up once, not once per missed tick);
- ``degradation``: the latest rolling snapshot's ``metric`` is below ``below``, or (no
  metric) the model's latest health status is one of ``statuses``;
- ``drift``: the latest feature drift check found drifted features, and it is newer than
  the trigger's last firing;
- ``new_bars``: at least ``bars`` distinct bars were predicted since the last firing;
- ``manual``: only ``trademl retrain now``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import pandas as pd
import sqlalchemy as sa

from trademl.monitoring import schema
from trademl.monitoring._time import parse_duration, to_ns

__all__ = ["Decision", "evaluate_triggers"]

AUTOMATIC = ("schedule", "degradation", "drift", "new_bars")


@dataclass(frozen=True)
class Decision:
    trigger: str
    fired: bool
    reason: str


def _schedule(rule, schedule: str, last: pd.Timestamp | None, now: datetime) -> tuple[bool, str]:
    from croniter import croniter

    tick = pd.Timestamp(croniter(schedule, now).get_prev(datetime))
    tick = tick.tz_localize("UTC") if tick.tzinfo is None else tick
    if last is not None and last >= tick:
        return False, f"already ran for the tick of {tick.isoformat()} ({schedule!r})"
    return True, f"scheduled tick {tick.isoformat()} ({schedule!r})"


def _degradation(rule, store, model: str) -> tuple[bool, str]:
    if rule.metric is not None:
        snapshots = store.snapshots(model, kind="rolling")
        if not len(snapshots) or rule.metric not in snapshots.columns:
            return False, f"no rolling {rule.metric} recorded for {model!r} yet"
        value = float(snapshots[rule.metric].dropna().iloc[-1])
        if value < rule.below:
            return True, f"rolling {rule.metric} {value:.4g} < {rule.below:g}"
        return False, f"rolling {rule.metric} {value:.4g} >= {rule.below:g}"
    health = store.health()
    row = health[health["model"] == model]
    if row.empty:
        return False, f"no health check of {model!r} yet"
    status = str(row.iloc[0]["status"])
    if status in rule.statuses:
        reasons = "; ".join(row.iloc[0]["reasons"]) or status
        return True, f"health {status}: {reasons}"
    return False, f"health {status}"


def _drift(rule, store, model: str, last: pd.Timestamp | None) -> tuple[bool, str]:
    history = store.drift_history(model, kind="features", limit=1)
    if not history:
        return False, f"no drift check of {model!r} yet"
    latest = history[0]
    at = pd.Timestamp(latest["created_at"])
    if last is not None and at <= last:
        return False, f"latest drift check ({at.isoformat()}) already acted on"
    if int(latest.get("n_drifted", 0)) > 0:
        return True, f"{latest['n_drifted']} of {latest['n_features']} features drifted"
    return False, f"no drifted feature in the check of {at.isoformat()}"


def _new_bars(rule, store, model: str, last: pd.Timestamp | None) -> tuple[bool, str]:
    p = schema.predictions
    query = sa.select(sa.func.count(sa.distinct(p.c.ts))).where(p.c.model == model)
    if last is not None:
        query = query.where(p.c.ts > to_ns(last))
    with store.engine.connect() as connection:
        bars = int(connection.execute(query).scalar() or 0)
    since = f"since {last.isoformat()}" if last is not None else "so far"
    if bars >= rule.bars:
        return True, f"{bars} new bars {since} (>= {rule.bars})"
    return False, f"{bars} new bars {since} (< {rule.bars})"


def evaluate_triggers(retraining, model: str, store, journal, *, now: datetime) -> list[Decision]:
    """Every configured automatic trigger's verdict for ``model`` at ``now``."""
    running = journal.jobs(model, states=("queued", "running"))
    rules = retraining.triggers
    out = []
    for name in AUTOMATIC:
        rule = getattr(rules, name)
        if rule is None:
            continue
        last = journal.last_fired(model, name)
        if not running.empty:
            out.append(Decision(name, False, f"job {int(running.iloc[0]['id'])} is still running"))
            continue
        cooldown = parse_duration(rule.cooldown, name=f"retraining.triggers.{name}.cooldown")
        if last is not None and pd.Timestamp(now) - last < cooldown:
            until = (last + cooldown).isoformat()
            out.append(Decision(name, False, f"cooling down until {until}"))
            continue
        if name == "schedule":
            fired, reason = _schedule(rule, retraining.schedule, last, now)
        elif name == "degradation":
            fired, reason = _degradation(rule, store, model)
        elif name == "drift":
            fired, reason = _drift(rule, store, model, last)
        else:
            fired, reason = _new_bars(rule, store, model, last)
        out.append(Decision(name, fired, reason))
    return out
