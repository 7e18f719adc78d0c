"""kill -9 while the MLflow store is first created and while `trademl run` logs: the next
command opens the store, nothing committed is lost, and runs of dead processes end FAILED."""

from __future__ import annotations

import multiprocessing as mp
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
import sqlalchemy as sa
import yaml

from trademl.config.tracking import TrackingSpec
from trademl.tracking import configure
from trademl.tracking._sqlite import store_state
from trademl.tracking.errors import TrackingError

_FORK = mp.get_context("fork")
# MLflow 3.x sends ~1,700 statements to build a store; these land early, in the middle
# of its migrations and late (a point past the end would just let the child finish)
_KILL_POINTS = (3, 450, 1300)


def _die_at(statement: int, build) -> None:
    count = [0]

    def counter(*_args) -> None:
        count[0] += 1
        if count[0] == statement:
            os.kill(os.getpid(), signal.SIGKILL)

    sa.event.listen(sa.engine.Engine, "before_cursor_execute", counter)
    build()
    os._exit(0)


def _kill_at(statement: int, build) -> int:
    child = _FORK.Process(target=_die_at, args=(statement, build))
    child.start()
    child.join(timeout=300)
    return child.exitcode


def _trademl_creates(db: Path):
    return lambda: configure(TrackingSpec(uri=f"sqlite:///{db}", artifact_root=str(db.parent)))


def _mlflow_creates(db: Path):
    """What MLflow does on its own (and trademl did before): build the store in place."""

    def build() -> None:
        from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

        SqlAlchemyStore(f"sqlite:///{db}", db.parent.as_uri())

    return build


def _works(db: Path) -> None:
    from trademl.tracking._store import client, experiment_id

    configure(TrackingSpec(uri=f"sqlite:///{db}", artifact_root=str(db.parent / "artifacts")))
    run = client().create_run(experiment_id("after-the-kill"))
    client().log_param(run.info.run_id, "ok", "1")
    client().set_terminated(run.info.run_id)
    assert client().get_run(run.info.run_id).data.params == {"ok": "1"}
    assert store_state(db)[0] == "ready"


@pytest.mark.slow
def test_kill_during_first_creation_never_leaves_a_half_made_store(tmp_path):
    for point in _KILL_POINTS:
        db = tmp_path / f"trademl-{point}" / "mlruns.db"
        db.parent.mkdir()
        assert _kill_at(point, _trademl_creates(db)) == -signal.SIGKILL
        # the store is built under a temporary name: the target is absent, never half made
        assert store_state(db)[0] == "missing"
        _works(db)
        assert sorted(p.name for p in db.parent.iterdir() if p.name.startswith(".")) == []


@pytest.mark.slow
def test_a_store_half_made_by_mlflow_itself_is_moved_aside_and_rebuilt(tmp_path):
    db = tmp_path / "mlruns.db"
    assert _kill_at(_KILL_POINTS[1], _mlflow_creates(db)) == -signal.SIGKILL
    state, detail = store_state(db)
    assert state == "interrupted" and "schema revision" in detail  # the wedge of issue 13
    _works(db)
    aside = [p for p in tmp_path.iterdir() if ".interrupted-" in p.name]
    assert len(aside) == 1  # kept for inspection, not deleted


def test_a_half_migrated_store_with_runs_is_refused_and_left_alone(mlflow_template_db, tmp_path):
    db = tmp_path / "mlruns.db"
    shutil.copyfile(mlflow_template_db, db)
    with sqlite3.connect(db) as connection:
        connection.execute(
            "INSERT INTO experiments (experiment_id, name, lifecycle_stage) "
            "VALUES (7, 'mine', 'active')"
        )
        connection.execute("UPDATE alembic_version SET version_num = 'an-older-one'")
        connection.execute("CREATE TABLE _alembic_tmp_experiments (experiment_id INTEGER)")
    before = db.read_bytes()
    with pytest.raises(TrackingError, match=r"holds 1 experiment\(s\).*mlflow db upgrade"):
        configure(TrackingSpec(uri=f"sqlite:///{db}", artifact_root=str(tmp_path)))
    assert db.read_bytes() == before


