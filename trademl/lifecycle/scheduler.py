"""The retraining scheduler: one ``tick`` evaluates the triggers of a model, records every
decision, and runs at most one job; ``run_daemon`` ticks until stopped.

Two schedulers on one store do not run the same job twice: a tick works only while it
holds the store lease ``retrain:<model>`` (renewed by the tick, expiring after
``stale_after`` if its holder was killed). A tick first marks failed the jobs whose
heartbeat stopped (a killed job), so the model is never left "running" forever.
"""

from __future__ import annotations

import logging
import signal
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from trademl.lifecycle.jobs import JobResult, model_name, run_job
from trademl.lifecycle.journal import Journal, owner_id
from trademl.lifecycle.online import RollbackDecision, check_rollback
from trademl.lifecycle.triggers import Decision, evaluate_triggers
from trademl.monitoring._time import parse_duration, utcnow

__all__ = ["TickResult", "retrain_now", "run_daemon", "tick"]

logger = logging.getLogger(__name__)


@dataclass
class TickResult:
    model: str
    decisions: list[Decision] = field(default_factory=list)
    job: JobResult | None = None
    skipped: str = ""  # why the tick did nothing (another scheduler holds the lease)
    failed_stale: list[int] = field(default_factory=list)
    rollback: RollbackDecision | None = None


def _lease(spec):
    return f"retrain:{model_name(spec)}", parse_duration(spec.retraining.stale_after)


def tick(spec, store, *, now: datetime | None = None, base_dir: str | Path | None = None,
         owner: str | None = None, rollback_since=None) -> TickResult:  # fmt: skip
    """The rollback rule (if the spec has one), then the triggers, and a job if one fired.

    ``rollback_since``: count the rollback rule's bars from here (default: the champion's
    promotion time in the registry; a replay on its own clock passes its own).
    """
    now = now or utcnow()
    owner = owner or owner_id()
    journal = Journal(store)
    model = model_name(spec)
    name, ttl = _lease(spec)
    result = TickResult(model)
    result.failed_stale = journal.mark_stale_failed(ttl)
    if not journal.acquire_lease(name, owner=owner, ttl=ttl):
        result.skipped = f"another scheduler holds the lease {name!r}"
        return result
    try:
        if spec.retraining.rollback is not None:
            result.rollback = _rollback(spec, store, journal, model, now, rollback_since)
        result.decisions = evaluate_triggers(spec.retraining, model, store, journal, now=now)
        fired = [d for d in result.decisions if d.fired]
        job_id = None
        if fired:
            champion = _champion(spec, model)
            job_id = journal.create_job(
                model=model, trigger=fired[0].trigger, reason=fired[0].reason,
                champion_version=champion, now=now,
            )  # fmt: skip
        journal.record_decisions(
            [{"model": model, "trigger": d.trigger, "fired": d.fired, "reason": d.reason,
              "job_id": job_id if d.fired else None} for d in result.decisions],
            now=now,
        )  # fmt: skip
        if job_id is not None:
            result.job = run_job(spec, journal, job_id, base_dir=base_dir)
    finally:
        journal.release_lease(name, owner=owner)
    return result


def retrain_now(spec, store, *, reason: str = "manual", base_dir=None,
                now: datetime | None = None) -> JobResult:  # fmt: skip
    """``trademl retrain now``: one job, recorded as a manual decision (its cooldown applies)."""
    import pandas as pd

    from trademl.errors import SpecError

    now = now or utcnow()
    journal = Journal(store)
    model = model_name(spec)
    name, ttl = _lease(spec)
    journal.mark_stale_failed(ttl)
    running = journal.jobs(model, states=("queued", "running"))
    if not running.empty:
        raise SpecError(f"model {model!r}: job {int(running.iloc[0]['id'])} is still running")
    last = journal.last_fired(model, "manual")
    cooldown = parse_duration(spec.retraining.triggers.manual.cooldown)
    if last is not None and pd.Timestamp(now) - last < cooldown:
        raise SpecError(
            f"model {model!r}: manual retraining is cooling down until {(last + cooldown).isoformat()}"
        )
    owner = owner_id()
    if not journal.acquire_lease(name, owner=owner, ttl=ttl):
        raise SpecError(f"model {model!r}: a scheduler is working on it (lease {name!r})")
    try:
        job_id = journal.create_job(
            model=model, trigger="manual", reason=reason,
            champion_version=_champion(spec, model), now=now,
        )  # fmt: skip
        journal.record_decision(model=model, trigger="manual", fired=True, reason=reason,
                                job_id=job_id, now=now)  # fmt: skip
        return run_job(spec, journal, job_id, base_dir=base_dir)
    finally:
        journal.release_lease(name, owner=owner)


def _rollback(spec, store, journal, model, now, since) -> RollbackDecision:
    from trademl import tracking
    from trademl.lifecycle.jobs import _registered, notify

    tracking.configure(spec.tracking)
    if not _registered(model):
        return RollbackDecision(False, f"{model} is not registered")
    rule = spec.retraining.rollback
    decision = check_rollback(store, model, spec.backtest, margin=rule.margin,
                              min_samples=rule.min_bars, since=since)  # fmt: skip
    journal.record_decision(model=model, trigger="rollback", fired=decision.rolled_back,
                            reason=decision.reason, now=now)  # fmt: skip
    if decision.rolled_back:
        notify(spec, model, f"rolled back to v{decision.restored}: {decision.reason}",
               severity="warning")  # fmt: skip
    return decision


def _champion(spec, model: str) -> str | None:
    from trademl import tracking
    from trademl.lifecycle.jobs import _registered
    from trademl.tracking import registry

    tracking.configure(spec.tracking)
    if not _registered(model):
        return None
    version = registry.champion_version(model)
    return None if version is None else str(version)


def run_daemon(spec, store, *, once: bool = False, base_dir=None, on_tick=None) -> int:
    """Tick every ``retraining.tick`` until SIGTERM/SIGINT (or once); returns ticks run.

    A signal lets the current tick finish (a job in progress completes) before exiting.
    """
    stop = threading.Event()
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGTERM, signal.SIGINT):
            previous[sig] = signal.signal(sig, lambda *_: stop.set())
    interval = parse_duration(spec.retraining.tick).total_seconds()
    ticks = 0
    try:
        while not stop.is_set():
            result = tick(spec, store, base_dir=base_dir)
            ticks += 1
            if on_tick is not None:
                on_tick(result)
            if once:
                break
            stop.wait(interval)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return ticks
