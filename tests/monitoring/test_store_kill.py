"""kill -9 while the monitoring store is created, upgraded or written: the next open works,
nothing committed is lost, and a retried batch is stored once (idempotency keys)."""

from __future__ import annotations

import multiprocessing as mp
import os
import signal
import sqlite3
import time

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from trademl.errors import DataError
from trademl.monitoring import schema
from trademl.monitoring.store import current_revision, open_store, upgrade

# fork: the child reuses the imported modules (spawn would re-import pandas, ~5 s each)
_FORK = mp.get_context("fork")


def _frame(n: int, start: str = "2024-01-01", symbol: str = "BTCUSDT") -> pd.DataFrame:
    index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="timestamp")
    proba = np.linspace(0.1, 0.9, n)
    return pd.DataFrame({"symbol": symbol, "prediction": proba, "proba": proba}, index=index)


class _StatementCounter:
    """Counts SQL statements sent by any engine; SIGKILLs this process at number ``kill_at``."""

    def __init__(self, kill_at: int | None = None):
        self.count, self.kill_at = 0, kill_at

    def __call__(self, *_args) -> None:
        self.count += 1
        if self.count == self.kill_at:
            os.kill(os.getpid(), signal.SIGKILL)

    def __enter__(self):
        sa.event.listen(sa.engine.Engine, "before_cursor_execute", self)
        return self

    def __exit__(self, *_exc) -> None:
        sa.event.remove(sa.engine.Engine, "before_cursor_execute", self)


def _open_and_die_at(url: str, statement: int) -> None:
    with _StatementCounter(kill_at=statement):
        open_store(url).close()
    os._exit(0)  # not killed: the statement number was past the end


def _killed_at(url: str, statement: int) -> int:
    child = _FORK.Process(target=_open_and_die_at, args=(url, statement))
    child.start()
    child.join(timeout=60)
    assert child.exitcode is not None, "the child neither finished nor died"
    return child.exitcode


def _statements_to_open(url: str) -> int:
    with _StatementCounter() as counter:
        open_store(url).close()
    return counter.count


def _assert_usable(path, rows_before: int = 0) -> None:
    store = open_store(f"sqlite:///{path}")
    assert current_revision(store.engine) == schema.HEAD_REVISION
    assert store.count("predictions") == rows_before
    assert store.log_predictions(_frame(3, start="2030-01-01"), model="m", version="9") == 3
    store.close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        leftovers = db.execute(
            "SELECT name FROM sqlite_master WHERE name LIKE '\\_alembic\\_tmp\\_%' ESCAPE '\\'"
        ).fetchall()
    assert leftovers == []


