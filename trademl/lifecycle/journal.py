"""What the retraining lifecycle remembers, in the monitoring store: every trigger
decision (fired or not, with its reason), every job and its state, and scheduler leases.

A job's state only moves forward (queued -> running -> promoted | rejected | failed) and
each move is one committed row update, so a kill at any point leaves a readable record;
a running job whose heartbeat stopped is marked failed by the next scheduler start.
"""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timedelta
from typing import Any

import pandas as pd
import sqlalchemy as sa

from trademl.monitoring import schema
from trademl.monitoring._time import from_ns, to_ns, utcnow

__all__ = ["FINAL_STATES", "Journal", "owner_id"]

FINAL_STATES = ("promoted", "rejected", "failed")
STATES = ("queued", "running", *FINAL_STATES)


def _process_gone(owner: str | None) -> bool:
    """True when ``owner`` (host:pid) is a process of this host that no longer runs."""
    if not owner or ":" not in owner:
        return False
    host, _, pid = owner.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit() or int(pid) == os.getpid():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, another user's
        return False
    # a zombie (killed, not yet reaped by its parent) still answers signal 0
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return False


def owner_id() -> str:
    """host:pid of this process (who holds a lease, who runs a job)."""
    return f"{socket.gethostname()}:{os.getpid()}"


