"""Triggers read the real monitoring store; leases keep two schedulers apart; every
decision is recorded."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from trademl.config import load_spec
from trademl.errors import SpecError
from trademl.lifecycle.journal import Journal
from trademl.lifecycle.triggers import evaluate_triggers
from trademl.monitoring import open_store
from trademl.monitoring.drift import detect_drift

NOW = datetime(2026, 6, 20, 3, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    store = open_store(f"sqlite:///{tmp_path / 'monitor.db'}")
    yield store
    store.close()


def _retraining(**section):
    return load_spec({"retraining": section}).retraining


def _by_name(decisions):
    return {d.trigger: d for d in decisions}


def test_schedule_fires_once_per_tick_and_respects_its_cooldown(store):
    journal = Journal(store)
    rules = _retraining(schedule="0 2 * * *")
    [first] = evaluate_triggers(rules, "m", store, journal, now=NOW)
    assert first.fired and "2026-06-20T02:00" in first.reason
    journal.record_decision(model="m", trigger="schedule", fired=True, reason="x", now=NOW)
    [again] = evaluate_triggers(rules, "m", store, journal, now=NOW + timedelta(minutes=30))
    assert not again.fired and "cooling down" in again.reason
    [later] = evaluate_triggers(rules, "m", store, journal, now=NOW + timedelta(hours=12))
    assert not later.fired and "already ran" in later.reason
    [next_day] = evaluate_triggers(rules, "m", store, journal, now=NOW + timedelta(days=1))
    assert next_day.fired


def test_degradation_drift_and_new_bars_read_the_store(store):
    journal = Journal(store)
    rules = _retraining(
        triggers={
            "degradation": {"cooldown": "1h"},
            "drift": {"cooldown": "1h"},
            "new_bars": {"bars": 30, "cooldown": "1h"},
        }
    )
    decisions = _by_name(evaluate_triggers(rules, "m", store, journal, now=NOW))
    assert not any(d.fired for d in decisions.values())
    assert "no health check" in decisions["degradation"].reason

    store.save_health(model="m", version="1", status="DEGRADED", reasons=["sharpe fell"])
    rng = np.random.default_rng(0)
    reference = pd.DataFrame({"a": rng.normal(size=2000), "b": rng.normal(size=2000)})
    current = pd.DataFrame({"a": rng.normal(2.0, size=500), "b": rng.normal(size=500)})
    store.save_drift(
        model="m", version="1", kind="features", report=detect_drift(reference, current)
    )
    stamps = pd.date_range("2026-06-18", periods=40, freq="1h", tz="UTC")
    store.log_predictions(
        pd.DataFrame({"prediction": 1.0, "symbol": "BTCUSDT"}, index=stamps), model="m", version="1"
    )
    decisions = _by_name(evaluate_triggers(rules, "m", store, journal, now=NOW))
    assert decisions["degradation"].fired and "sharpe fell" in decisions["degradation"].reason
    assert decisions["drift"].fired and "features drifted" in decisions["drift"].reason
    assert decisions["new_bars"].fired and "40 new bars" in decisions["new_bars"].reason


def test_no_trigger_fires_while_a_job_runs(store):
    journal = Journal(store)
    job = journal.create_job(model="m", trigger="manual", reason="r", champion_version="1")
    journal.update_job(job, state="running")
    [decision] = evaluate_triggers(_retraining(schedule="0 2 * * *"), "m", store, journal, now=NOW)
    assert not decision.fired and f"job {job} is still running" in decision.reason


def test_a_lease_keeps_a_second_scheduler_out_until_it_expires(store):
    journal = Journal(store)
    assert journal.acquire_lease("retrain:m", owner="a", ttl=timedelta(minutes=5))
    assert not journal.acquire_lease("retrain:m", owner="b", ttl=timedelta(minutes=5))
    assert journal.acquire_lease("retrain:m", owner="a", ttl=timedelta(minutes=5))  # renewal
    journal.release_lease("retrain:m", owner="a")
    assert journal.acquire_lease("retrain:m", owner="b", ttl=timedelta(seconds=-1))  # expired
    assert journal.acquire_lease("retrain:m", owner="c", ttl=timedelta(minutes=5))


def test_a_job_whose_heartbeat_stopped_is_marked_failed(store):
    journal = Journal(store)
    job = journal.create_job(model="m", trigger="manual", reason="r", champion_version="1")
    journal.update_job(job, state="running")
    assert journal.mark_stale_failed(timedelta(minutes=30)) == []
    later = datetime.now(UTC) + timedelta(hours=1)
    assert journal.mark_stale_failed(timedelta(minutes=30), now=later) == [job]
    record = journal.job(job)
    assert record["state"] == "failed" and "no heartbeat" in record["detail"]["error"]


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ({"schedule": "every night"}, "retraining.schedule: not a cron expression"),
        (
            {"triggers": {"degradation": {"metric": "sharpness", "below": 0}}},
            "retraining.triggers.degradation.metric: unknown metric 'sharpness'",
        ),
        ({"triggers": {"degradation": {"metric": "sharpe"}}}, "both metric and below"),
        ({"triggers": {"new_bars": {"bars": 0}}}, "retraining.triggers.new_bars.bars"),
        ({"triggers": {"drift": {"cooldown": "soon"}}}, "retraining.triggers.drift.cooldown"),
    ],
)
def test_bad_rules_are_refused_before_anything_runs(section, message):
    with pytest.raises(SpecError, match=message):
        load_spec({"retraining": section})
