from __future__ import annotations

import multiprocessing as mp
import sqlite3

import numpy as np
import pandas as pd
import pytest
import sqlalchemy as sa

from trademl.errors import DataError
from trademl.monitoring import schema
from trademl.monitoring.store import current_revision, open_store, resolve_db_url, upgrade


def _predictions(n: int, start: str = "2024-01-01", seed: int = 0, symbol: str = "BTCUSDT"):
    rng = np.random.default_rng(seed)
    index = pd.date_range(start, periods=n, freq="1h", tz="UTC", name="timestamp")
    proba = rng.uniform(size=n)
    return pd.DataFrame(
        {
            "symbol": symbol,
            "prediction": (proba > 0.5).astype(float),
            "proba": proba,
            "signal": np.where(proba > 0.5, 1.0, -1.0),
        },
        index=index,
    )


def _roundtrip(url: str) -> None:
    store = open_store(url)
    frame = _predictions(300)
    features = pd.DataFrame({"a": np.arange(300.0), "b": np.ones(300)}, index=frame.index)
    frame.loc[frame.index[5], "proba"] = np.nan
    assert store.log_predictions(frame, model="m", version="1", features=features) == 300
    outcomes = pd.DataFrame(
        {"symbol": "BTCUSDT", "label": 1.0, "realized_return": 0.01}, index=frame.index[:100]
    )
    store.log_outcomes(outcomes, model="m")
    # a corrected outcome replaces the first one for the same key
    store.log_outcomes(outcomes.iloc[:10].assign(label=0.0), model="m")
    back = store.predictions("m")
    assert len(back) == 300 and str(back.index.tz) == "UTC"
    assert back.index.equals(frame.index)
    np.testing.assert_allclose(back["prediction"], frame["prediction"])
    assert np.isnan(back["proba"].iloc[5]) and back["proba"].iloc[6] == frame["proba"].iloc[6]
    assert back["features"].iloc[3] == '{"a":3.0,"b":1.0}'
    joined = store.predictions("m", with_outcomes=True)
    assert len(joined) == 100 and store.count("outcomes") == 100
    assert joined["label"].iloc[:10].eq(0.0).all() and joined["label"].iloc[10:].eq(1.0).all()
    window = store.predictions("m", since="2024-01-02", until="2024-01-03")
    assert len(window) == 24 and window.index[0] == pd.Timestamp("2024-01-02", tz="UTC")
    assert store.models() == [("m", "1")]
    store.save_baseline(model="m", version="1", metrics={"accuracy": 0.6, "sharpe": np.nan})
    assert store.baseline("m", "1") == {"accuracy": 0.6}
    store.close()