class Journal:
    def __init__(self, store):
        self.store = store
        self.engine: sa.Engine = store.engine

    # ---------------------------------------------------------------- decisions
    def record_decision(self, *, model: str, trigger: str, fired: bool, reason: str,
                        job_id: int | None = None, now: datetime | None = None) -> None:  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(
                schema.retrain_decisions.insert().values(
                    model=model, ts=to_ns(now or utcnow()), trigger=trigger, fired=bool(fired),
                    reason=reason, job_id=job_id,
                )
            )  # fmt: skip

    def record_decisions(self, rows: list[dict], *, now: datetime | None = None) -> None:
        """Several decisions (``model, trigger, fired, reason, job_id``) in one transaction."""
        if not rows:
            return
        stamp = to_ns(now or utcnow())
        values = [{"ts": stamp, "job_id": None, **row, "fired": bool(row["fired"])} for row in rows]
        with self.engine.begin() as connection:
            connection.execute(schema.retrain_decisions.insert(), values)

    def decisions(self, model: str | None = None, *, limit: int = 200) -> pd.DataFrame:
        d = schema.retrain_decisions
        query = sa.select(d.c.ts, d.c.model, d.c.trigger, d.c.fired, d.c.reason, d.c.job_id)
        if model is not None:
            query = query.where(d.c.model == model)
        query = query.order_by(d.c.ts.desc(), d.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=["ts", "model", "trigger", "fired", "reason", "job_id"])
        frame["at"] = [from_ns(v) for v in frame.pop("ts")]
        return frame[["at", "model", "trigger", "fired", "reason", "job_id"]]

    def last_fired(self, model: str, trigger: str) -> pd.Timestamp | None:
        d = schema.retrain_decisions
        query = sa.select(sa.func.max(d.c.ts)).where(
            (d.c.model == model) & (d.c.trigger == trigger) & d.c.fired.is_(True)
        )
        with self.engine.connect() as connection:
            value = connection.execute(query).scalar()
        return None if value is None else from_ns(value)

    # --------------------------------------------------------------------- jobs
    def create_job(self, *, model: str, trigger: str, reason: str,
                   champion_version: str | None, now: datetime | None = None) -> int:  # fmt: skip
        stamp = to_ns(now or utcnow())
        with self.engine.begin() as connection:
            result = connection.execute(
                schema.retrain_jobs.insert().values(
                    model=model, trigger=trigger, reason=reason, state="queued",
                    created_ns=stamp, updated_ns=stamp, owner=owner_id(),
                    champion_version=champion_version,
                )
            )  # fmt: skip
            return int(result.inserted_primary_key[0])

    def update_job(self, job_id: int, *, state: str | None = None, **fields: Any) -> None:
        if state is not None and state not in STATES:
            raise ValueError(f"job state must be one of {STATES}, got {state!r}")
        values: dict[str, Any] = {"updated_ns": to_ns(utcnow())}
        if state is not None:
            values["state"] = state
        if "detail" in fields:
            fields["detail"] = json.dumps(fields["detail"], default=str)
        values.update(fields)
        j = schema.retrain_jobs
        with self.engine.begin() as connection:
            connection.execute(j.update().where(j.c.id == job_id).values(**values))

    def heartbeat(self, job_id: int) -> None:
        self.update_job(job_id)

    def job(self, job_id: int) -> dict[str, Any]:
        frame = self.jobs(ids=[job_id])
        if frame.empty:
            raise KeyError(f"no retraining job {job_id}")
        return frame.iloc[0].to_dict()

    def jobs(self, model: str | None = None, *, states: tuple[str, ...] | None = None,
             ids: list[int] | None = None, limit: int = 200) -> pd.DataFrame:  # fmt: skip
        j = schema.retrain_jobs
        columns = [j.c.id, j.c.model, j.c.trigger, j.c.reason, j.c.state, j.c.created_ns,
                   j.c.updated_ns, j.c.owner, j.c.champion_version, j.c.challenger_version,
                   j.c.run_id, j.c.detail]  # fmt: skip
        query = sa.select(*columns)
        if model is not None:
            query = query.where(j.c.model == model)
        if states is not None:
            query = query.where(j.c.state.in_(states))
        if ids is not None:
            query = query.where(j.c.id.in_(ids))
        query = query.order_by(j.c.id.desc()).limit(limit)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        frame = pd.DataFrame(rows, columns=[c.name for c in columns])
        for name in ("created_ns", "updated_ns"):
            frame[name.removesuffix("_ns") + "_at"] = [from_ns(v) for v in frame.pop(name)]
        frame["detail"] = [json.loads(v) if v else {} for v in frame["detail"]]
        return frame

    def mark_stale_failed(
        self, stale_after: timedelta, *, now: datetime | None = None
    ) -> list[int]:
        """Mark failed the queued/running jobs whose process is gone: its owner is a dead
        process on this host, or (another host) its heartbeat is older than ``stale_after``."""
        j = schema.retrain_jobs
        limit = to_ns(now or utcnow()) - int(stale_after.total_seconds() * 1e9)
        with self.engine.begin() as connection:
            rows = connection.execute(
                sa.select(j.c.id, j.c.owner, j.c.updated_ns).where(
                    j.c.state.in_(("queued", "running"))
                )
            ).all()
            dead = []
            for job_id, owner, updated in rows:
                if _process_gone(owner):
                    dead.append((int(job_id), "its process was killed"))
                elif updated < limit:
                    dead.append((int(job_id), "its process stopped (no heartbeat)"))
            for job_id, why in dead:
                connection.execute(
                    j.update()
                    .where(j.c.id == job_id)
                    .values(state="failed", updated_ns=to_ns(utcnow()),
                            detail=json.dumps({"error": why}))
                )  # fmt: skip
        return [job_id for job_id, _ in dead]

    # ------------------------------------------------------------------- leases
    def acquire_lease(self, name: str, *, owner: str, ttl: timedelta) -> bool:
        """Take or renew lease ``name`` for ``owner``; False while another owner holds it."""
        lease = schema.leases
        now = to_ns(utcnow())
        expires = now + int(ttl.total_seconds() * 1e9)
        with self.engine.begin() as connection:
            updated = connection.execute(
                lease.update()
                .where(
                    (lease.c.name == name) & ((lease.c.expires_ns < now) | (lease.c.owner == owner))
                )
                .values(owner=owner, expires_ns=expires)
            ).rowcount
            if updated:
                return True
            exists = connection.execute(sa.select(lease.c.name).where(lease.c.name == name)).first()
            if exists:
                return False
            try:
                with connection.begin_nested():
                    connection.execute(
                        lease.insert().values(name=name, owner=owner, expires_ns=expires)
                    )
            except sa.exc.IntegrityError:
                return False
        return True

    def release_lease(self, name: str, *, owner: str) -> None:
        lease = schema.leases
        with self.engine.begin() as connection:
            connection.execute(
                lease.delete().where((lease.c.name == name) & (lease.c.owner == owner))
            )