def _spec(tmp_path: Path, db: Path) -> Path:
    spec = {
        "name": "kill-test",
        "seed": 3,
        "data": {"sample": "BTCUSDT-1h", "start": "2026-01-20"},
        "features": {"categories": ["momentum"]},
        "labels": {"kind": "direction", "horizon": 4},
        "validation": {"n_splits": 3, "holdout_fraction": 0.25},
        "model": {"kind": "lightgbm", "params": {"n_estimators": 20}},
        "tuning": {"n_trials": 2, "storage": f"sqlite:///{tmp_path / 'optuna.db'}"},
        "tracking": {"uri": f"sqlite:///{db}", "artifact_root": str(tmp_path / "artifacts")},
    }
    path = tmp_path / "spec.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def _running_with_params(db: Path) -> list[tuple[str, int]]:
    try:
        with sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1) as connection:
            return connection.execute(
                "SELECT r.run_uuid, COUNT(p.key) FROM runs r JOIN params p "
                "ON p.run_uuid = r.run_uuid WHERE r.status = 'RUNNING' GROUP BY r.run_uuid"
            ).fetchall()
    except sqlite3.Error:
        return []


@pytest.mark.slow
def test_trademl_run_killed_while_logging_then_the_next_run_works(
    mlflow_template_db, tmp_path, monkeypatch, cli
):
    db = tmp_path / "mlruns.db"
    shutil.copyfile(mlflow_template_db, db)
    spec = _spec(tmp_path, db)
    monkeypatch.chdir(tmp_path)
    env = os.environ | {"PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    process = subprocess.Popen(
        [sys.executable, "-c", "from trademl.cli import main; main()", "run", str(spec),
         "--no-progress"],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=tmp_path,
    )  # fmt: skip
    deadline = time.monotonic() + 240
    try:
        while not _running_with_params(db):
            assert process.poll() is None, process.stderr.read().decode()[-2000:]
            assert time.monotonic() < deadline, "the run never started logging"
            time.sleep(0.02)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        process.stderr.close()
    [(killed, params)] = _running_with_params(db)
    assert params > 0

    # the next command: cleanup marks the dead process's run FAILED, and says so
    code, out, err = cli("experiments", "cleanup", "kill-test", "--stale", "--tracking-uri",
                         f"sqlite:///{db}")  # fmt: skip
    assert code == 0, err
    assert "1 RUNNING run(s) of dead processes marked FAILED" in out
    from trademl.pipeline import run
    from trademl.tracking._store import client

    dead = client().get_run(killed)
    assert (
        dead.info.status == "FAILED"
        and "ended without closing" in dead.data.tags["trademl.failure"]
    )
    # what the killed run committed is kept. More than the count read after the kill is
    # fine: most likely a commit that reached the WAL just before SIGKILL, before the
    # wal-index was updated, stays invisible to that read-only reader until the next
    # writer recovers it (seen once in CI: 100 read, 130 kept)
    assert len(dead.data.params) >= params
    result = run(spec, progress=False)
    assert result.run_id != killed and result.model_version >= 1
    assert client().get_run(result.run_id).info.status == "FINISHED"
    with sqlite3.connect(db) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] == "ok"


def test_only_runs_of_dead_local_processes_are_marked(mlflow_template_db, tmp_path):
    from trademl.tracking._store import client, experiment_id
    from trademl.tracking.stale import mark_stale_runs, owner_tags

    db = tmp_path / "mlruns.db"
    shutil.copyfile(mlflow_template_db, db)
    configure(TrackingSpec(uri=f"sqlite:///{db}", artifact_root=str(tmp_path)))
    experiment = experiment_id("stale")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    runs = {
        "alive (this process)": owner_tags(),
        "dead": {"trademl.pid": str(dead.pid), "trademl.host": socket.gethostname()},
        "other host": {"trademl.pid": str(dead.pid), "trademl.host": "elsewhere.example"},
        "no owner": {},
        "pid reused": owner_tags() | {"trademl.process_start": "1"},
    }
    ids = {name: client().create_run(experiment, tags=tags).info.run_id
           for name, tags in runs.items()}  # fmt: skip
    marked = mark_stale_runs([experiment])
    assert sorted(marked) == sorted([ids["dead"], ids["pid reused"]])
    status = {name: client().get_run(run_id).info.status for name, run_id in ids.items()}
    assert status == {
        "alive (this process)": "RUNNING", "dead": "FAILED", "other host": "RUNNING",
        "no owner": "RUNNING", "pid reused": "FAILED",
    }  # fmt: skip
    assert mark_stale_runs([experiment]) == []