def test_sqlite_roundtrip_and_wal(tmp_path):
    path = tmp_path / "monitor.db"
    _roundtrip(f"sqlite:///{path}")
    with sqlite3.connect(path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


@pytest.mark.server
def test_postgres_roundtrip(pg_store_url):
    _roundtrip(pg_store_url)
    engine = sa.create_engine(pg_store_url)
    assert current_revision(engine) == schema.HEAD_REVISION
    engine.dispose()


def test_default_url_is_a_file_in_the_working_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADEML_MONITOR_DB", raising=False)
    assert resolve_db_url() == f"sqlite:///{tmp_path / 'trademl_monitor.db'}"
    monkeypatch.setenv("TRADEML_MONITOR_DB", str(tmp_path / "x.db"))
    assert resolve_db_url() == f"sqlite:///{tmp_path / 'x.db'}"
    assert resolve_db_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"


def test_one_resolver_one_precedence(tmp_path, monkeypatch):
    """explicit --db > $TRADEML_MONITOR_DB > monitoring.db_url > ./trademl_monitor.db"""
    from trademl.config import load_spec

    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("TRADEML_MONITOR_DB", raising=False)
    spec = load_spec({"monitoring": {"db_url": "sqlite:///from-spec.db"}})
    assert resolve_db_url(spec=spec) == "sqlite:///from-spec.db"
    assert resolve_db_url(spec=spec.monitoring) == "sqlite:///from-spec.db"
    monkeypatch.setenv("TRADEML_MONITOR_DB", "sqlite:///from-env.db")
    assert resolve_db_url(spec=spec.monitoring) == "sqlite:///from-env.db"
    assert resolve_db_url("explicit.db", spec=spec) == f"sqlite:///{tmp_path / 'explicit.db'}"
    monkeypatch.delenv("TRADEML_MONITOR_DB")
    assert resolve_db_url(spec=load_spec({})) == f"sqlite:///{tmp_path / 'trademl_monitor.db'}"


def test_replace_makes_a_second_write_idempotent(tmp_path):
    store = open_store(tmp_path / "r.db")
    frame = _predictions(20).assign(close=np.linspace(100, 120, 20))
    store.log_predictions(frame, model="m", version="1", replace=True)
    store.log_predictions(frame, model="m", version="1", replace=True)
    store.log_predictions(frame.iloc[:5], model="m", version="2")  # other versions stay
    assert store.count("predictions", model="m") == 25
    back = store.predictions("m", version="1")
    np.testing.assert_array_equal(back["close"], frame["close"])
    outcomes = pd.DataFrame(
        {"symbol": "BTCUSDT", "label": 1.0, "forward_return": 0.01}, index=frame.index
    )
    store.log_outcomes(outcomes, model="m")
    store.log_outcomes(outcomes, model="m")
    joined = store.predictions("m", version="1", with_outcomes=True)
    assert len(joined) == 20 and (joined["forward_return"] == 0.01).all()


def test_migrations_match_the_schema_and_head(tmp_path):
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    from trademl.monitoring.store import _MIGRATIONS

    store = open_store(tmp_path / "m.db")
    with store.engine.connect() as connection:
        diff = compare_metadata(MigrationContext.configure(connection), schema.metadata)
    assert diff == []
    assert ScriptDirectory(str(_MIGRATIONS)).get_current_head() == schema.HEAD_REVISION


def test_upgrade_from_first_revision_keeps_rows(tmp_path):
    """A database created at revision 0001, with data, is upgraded in place on open."""
    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    upgrade(engine, "0001")
    assert current_revision(engine) == "0001"
    with engine.begin() as connection:
        for i in range(50):
            connection.exec_driver_sql(
                "INSERT INTO predictions (model, version, ts, symbol, prediction, created_ns) "
                f"VALUES ('old', '1', {i}, 'BTC', {i / 10}, 0)"
            )
        connection.exec_driver_sql(
            "INSERT INTO alerts (fingerprint, rule, model, severity, state, message, first_ns, "
            "last_ns, count) VALUES ('old:r', 'r', 'old', 'warning', 'open', 'm', 0, 0, 1)"
        )
    engine.dispose()
    store = open_store(url)
    assert current_revision(store.engine) == schema.HEAD_REVISION
    assert store.count("predictions", model="old") == 50
    back = store.predictions("old")
    np.testing.assert_allclose(back["prediction"], np.arange(50) / 10)
    assert store.alerts(state="open")["fingerprint"].tolist() == ["old:r"]
    # the new revision's features work on the upgraded file
    store.save_health(model="old", version="1", status="healthy", reasons=[])
    assert store.health()["status"].tolist() == ["healthy"]
    store.log_predictions(_predictions(5).assign(latency_ms=3.0), model="old", version="2")
    assert store.count("predictions") == 55


def test_upgrade_from_0002_adds_the_engine_inputs_and_keeps_rows(tmp_path):
    """0003 adds predictions.close and outcomes.forward_return; old rows read as NULL."""
    url = f"sqlite:///{tmp_path / 'v2.db'}"
    engine = sa.create_engine(url)
    upgrade(engine, "0002")
    with engine.begin() as connection:
        for i in range(20):
            connection.exec_driver_sql(
                "INSERT INTO predictions (model, version, ts, symbol, prediction, latency_ms, "
                f"created_ns) VALUES ('m', '1', {i}, 'BTC', 1.0, 2.0, 0)"
            )
            connection.exec_driver_sql(
                "INSERT INTO outcomes (model, symbol, ts, label, realized_return, created_ns) "
                f"VALUES ('m', 'BTC', {i}, 1.0, 0.5, 0)"
            )
        # as if an interrupted upgrade had added one of the two columns already
        connection.exec_driver_sql("ALTER TABLE predictions ADD COLUMN close FLOAT")
    engine.dispose()
    store = open_store(url)
    assert current_revision(store.engine) == schema.HEAD_REVISION
    joined = store.predictions("m", with_outcomes=True)
    assert len(joined) == 20 and joined["close"].isna().all()
    assert joined["forward_return"].isna().all() and (joined["realized_return"] == 0.5).all()
    store.close()
    # running the migrations again (a second open, or alembic itself) changes nothing
    upgrade(sa.create_engine(url))
    again = open_store(url)
    assert again.count("predictions") == 20 and again.count("outcomes") == 20


def _writer(url: str, worker: int, batches: int, batch: int) -> None:
    store = open_store(url)
    for b in range(batches):
        frame = _predictions(batch, start="2024-01-01", seed=worker * 1000 + b, symbol=f"S{worker}")
        store.log_predictions(frame, model="multi", version=str(worker))
    store.close()


def _concurrent_writes(url: str, workers: int = 4, batches: int = 20, batch: int = 100) -> None:
    open_store(url).close()  # create the schema once, as a deployment would
    # fork: the children reuse the imported modules (spawn re-imports pandas: ~5 s each)
    ctx = mp.get_context("fork")
    procs = [ctx.Process(target=_writer, args=(url, w, batches, batch)) for w in range(workers)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(timeout=120)
        assert p.exitcode == 0
    store = open_store(url)
    assert store.count("predictions", model="multi") == workers * batches * batch
    with store.engine.connect() as connection:
        per_worker = connection.execute(
            sa.select(schema.predictions.c.version, sa.func.count()).group_by(
                schema.predictions.c.version
            )
        ).all()
    assert sorted(per_worker) == [(str(w), batches * batch) for w in range(workers)]


@pytest.mark.slow
def test_several_processes_write_sqlite_without_loss(tmp_path):
    _concurrent_writes(f"sqlite:///{tmp_path / 'multi.db'}")


@pytest.mark.server
@pytest.mark.slow
def test_several_processes_write_postgres_without_loss(pg_store_url):
    _concurrent_writes(pg_store_url)


def test_retention_deletes_old_rows_but_keeps_open_alerts(tmp_path):
    store = open_store(tmp_path / "r.db")
    store.log_predictions(_predictions(48, start="2024-01-01"), model="m", version="1")
    now = pd.Timestamp.now(tz="UTC").to_pydatetime()
    # rows recorded 100 days ago (retention counts from when a row was recorded)
    with store.engine.begin() as connection:
        connection.execute(
            schema.predictions.update()
            .where(schema.predictions.c.id <= 20)
            .values(created_ns=int((pd.Timestamp(now) - pd.Timedelta(days=100)).value))
        )
    old_open = store.open_alert(fingerprint="m:a", rule="a", model="m", severity="warning",
                                message="x", value=1.0, now=now - pd.Timedelta(days=100))  # fmt: skip
    old_done = store.open_alert(fingerprint="m:b", rule="b", model="m", severity="warning",
                                message="x", value=1.0, now=now - pd.Timedelta(days=100))  # fmt: skip
    store.set_alert_state(old_done, "resolved", actor="ops", now=now - pd.Timedelta(days=99))
    deleted = store.apply_retention("30d", now=now)
    assert deleted["predictions"] == 20 and deleted["alerts"] == 1
    assert store.count("predictions") == 28
    assert store.alerts()["id"].tolist() == [old_open]


def test_bad_input_names_the_problem(tmp_path):
    store = open_store(tmp_path / "b.db")
    frame = _predictions(10)
    with pytest.raises(DataError, match="missing column.*prediction"):
        store.log_predictions(frame.drop(columns="prediction"), model="m", version="1")
    bad = frame.copy()
    bad.loc[bad.index[3], "prediction"] = np.nan
    with pytest.raises(DataError, match="'prediction'.*row 3"):
        store.log_predictions(bad, model="m", version="1")
    with pytest.raises(DataError, match="DatetimeIndex"):
        store.log_predictions(frame.reset_index(drop=True), model="m", version="1")
    with pytest.raises(DataError, match="'label', 'forward_return' or 'realized_return'"):
        store.log_outcomes(frame[["symbol"]], model="m")
    with pytest.raises(ValueError, match="retention"):
        store.apply_retention("soon")
    with pytest.raises(DataError, match="alert 7: no such alert"):
        store.set_alert_state(7, "resolved", actor="me")