def test_kill_at_any_point_of_first_creation_leaves_a_store_the_next_open_uses(tmp_path):
    total = _statements_to_open(f"sqlite:///{tmp_path / 'count.db'}")
    assert total > 20  # the DDL of four migrations, each its own statement
    points = sorted({1, 2, 3, total // 4, total // 2, 3 * total // 4, total - 1, total})
    for point in points:
        path = tmp_path / f"killed-at-{point}.db"
        assert _killed_at(f"sqlite:///{path}", point) == -signal.SIGKILL
        _assert_usable(path)


def _v3_store(path, predictions: int) -> sa.Engine:
    """A store at revision 0003 holding ``predictions`` rows of model 'old' (engine open,
    for the caller to change further and dispose)."""
    engine = sa.create_engine(f"sqlite:///{path}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        for i in range(predictions):
            connection.exec_driver_sql(
                "INSERT INTO predictions (model, version, ts, symbol, prediction, created_ns) "
                f"VALUES ('old', '1', {i}, 'BTC', {i}, 0)"
            )
    return engine


def test_kill_during_an_upgrade_keeps_every_committed_row(tmp_path):
    """A 0003 store with predictions, upgraded to head by a process killed part way."""
    template = tmp_path / "v3.db"
    _v3_store(template, 40).dispose()
    count = tmp_path / "count.db"
    count.write_bytes(template.read_bytes())
    total = _statements_to_open(f"sqlite:///{count}")
    for point in sorted({1, 2, total // 2, total - 1, total}):
        path = tmp_path / f"upgrade-killed-at-{point}.db"
        path.write_bytes(template.read_bytes())
        assert _killed_at(f"sqlite:///{path}", point) == -signal.SIGKILL
        _assert_usable(path, rows_before=40)


def test_a_store_wedged_by_an_old_non_transactional_creation_is_rebuilt(tmp_path):
    """What trademl before 0004 left: tables made, no revision recorded (or a batch copy)."""
    path = tmp_path / "wedged.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    upgrade(engine, "0002")
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE alembic_version")
        connection.exec_driver_sql("CREATE TABLE _alembic_tmp_outcomes (id INTEGER)")
    engine.dispose()
    _assert_usable(path)


def test_an_interrupted_batch_copy_is_finished_or_dropped_without_losing_rows(tmp_path):
    path = tmp_path / "copy.db"
    engine = _v3_store(path, 7)
    with engine.begin() as connection:
        # killed after copying predictions and dropping the original, before the rename
        connection.exec_driver_sql(
            "CREATE TABLE _alembic_tmp_predictions AS SELECT * FROM predictions"
        )
        connection.exec_driver_sql("DROP TABLE predictions")
        # and a copy of alerts that never finished (the original is whole)
        connection.exec_driver_sql("CREATE TABLE _alembic_tmp_alerts (id INTEGER)")
    engine.dispose()
    _assert_usable(path, rows_before=7)


def test_tables_with_rows_and_no_revision_are_refused_not_dropped(tmp_path):
    path = tmp_path / "mystery.db"
    engine = sa.create_engine(f"sqlite:///{path}")
    upgrade(engine, "0003")
    with engine.begin() as connection:
        connection.exec_driver_sql(
            "INSERT INTO predictions (model, version, ts, symbol, prediction, created_ns) "
            "VALUES ('m', '1', 1, 'BTC', 1.0, 0)"
        )
        connection.exec_driver_sql("DROP TABLE alembic_version")
    engine.dispose()
    with pytest.raises(DataError, match=r"tables \['predictions'\] hold rows"):
        open_store(f"sqlite:///{path}")
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT COUNT(*) FROM predictions").fetchone()[0] == 1


def test_a_retried_batch_is_stored_once(tmp_path):
    store = open_store(tmp_path / "keys.db")
    frame = _frame(50)
    assert store.log_predictions(frame, model="m", version="1") == 50
    assert store.log_predictions(frame, model="m", version="1") == 0  # the retry
    # half old, half new: only the new half goes in
    assert store.log_predictions(_frame(50, start="2024-01-02 01:00"), model="m", version="1") == 25
    assert store.count("predictions") == 75
    # another version or another symbol is another prediction
    assert store.log_predictions(frame, model="m", version="2") == 50
    assert store.log_predictions(frame.assign(symbol="ETH"), model="m", version="1") == 50
    # a server predicting one bar for two requests gives its own keys
    keys = [f"request-7:{i}" for i in range(50)]
    assert store.log_predictions(frame, model="m", version="3", idempotency_keys=keys) == 50
    assert store.log_predictions(frame, model="m", version="3", idempotency_keys=keys) == 0
    other = [f"request-8:{i}" for i in range(50)]
    assert store.log_predictions(frame, model="m", version="3", idempotency_keys=other) == 50
    with pytest.raises(DataError, match="49 idempotency keys for 50 rows"):
        store.log_predictions(frame, model="m", version="3", idempotency_keys=keys[:49])
    with pytest.raises(DataError, match="key at row 0 is ''"):
        store.log_predictions(frame, model="m", version="3", idempotency_keys=[""] * 50)
    # a replay replaces values, still one row per bar
    assert store.log_predictions(frame.assign(prediction=0.5), model="m", version="1",
                                 replace=True) == 50  # fmt: skip
    back = store.predictions("m", version="1")
    btc = back[back["symbol"] == "BTCUSDT"]
    assert len(back) == 125 and (btc.loc[frame.index, "prediction"] == 0.5).all()
    store.close()


def _stream_batches(url: str, batches: int, size: int) -> None:
    store = open_store(url)
    for b in range(batches):
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=b * size)
        store.log_predictions(_frame(size, start=str(start)), model="live", version="1")
    os._exit(0)


def test_a_writer_killed_mid_stream_and_retried_stores_each_prediction_once(tmp_path):
    url = f"sqlite:///{tmp_path / 'stream.db'}"
    open_store(url).close()
    batches, size = 150, 50
    child = _FORK.Process(target=_stream_batches, args=(url, batches, size))
    child.start()
    store = open_store(url)
    deadline = time.monotonic() + 30
    while store.count("predictions") < 20 * size and time.monotonic() < deadline:
        time.sleep(0.01)
    os.kill(child.pid, signal.SIGKILL)
    child.join(timeout=30)
    committed = store.count("predictions")
    assert 0 < committed < batches * size, "kill the writer part way through its stream"
    assert committed % size == 0  # a batch commits whole or not at all
    # the restarted writer does not know what went in: it sends everything again
    for b in range(batches):
        start = pd.Timestamp("2024-01-01") + pd.Timedelta(hours=b * size)
        store.log_predictions(_frame(size, start=str(start)), model="live", version="1")
    assert store.count("predictions") == batches * size
    stamps = store.predictions("live").index
    assert stamps.is_unique and len(stamps) == batches * size
    store.close()
