"""``trademl retrain``: a job trains a challenger with lineage, judges it on the champion's
bars, promotes only through the test and the gates, and survives a kill."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from trademl import tracking
from trademl.config.tracking import TrackingSpec
from trademl.lifecycle.journal import Journal
from trademl.monitoring import open_store
from trademl.pipeline import run
from trademl.tracking import _store, registry

from .conftest import small_spec


@pytest.fixture(scope="module")
def champion(tmp_path_factory):
    """A registry whose v1 is champion, and the spec file that retrains it."""
    folder = tmp_path_factory.mktemp("retrain")
    spec = small_spec(folder, name="retrain-me")
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(folder)
        first = run(spec, progress=False)
        tracking.promote(first.model_name, first.model_version, reason="test champion")
    path = folder / "spec.yaml"
    spec["retraining"] = {"triggers": {"new_bars": {"bars": 10, "cooldown": "0s"}}}
    path.write_text(yaml.safe_dump(spec))
    return folder, path, spec


def _configure(spec) -> None:
    tracking.configure(
        TrackingSpec(uri=spec["tracking"]["uri"], artifact_root=spec["tracking"]["artifact_root"])
    )


def _journal(spec) -> Journal:
    return Journal(open_store(spec["monitoring"]["db_url"]))


def test_retrain_now_registers_a_challenger_and_keeps_an_equal_champion(
    champion, cli, monkeypatch, caplog
):
    folder, path, spec = champion
    monkeypatch.chdir(folder)
    caplog.set_level("INFO", logger="trademl.alerts")
    code, out, err = cli("retrain", "now", "--spec", path, "--reason", "test")
    assert code == 0, err
    # the same spec on the same data trains the same model: no difference, champion kept
    assert "rejected - champion kept" in out and "no difference" in out
    _configure(spec)
    assert registry.champion_version("retrain-me") == 1
    # the outcome went to the spec's alert channels (the default log channel)
    assert any("job 1: champion kept" in r.getMessage() for r in caplog.records)
    job = _journal(spec).jobs("retrain-me").iloc[0]
    assert job["state"] == "rejected" and job["challenger_version"] == "2"
    version = _store.client().get_model_version("retrain-me", "2")
    assert version.tags["trademl.challenges"] == "1"
    comparison = job["detail"]["comparisons"][0]
    assert comparison["returns_test"]["statistic"] == 0.0
    code, out, _ = cli(
        "retrain", "history", "--model", "retrain-me", "--db", spec["monitoring"]["db_url"]
    )
    assert code == 0 and "manual" in out and "test" in out
    code, out, _ = cli("retrain", "status", "--db", spec["monitoring"]["db_url"])
    assert code == 0 and "rejected" in out


def test_daemon_once_records_every_decision(champion, cli, monkeypatch):
    folder, path, spec = champion
    monkeypatch.chdir(folder)
    code, out, err = cli("retrain", "--daemon", "--spec", path, "--once")
    assert code == 0, err
    # no prediction was logged for the model: the new-bars trigger does not fire, and says so
    assert "new_bars: no - 0 new bars" in out
    decisions = _journal(spec).decisions("retrain-me")
    assert (decisions["trigger"] == "new_bars").any()
    assert not decisions.loc[decisions["trigger"] == "new_bars", "fired"].any()


def test_a_killed_job_is_marked_failed_and_the_champion_keeps_serving(champion, monkeypatch):
    folder, path, spec = champion
    monkeypatch.chdir(folder)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "trademl"), "retrain", "now", "--spec", str(path)],
        cwd=folder, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    journal = _journal(spec)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        jobs = journal.jobs("retrain-me", states=("running",))
        if not jobs.empty:
            break
        time.sleep(0.2)
    else:
        process.kill()
        pytest.fail("the job never started running")
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    killed = int(jobs.iloc[0]["id"])
    assert journal.mark_stale_failed(timedelta(hours=1)) == [killed]
    assert journal.job(killed)["state"] == "failed"
    _configure(spec)
    assert registry.champion_version("retrain-me") == 1


def test_a_degenerate_first_model_is_registered_but_not_promoted(tmp_path, cli, monkeypatch):
    monkeypatch.chdir(tmp_path)
    spec = small_spec(tmp_path, name="degenerate-first")
    spec["tracking"]["refuse_degenerate"] = True  # the default a user gets
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    code, out, err = cli("retrain", "now", "--spec", path, "--reason", "first")
    assert code == 0, err
    assert "rejected" in out and "degenerate model" in out
    _configure(spec)
    assert registry.champion_version("degenerate-first") is None
    job = _journal(spec).jobs("degenerate-first").iloc[0]
    assert job["state"] == "rejected" and job["challenger_version"] == "1"
