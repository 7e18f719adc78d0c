"""The monitoring store: predictions, outcomes, metrics, drift, alerts and health in one database.

SQLite (a file in the working directory, WAL journal) by default; PostgreSQL or any
SQLAlchemy URL with the same code. The schema is owned by ``trademl.monitoring.schema``
and created or upgraded by the alembic migrations shipped in ``migrations/`` whenever a
store is opened, so an old database is upgraded in place without losing rows.

The serving process writes predictions; the monitor and the retraining scheduler read.
Several processes may write at once: SQLite waits for the write lock (busy timeout)
instead of failing, PostgreSQL handles it natively.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import logging
import os
from collections.abc import Iterator, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import sqlalchemy as sa

from trademl.errors import DataError
from trademl.monitoring import schema
from trademl.monitoring._time import from_ns, index_to_ns, parse_duration, to_ns, utcnow

__all__ = [
    "DEFAULT_DB_FILE",
    "MonitorStore",
    "open_store",
    "prediction_keys",
    "resolve_db_url",
]

logger = logging.getLogger(__name__)

DEFAULT_DB_FILE = "trademl_monitor.db"
ENV_VAR = "TRADEML_MONITOR_DB"
_MIGRATIONS = Path(__file__).with_name("migrations")
ALERT_STATES = ("open", "acknowledged", "resolved")
_FLOAT_COLUMNS = (
    "prediction", "proba", "signal", "close", "label", "realized_return", "forward_return",
)  # fmt: skip


def resolve_db_url(url: str | Path | None = None, *, spec: Any = None) -> str:
    """The monitoring store URL: the one resolver every command and the pipeline use.

    Precedence: ``url`` (an explicit ``--db``) > ``$TRADEML_MONITOR_DB`` > the spec's
    ``monitoring.db_url`` (``spec`` is a ``MonitoringSpec`` or a whole experiment spec)
    > ``sqlite:///<cwd>/trademl_monitor.db``. A bare path means a SQLite file.
    """
    monitoring = getattr(spec, "monitoring", spec)
    from_spec = getattr(monitoring, "db_url", None) if monitoring is not None else None
    chosen = str(url) if url else (os.environ.get(ENV_VAR) or from_spec)
    if chosen and chosen == from_spec:
        from trademl.config.secrets import resolve_env

        chosen = resolve_env(str(from_spec), field="monitoring.db_url")
    if not chosen:
        return f"sqlite:///{Path.cwd() / DEFAULT_DB_FILE}"
    chosen = str(chosen)
    if "://" not in chosen:  # a bare path means a SQLite file
        chosen = f"sqlite:///{Path(chosen).resolve()}"
    _check_db_url(chosen)
    return chosen


def _check_db_url(url: str) -> None:
    """A one-line error for a URL SQLAlchemy cannot use, before any connection is tried."""
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError, NoSuchModuleError

    from trademl.config.secrets import redact_url
    from trademl.errors import SpecError

    try:
        parsed = make_url(url)
        parsed.get_dialect()
    except (ArgumentError, NoSuchModuleError, ValueError):
        scheme = url.split("://", 1)[0]
        raise SpecError(
            f"monitoring store {redact_url(url)}: unknown database scheme {scheme!r} "
            "(expected sqlite:///PATH, postgresql://..., or a file path)"
        ) from None
    database = parsed.database or ""
    if parsed.get_backend_name() == "sqlite" and database and Path(database).is_dir():
        raise SpecError(f"monitoring store {database}: is a folder, not a SQLite file")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer appends; FULL keeps committed rows on power loss
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=FULL")
    # writers from other processes queue for the lock instead of failing with "locked"
    cursor.execute("PRAGMA busy_timeout=60000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def _alembic_config(connection: sa.Connection):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _transactional_sqlite(url: sa.URL) -> sa.Engine:
    """An engine whose transactions cover DDL too, for migrating a SQLite file.

    pysqlite opens a transaction only before INSERT/UPDATE/DELETE, so CREATE TABLE and
    alembic's batch table copies commit one statement at a time: a kill between two
    left a store that every later open failed on ("table predictions already exists").
    Here the driver's own transaction handling is off and every transaction starts with
    an explicit BEGIN IMMEDIATE (SQLite's DDL is transactional), so a migration commits
    whole or not at all.
    """
    engine = sa.create_engine(url, poolclass=sa.pool.NullPool)

    @sa.event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        _sqlite_pragmas(dbapi_connection, record)

    @sa.event.listens_for(engine, "begin")
    def _begin(connection: sa.Connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")

    return engine


def upgrade(engine: sa.Engine, revision: str = "head") -> None:
    """Apply the shipped migrations up to ``revision`` in one transaction.

    Tests use this to build old databases. On SQLite the migrations run on a
    transactional-DDL engine of the same file (see ``_transactional_sqlite``), after
    ``_repair_interrupted`` has cleaned up what a pre-0004 trademl killed mid-migration
    could leave behind.
    """
    from alembic import command

    in_file = engine.dialect.name == "sqlite" and engine.url.database not in (None, "", ":memory:")
    # an in-memory database lives in its engine's one connection: migrate it there
    migrator = _transactional_sqlite(engine.url) if in_file else engine
    try:
        with migrator.begin() as connection:
            if connection.dialect.name == "postgresql":
                # two processes opening a fresh database must not both create the tables
                connection.exec_driver_sql("SELECT pg_advisory_xact_lock(7734201)")
            if connection.dialect.name == "sqlite":
                _repair_interrupted(connection)
            command.upgrade(_alembic_config(connection), revision)
    finally:
        if migrator is not engine:
            migrator.dispose()


_TMP_PREFIX = "_alembic_tmp_"


def _repair_interrupted(connection: sa.Connection) -> None:
    """Undo the traces of a migration killed before migrations were transactional.

    - ``_alembic_tmp_<t>`` beside ``<t>``: a batch copy that never finished; the original
      table still holds every row, the copy is dropped. Without ``<t>``: the copy was
      complete and the original already dropped, so the copy takes its name.
    - Tables but no recorded revision: a first creation that died half way. Only when
      every one of those tables is empty are they dropped (and rebuilt by the
      migrations); a table with rows and no revision is refused, never guessed at.
    """
    inspector = sa.inspect(connection)
    tables = set(inspector.get_table_names())
    for leftover in sorted(t for t in tables if t.startswith(_TMP_PREFIX)):
        original = leftover.removeprefix(_TMP_PREFIX)
        if original in tables:
            logger.warning("dropping %s left by an interrupted migration", leftover)
            connection.exec_driver_sql(f'DROP TABLE "{leftover}"')
        else:
            logger.warning("renaming %s to %s (an interrupted migration)", leftover, original)
            connection.exec_driver_sql(f'ALTER TABLE "{leftover}" RENAME TO "{original}"')
            tables.add(original)
        tables.discard(leftover)
    ours = tables & set(schema.metadata.tables)
    if not ours:
        return
    from alembic.runtime.migration import MigrationContext

    if MigrationContext.configure(connection).get_current_revision() is not None:
        return
    filled = [
        t
        for t in sorted(ours)
        if connection.exec_driver_sql(f'SELECT EXISTS (SELECT 1 FROM "{t}")').scalar()
    ]
    if filled:
        raise DataError(
            f"monitoring store {connection.engine.url.database}: tables {filled} hold rows but "
            "no schema revision is recorded; not migrating it (restore it, or point "
            "monitoring.db_url / --db at a new file)"
        )
    logger.warning("rebuilding the empty tables of an interrupted first creation: %s", ours)
    # children before parents (alert_events -> alerts)
    for table in reversed(schema.metadata.sorted_tables):
        if table.name in ours:
            connection.exec_driver_sql(f'DROP TABLE "{table.name}"')


def current_revision(engine: sa.Engine) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


@contextlib.contextmanager
def _file_lock(url: sa.URL) -> Iterator[None]:
    """An exclusive lock beside a SQLite file while it is migrated (other DBs: no-op)."""
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        yield
        return
    with open(f"{url.database}.migrate-lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def open_store(url: str | Path | None = None, *, migrate: bool = True) -> MonitorStore:
    """Open (and create or upgrade) the monitoring store at ``url``.

    ``url`` goes through :func:`resolve_db_url` (None: ``$TRADEML_MONITOR_DB``, else the
    default file); pass ``resolve_db_url(url, spec=spec)`` to honour a spec's ``db_url``.
    """
    resolved = resolve_db_url(url)
    try:
        sa_url = sa.make_url(resolved)
    except sa.exc.ArgumentError:
        raise DataError(f"monitoring db url: cannot parse {resolved!r}") from None
    if sa_url.get_backend_name() == "sqlite" and sa_url.database not in (None, "", ":memory:"):
        Path(sa_url.database).parent.mkdir(parents=True, exist_ok=True)
    engine = sa.create_engine(sa_url)
    if engine.dialect.name == "sqlite":
        sa.event.listen(engine, "connect", _sqlite_pragmas)
    if migrate:
        with _file_lock(sa_url):
            revision = current_revision(engine)
            if revision != schema.HEAD_REVISION:
                logger.info("migrating monitoring store %s from %s", resolved, revision)
                upgrade(engine)
    return MonitorStore(engine=engine)


def _nullable(values: pd.Series) -> list:
    """Python floats with NaN turned into None (SQL NULL)."""
    array = values.to_numpy(dtype=float, na_value=np.nan)
    out = array.astype(object)
    out[np.isnan(array)] = None
    return out.tolist()


def _timestamps(frame: pd.DataFrame, what: str) -> np.ndarray:
    if "timestamp" in frame.columns:
        source = frame["timestamp"]
    elif isinstance(frame.index, pd.DatetimeIndex):
        source = frame.index
    else:
        raise DataError(f"{what}: needs a DatetimeIndex or a 'timestamp' column")
    try:
        return index_to_ns(source)
    except (TypeError, ValueError) as exc:
        raise DataError(f"{what}: 'timestamp' is not a datetime ({exc})") from None


def _require(frame: pd.DataFrame, columns: list[str], what: str) -> None:
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(f"{what}: missing column(s) {missing}; got {list(frame.columns)}")


def _finite(frame: pd.DataFrame, column: str, what: str) -> None:
    values = pd.to_numeric(frame[column], errors="coerce").to_numpy(dtype=float)
    bad = np.flatnonzero(~np.isfinite(values))
    if bad.size:
        raise DataError(
            f"{what}: column {column!r} has {bad.size} missing/non-numeric value(s), "
            f"first at row {int(bad[0])} ({frame[column].iloc[bad[0]]!r})"
        )


def _symbols(frame: pd.DataFrame, n: int) -> list[str]:
    if "symbol" in frame.columns:
        return frame["symbol"].astype(str).tolist()
    return [""] * n


def _features_json(features: pd.DataFrame | None, n: int) -> tuple[list, list]:
    if features is None:
        return [None] * n, [None] * n
    if len(features) != n:
        raise DataError(f"features: {len(features)} rows but {n} predictions")
    payload = features.to_json(orient="records", lines=True, double_precision=15)
    texts = payload.splitlines()
    hashes = [hashlib.sha256(text.encode()).hexdigest() for text in texts]
    return texts, hashes


def prediction_keys(
    model: str,
    version: str,
    symbols: list[str],
    stamps: list[int],
    given: Sequence[str] | None = None,
    what: str = "predictions",
) -> list[str]:
    """The stored idempotency key of each prediction row (32 hex characters).

    Derived from (model, version, symbol, timestamp in ns), or from the caller's
    ``given`` keys scoped to model and version, so two models never collide.
    """
    prefix = f"{model}\x1f{version}\x1f"
    if given is None:
        parts = [f"bar\x1f{prefix}{s}\x1f{t}" for s, t in zip(symbols, stamps, strict=True)]
    else:
        given = list(given)
        if len(given) != len(stamps):
            raise DataError(f"{what}: {len(given)} idempotency keys for {len(stamps)} rows")
        bad = next((i for i, k in enumerate(given) if not isinstance(k, str) or not k), None)
        if bad is not None:
            raise DataError(
                f"{what}: idempotency key at row {bad} is {given[bad]!r}; keys are non-empty "
                "strings"
            )
        parts = [f"key\x1f{prefix}{k}" for k in given]
    return [hashlib.sha256(p.encode()).hexdigest()[:32] for p in parts]


def _insert_ignoring_keys(engine: sa.Engine, table: sa.Table):
    """``INSERT ... ON CONFLICT (idempotency_key) DO NOTHING`` in the engine's dialect."""
    if engine.dialect.name == "sqlite":
        from sqlalchemy.dialects.sqlite import insert
    elif engine.dialect.name == "postgresql":
        from sqlalchemy.dialects.postgresql import insert
    else:  # pragma: no cover - other databases: a duplicate key is an error
        return table.insert()
    return insert(table).on_conflict_do_nothing(index_elements=["idempotency_key"])


class MonitorStore:
    """Reads and writes every monitoring table; obtain one with ``open_store(url)``."""

    def __init__(self, engine: sa.Engine):
        self.engine = engine

    @property
    def url(self) -> str:
        return self.engine.url.render_as_string(hide_password=True)

    def close(self) -> None:
        self.engine.dispose()

    # ------------------------------------------------------------------ writes
    def _insert_new(self, table: sa.Table, columns: list[str], rows: list[tuple]) -> int:
        """Insert rows whose ``idempotency_key`` is not stored yet; return how many went in."""
        if not rows:
            return 0
        if self.engine.dialect.name == "sqlite":
            # the hot path: SQLAlchemy Core builds a dict per row and costs ~3x the time of
            # the driver's executemany, which is what a 10K-predictions-a-minute server needs
            sql = (
                f"INSERT INTO {table.name} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' for _ in columns)}) "
                "ON CONFLICT (idempotency_key) DO NOTHING"
            )
            raw = self.engine.raw_connection()
            try:
                cursor = raw.cursor()
                cursor.executemany(sql, rows)
                written = cursor.rowcount
                raw.commit()
            except BaseException:
                raw.rollback()
                raise
            finally:
                raw.close()
            return int(written)
        with self.engine.begin() as connection:
            result = connection.execute(
                _insert_ignoring_keys(self.engine, table),
                [dict(zip(columns, row, strict=True)) for row in rows],
            )
        return result.rowcount if result.rowcount >= 0 else len(rows)

    def log_predictions(
        self,
        frame: pd.DataFrame,
        *,
        model: str,
        version: str,
        features: pd.DataFrame | None = None,
        replace: bool = False,
        idempotency_keys: Sequence[str] | None = None,
    ) -> int:
        """Store predictions once each; returns the number of rows newly written.

        ``frame``: a DatetimeIndex (or ``timestamp`` column) and ``prediction``; optional
        ``symbol``, ``proba`` (P(up)), ``signal`` (-1/0/+1), ``close`` (the bar's close,
        which the backtest engine needs), ``latency_ms``. ``features``: the model inputs,
        one row per prediction, stored as JSON with a SHA-256 hash.

        Idempotent: every row carries a key, and a row whose key is already stored is
        skipped, so a writer that retries a batch after a crash or a timeout (not knowing
        whether the first attempt committed) stores it once. By default the key is
        derived from (model, version, symbol, timestamp): one prediction per model
        version per bar. A caller that may legitimately predict one bar twice (a server
        answering distinct requests) passes ``idempotency_keys``, one string per row
        (e.g. request id + row number); keys are scoped to ``model`` and ``version``.
        Duplicates within one call are stored once too. The return value counts rows
        actually inserted (0 for a pure retry).

        ``replace``: first delete this version's stored predictions with the same
        (symbol, timestamp), in the same transaction, so writing a frame twice (a replay)
        leaves one copy of the new values.
        """
        what = f"predictions for {model}:{version}"
        _require(frame, ["prediction"], what)
        _finite(frame, "prediction", what)
        n = len(frame)
        created = to_ns(utcnow())
        stamps = _timestamps(frame, what).tolist()
        symbols = _symbols(frame, n)
        # only the columns present are sent: each bound parameter costs per row, and an
        # absent column is NULL anyway
        columns = ["model", "version", "ts", "symbol", "prediction", "created_ns"]
        values = [
            [model] * n,
            [version] * n,
            stamps,
            symbols,
            frame["prediction"].astype(float).tolist(),
            [created] * n,
        ]
        for optional in ("proba", "signal", "close", "latency_ms"):
            if optional in frame.columns:
                columns.append(optional)
                values.append(_nullable(frame[optional]))
        if features is not None:
            texts, hashes = _features_json(features, n)
            columns += ["features", "features_hash"]
            values += [texts, hashes]
        columns.append("idempotency_key")
        values.append(prediction_keys(model, version, symbols, stamps, idempotency_keys, what))
        rows = list(zip(*values, strict=True))
        if replace:
            keys = [(model, version, s, t) for s, t in zip(symbols, stamps, strict=True)]
            return self._replace_many(schema.predictions, columns, rows, keys)
        return self._insert_new(schema.predictions, columns, rows)

    def _replace_many(self, table: sa.Table, columns: list[str], rows: list[tuple], keys) -> int:
        """Delete the rows with these (model, version, symbol, ts) keys, then insert, atomically."""
        t = table.c
        delete = table.delete().where(
            (t.model == sa.bindparam("k_model")) & (t.version == sa.bindparam("k_version"))
            & (t.symbol == sa.bindparam("k_symbol")) & (t.ts == sa.bindparam("k_ts"))
        )  # fmt: skip
        with self.engine.begin() as connection:
            if keys:
                connection.execute(
                    delete,
                    [{"k_model": m, "k_version": v, "k_symbol": s, "k_ts": ts}
                     for m, v, s, ts in keys],
                )  # fmt: skip
            if not rows:
                return 0
            result = connection.execute(
                _insert_ignoring_keys(self.engine, table),
                [dict(zip(columns, row, strict=True)) for row in rows],
            )
        return result.rowcount if result.rowcount >= 0 else len(rows)

    def log_outcomes(self, frame: pd.DataFrame, *, model: str) -> int:
        """Record realised outcomes by (symbol, time): ``label``, ``forward_return`` (the
        simple return over the label horizon, close[t+h] / close[t] - 1, which the IC and
        hit rate use) and/or ``realized_return`` (any other return an outcome source has).

        An outcome recorded again for the same key replaces the earlier one.
        """
        what = f"outcomes for {model}"
        if not {"label", "realized_return", "forward_return"} & set(frame.columns):
            raise DataError(
                f"{what}: needs a 'label', 'forward_return' or 'realized_return' column"
            )
        n = len(frame)
        nan = pd.Series(np.full(n, np.nan), index=frame.index)
        created = to_ns(utcnow())
        rows = [
            {
                "model": model,
                "symbol": symbol,
                "ts": ts,
                "label": label,
                "realized_return": ret,
                "forward_return": forward,
                "created_ns": created,
            }
            for symbol, ts, label, ret, forward in zip(
                _symbols(frame, n),
                _timestamps(frame, what).tolist(),
                _nullable(frame.get("label", nan)),
                _nullable(frame.get("realized_return", nan)),
                _nullable(frame.get("forward_return", nan)),
                strict=True,
            )
        ]
        if not rows:
            return 0
        if self.engine.dialect.name == "sqlite":
            from sqlalchemy.dialects.sqlite import insert
        elif self.engine.dialect.name == "postgresql":
            from sqlalchemy.dialects.postgresql import insert
        else:  # pragma: no cover - other databases: plain insert, duplicates are an error
            insert = sa.insert
        statement = insert(schema.outcomes)
        if hasattr(statement, "on_conflict_do_update"):
            statement = statement.on_conflict_do_update(
                index_elements=["model", "symbol", "ts"],
                set_={
                    "label": statement.excluded.label,
                    "realized_return": statement.excluded.realized_return,
                    "forward_return": statement.excluded.forward_return,
                    "created_ns": statement.excluded.created_ns,
                },
            )
        with self.engine.begin() as connection:
            connection.execute(statement, rows)
        return n

    def save_snapshot(
        self, *, model: str, version: str, metrics: Mapping[str, float], window_end: Any,
        n: int, kind: str = "rolling",
    ) -> None:  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(
                schema.metric_snapshots.insert().values(
                    model=model, version=version, kind=kind, window_end=to_ns(window_end),
                    n=int(n), metrics=json.dumps(_clean(metrics)), created_ns=to_ns(utcnow()),
                )
            )  # fmt: skip

    def save_baseline(self, *, model: str, version: str, metrics: Mapping[str, float]) -> None:
        """The validation metrics a live model is compared against (stored at registration)."""
        self.save_snapshot(
            model=model, version=version, metrics=metrics, window_end=utcnow(), n=0,
            kind="baseline",
        )  # fmt: skip

    def save_drift(self, *, model: str, version: str, kind: str, report: Any) -> None:
        """Store a ``DriftReport`` (anything with ``to_dict()``)."""
        payload = report.to_dict()
        with self.engine.begin() as connection:
            connection.execute(
                schema.drift_results.insert().values(
                    model=model, version=version, kind=kind, created_ns=to_ns(utcnow()),
                    n_features=payload["n_features"], n_drifted=payload["n_drifted"],
                    share=payload["share"], share_pvalue=payload["share_pvalue"],
                    result=json.dumps(_clean(payload)),
                )
            )  # fmt: skip

    def save_health(self, *, model: str, version: str, status: str, reasons: list[str]) -> None:
        with self.engine.begin() as connection:
            connection.execute(
                schema.health.insert().values(
                    model=model, version=version, ts=to_ns(utcnow()), status=status,
                    reasons=json.dumps(list(reasons)),
                )
            )  # fmt: skip

    def save_profile(self, *, model: str, version: str, profile: dict, kind: str = "features"):
        """Store the reference profile of a model version (replaces an earlier one)."""
        table = schema.reference_profiles
        key = (table.c.model == model) & (table.c.version == version) & (table.c.kind == kind)
        with self.engine.begin() as connection:
            connection.execute(table.delete().where(key))
            connection.execute(
                table.insert().values(
                    model=model, version=version, kind=kind, created_ns=to_ns(utcnow()),
                    profile=json.dumps(profile),
                )
            )  # fmt: skip

    # ------------------------------------------------------------------- reads
    def load_profile(self, *, model: str, version: str, kind: str = "features") -> dict | None:
        table = schema.reference_profiles
        query = sa.select(table.c.profile).where(
            (table.c.model == model) & (table.c.version == version) & (table.c.kind == kind)
        )
        with self.engine.connect() as connection:
            text = connection.execute(query).scalar()
        return None if text is None else json.loads(text)

    def predictions(
        self,
        model: str,
        *,
        version: str | None = None,
        since: datetime | str | None = None,
        until: datetime | str | None = None,
        with_outcomes: bool = False,
    ) -> pd.DataFrame:
        """Predictions of ``model`` (optionally joined with outcomes), indexed by timestamp."""
        p, o = schema.predictions, schema.outcomes
        columns = [
            p.c.ts, p.c.symbol, p.c.version, p.c.prediction, p.c.proba, p.c.signal,
            p.c.close, p.c.features,
        ]  # fmt: skip
        source: Any = p
        if with_outcomes:
            source = p.join(
                o, (o.c.model == p.c.model) & (o.c.symbol == p.c.symbol) & (o.c.ts == p.c.ts)
            )
            columns += [o.c.label, o.c.realized_return, o.c.forward_return]
        query = sa.select(*columns).select_from(source).where(p.c.model == model)
        if version is not None:
            query = query.where(p.c.version == version)
        if since is not None:
            query = query.where(p.c.ts >= to_ns(since))
        if until is not None:
            query = query.where(p.c.ts < to_ns(until))
        query = query.order_by(p.c.ts, p.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        names = [c.name for c in columns]
        frame = pd.DataFrame(rows, columns=names)
        for name in _FLOAT_COLUMNS:
            if name in frame.columns:
                frame[name] = frame[name].astype(float)
        frame.index = pd.DatetimeIndex(
            pd.to_datetime(frame.pop("ts").astype("int64"), unit="ns", utc=True), name="timestamp"
        )
        return frame

    def count(self, table: str, model: str | None = None) -> int:
        target = schema.metadata.tables[table]
        query = sa.select(sa.func.count()).select_from(target)
        if model is not None:
            query = query.where(target.c.model == model)
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar())

    def models(self) -> list[tuple[str, str]]:
        """Every (model, latest version) that has predictions, health or a baseline."""
        p, h, m = schema.predictions, schema.health, schema.metric_snapshots
        found: dict[str, tuple[int, str]] = {}
        with self.engine.connect() as connection:
            for table, time_col in ((p, p.c.ts), (h, h.c.ts), (m, m.c.created_ns)):
                query = sa.select(table.c.model, table.c.version, sa.func.max(time_col)).group_by(
                    table.c.model, table.c.version
                )
                for model, version, latest in connection.execute(query):
                    if model not in found or latest > found[model][0]:
                        found[model] = (latest, version)
        return sorted((model, version) for model, (_, version) in found.items())

    def last_prediction_time(self, model: str) -> pd.Timestamp | None:
        query = sa.select(sa.func.max(schema.predictions.c.created_ns)).where(
            schema.predictions.c.model == model
        )
        with self.engine.connect() as connection:
            value = connection.execute(query).scalar()
        return None if value is None else from_ns(value)

    def latest_version(self, model: str) -> str | None:
        p = schema.predictions
        query = sa.select(p.c.version).where(p.c.model == model).order_by(p.c.ts.desc()).limit(1)
        with self.engine.connect() as connection:
            return connection.execute(query).scalar()

    def snapshots(self, model: str, *, version: str | None = None, kind: str = "rolling"):
        """Metric snapshots as a frame indexed by window end, one column per metric."""
        m = schema.metric_snapshots
        query = sa.select(m.c.window_end, m.c.version, m.c.n, m.c.metrics).where(
            (m.c.model == model) & (m.c.kind == kind)
        )
        if version is not None:
            query = query.where(m.c.version == version)
        query = query.order_by(m.c.window_end, m.c.id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        records = [
            {"window_end": from_ns(end), "version": ver, "n": n, **json.loads(metrics)}
            for end, ver, n, metrics in rows
        ]
        frame = pd.DataFrame.from_records(records)
        return frame.set_index("window_end") if len(frame) else frame

    def baseline(self, model: str, version: str) -> dict[str, float]:
        frame = self.snapshots(model, version=version, kind="baseline")
        if not len(frame):
            return {}
        row = frame.iloc[-1].drop(["version", "n"])
        return {k: float(v) for k, v in row.items() if pd.notna(v)}

    def health(self) -> pd.DataFrame:
        """The latest health record of every model."""
        h = schema.health
        latest = (
            sa.select(h.c.model, sa.func.max(h.c.id).label("id")).group_by(h.c.model).subquery()
        )
        query = (
            sa.select(h.c.model, h.c.version, h.c.ts, h.c.status, h.c.reasons)
            .join(latest, h.c.id == latest.c.id)
            .order_by(h.c.model)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).all()
        return pd.DataFrame(
            [
                {
                    "model": model, "version": version, "checked_at": from_ns(ts),
                    "status": status, "reasons": json.loads(reasons),
                }
                for model, version, ts, status, reasons in rows
            ],
            columns=["model", "version", "checked_at", "status", "reasons"],
        )  # fmt: skip

    def drift_history(self, model: str, *, kind: str = "features", limit: int = 20) -> list[dict]:
        d = schema.drift_results
        query = (
            sa.select(d.c.created_ns, d.c.result)
            .where((d.c.model == model) & (d.c.kind == kind))
            .order_by(d.c.created_ns.desc())
            .limit(limit)
        )
        with self.engine.connect() as connection:
            return [
                {"created_at": from_ns(ts), **json.loads(result)}
                for ts, result in connection.execute(query)
            ]

    # ------------------------------------------------------------------ alerts
    def find_alert(self, fingerprint: str, *, states=("open", "acknowledged")) -> dict | None:
        a = schema.alerts
        query = (
            sa.select(a)
            .where((a.c.fingerprint == fingerprint) & a.c.state.in_(states))
            .order_by(a.c.id.desc())
            .limit(1)
        )
        with self.engine.connect() as connection:
            row = connection.execute(query).mappings().first()
        return None if row is None else dict(row)

    def last_resolved(self, fingerprint: str) -> dict | None:
        return self.find_alert(fingerprint, states=("resolved",))

    def open_alert(self, *, fingerprint: str, rule: str, model: str, severity: str,
                   message: str, value: float | None, now: datetime) -> int:  # fmt: skip
        stamp = to_ns(now)
        with self.engine.begin() as connection:
            result = connection.execute(
                schema.alerts.insert().values(
                    fingerprint=fingerprint, rule=rule, model=model, severity=severity,
                    state="open", message=message, value=value, first_ns=stamp, last_ns=stamp,
                    count=1,
                )
            )  # fmt: skip
            alert_id = int(result.inserted_primary_key[0])
            connection.execute(
                schema.alert_events.insert().values(
                    alert_id=alert_id, ts=stamp, event="opened", actor="monitor", detail=message
                )
            )
        return alert_id

    def active_alerts(self, model: str) -> dict[str, dict]:
        """Open or acknowledged alerts of ``model`` by fingerprint (one query per check)."""
        a = schema.alerts
        query = (
            sa.select(a)
            .where((a.c.model == model) & a.c.state.in_(("open", "acknowledged")))
            .order_by(a.c.id)
        )
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return {row["fingerprint"]: dict(row) for row in rows}

    def touch_alerts(self, updates: list[tuple[int, float | None, str]], *, now: datetime):
        """The conditions still hold: count them, do not re-send (deduplication).

        ``updates``: (alert id, value, message); one transaction for all of them.
        """
        if not updates:
            return
        a = schema.alerts
        statement = (
            a.update()
            .where(a.c.id == sa.bindparam("alert_id"))
            .values(
                last_ns=to_ns(now),
                count=a.c.count + 1,
                value=sa.bindparam("new_value"),
                message=sa.bindparam("new_message"),
            )
        )
        with self.engine.begin() as connection:
            connection.execute(
                statement,
                [{"alert_id": i, "new_value": v, "new_message": m} for i, v, m in updates],
            )

    def set_alert_state(self, alert_id: int, state: str, *, actor: str, now: datetime | None = None,
                        detail: str | None = None) -> dict:  # fmt: skip
        """Acknowledge or resolve an alert, recording who and when."""
        if state not in ("acknowledged", "resolved"):
            raise ValueError(f"alert state: expected 'acknowledged' or 'resolved', got {state!r}")
        now = now or utcnow()
        alert = self.alert(alert_id)
        if alert["state"] == "resolved":
            raise DataError(f"alert {alert_id} is already resolved")
        if state == "acknowledged" and alert["state"] == "acknowledged":
            raise DataError(f"alert {alert_id} is already acknowledged by {alert['acked_by']}")
        a = schema.alerts
        values: dict[str, Any] = {"state": state}
        if state == "acknowledged":
            values.update(acked_by=actor, acked_ns=to_ns(now))
        else:
            values.update(resolved_by=actor, resolved_ns=to_ns(now))
        with self.engine.begin() as connection:
            connection.execute(a.update().where(a.c.id == alert_id).values(**values))
            connection.execute(
                schema.alert_events.insert().values(
                    alert_id=alert_id, ts=to_ns(now),
                    event="acked" if state == "acknowledged" else "resolved",
                    actor=actor, detail=detail,
                )
            )  # fmt: skip
        return self.alert(alert_id)

    def mark_escalated(self, alert_id: int, now: datetime) -> None:
        a = schema.alerts
        with self.engine.begin() as connection:
            connection.execute(a.update().where(a.c.id == alert_id).values(escalated_ns=to_ns(now)))

    def add_alert_event(self, alert_id: int, event: str, *, now: datetime,
                        channel: str | None = None, detail: str | None = None) -> None:  # fmt: skip
        with self.engine.begin() as connection:
            connection.execute(
                schema.alert_events.insert().values(
                    alert_id=alert_id,
                    ts=to_ns(now),
                    event=event,
                    channel=channel,
                    detail=detail,
                    actor="monitor",
                )
            )

    def sent_count(self, channel: str, *, since: datetime) -> int:
        """Messages delivered on ``channel`` since ``since`` (for per-channel rate limits)."""
        e = schema.alert_events
        query = sa.select(sa.func.count()).where(
            (e.c.channel == channel) & (e.c.event == "sent") & (e.c.ts >= to_ns(since))
        )
        with self.engine.connect() as connection:
            return int(connection.execute(query).scalar())

    def alert(self, alert_id: int) -> dict:
        a = schema.alerts
        with self.engine.connect() as connection:
            row = connection.execute(sa.select(a).where(a.c.id == alert_id)).mappings().first()
        if row is None:
            raise DataError(f"alert {alert_id}: no such alert")
        return dict(row)

    def alerts(self, *, state: str | None = None, model: str | None = None) -> pd.DataFrame:
        a = schema.alerts
        query = sa.select(a).order_by(a.c.id)
        if state is not None:
            if state not in ALERT_STATES:
                raise ValueError(f"alert state: expected one of {ALERT_STATES}, got {state!r}")
            query = query.where(a.c.state == state)
        if model is not None:
            query = query.where(a.c.model == model)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        return pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in a.columns])

    def alert_history(self, alert_id: int | None = None) -> pd.DataFrame:
        e = schema.alert_events
        query = sa.select(e).order_by(e.c.id)
        if alert_id is not None:
            query = query.where(e.c.alert_id == alert_id)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in e.columns])
        frame["at"] = pd.to_datetime(frame["ts"].astype("int64"), unit="ns", utc=True)
        return frame

    # ---------------------------------------------------------- feature impact
    def save_feature_impact(self, frame: pd.DataFrame, *, model: str, version: str,
                            source: str) -> int:  # fmt: skip
        """Store ``trademl.explain.impact_over_time`` rows; a period written again replaces
        the earlier rows of that (model, version, source, period), so re-running is safe."""
        columns = ["period", "feature", "n", "mean_abs_shap", "share", "reference_share",
                   "drifted"]  # fmt: skip
        _require(frame, columns, "feature impact")
        t = schema.feature_impact
        periods = sorted({to_ns(p) for p in frame["period"]})
        created = to_ns(utcnow())
        rows = [
            {
                "model": model, "version": version, "source": source, "period": to_ns(r.period),
                "feature": str(r.feature), "n": int(r.n), "mean_abs_shap": float(r.mean_abs_shap),
                "share": float(r.share), "reference_share": float(r.reference_share),
                "drifted": bool(r.drifted), "created_ns": created,
            }
            for r in frame.itertuples(index=False)
        ]  # fmt: skip
        key = (t.c.model == model) & (t.c.version == version) & (t.c.source == source)
        with self.engine.begin() as connection:
            connection.execute(t.delete().where(key & t.c.period.in_(periods)))
            if rows:
                connection.execute(t.insert(), rows)
        return len(rows)

    def feature_impact(self, model: str, *, version: str | None = None,
                       source: str | None = None) -> pd.DataFrame:  # fmt: skip
        """Stored feature impact rows of ``model`` (``period`` as UTC timestamps)."""
        t = schema.feature_impact
        query = sa.select(t).where(t.c.model == model).order_by(t.c.period, t.c.id)
        if version is not None:
            query = query.where(t.c.version == version)
        if source is not None:
            query = query.where(t.c.source == source)
        with self.engine.connect() as connection:
            rows = connection.execute(query).mappings().all()
        frame = pd.DataFrame([dict(r) for r in rows], columns=[c.name for c in t.columns])
        frame["period"] = pd.to_datetime(frame["period"].astype("int64"), unit="ns", utc=True)
        frame["drifted"] = frame["drifted"].astype(bool)
        return frame

    # --------------------------------------------------------------- retention
    def apply_retention(self, keep: str | timedelta, *, now: datetime | None = None) -> dict:
        """Delete rows recorded more than ``keep`` ago (e.g. ``"90d"``); open alerts stay.

        Returns the number of rows deleted per table.
        """
        cutoff = to_ns((now or utcnow()) - parse_duration(keep, name="retention"))
        deleted: dict[str, int] = {}
        with self.engine.begin() as connection:
            # by the time a row was recorded, not the bar it is about: a backfill of
            # old bars must not be deleted on arrival
            for table, column in (
                (schema.predictions, schema.predictions.c.created_ns),
                (schema.outcomes, schema.outcomes.c.created_ns),
                (schema.metric_snapshots, schema.metric_snapshots.c.created_ns),
                (schema.drift_results, schema.drift_results.c.created_ns),
                (schema.health, schema.health.c.ts),
            ):
                result = connection.execute(table.delete().where(column < cutoff))
                deleted[table.name] = result.rowcount
            a, e = schema.alerts, schema.alert_events
            old = sa.select(a.c.id).where((a.c.state == "resolved") & (a.c.resolved_ns < cutoff))
            deleted["alert_events"] = connection.execute(
                e.delete().where(e.c.alert_id.in_(old))
            ).rowcount
            deleted["alerts"] = connection.execute(
                a.delete().where((a.c.state == "resolved") & (a.c.resolved_ns < cutoff))
            ).rowcount
        logger.info("retention %s: deleted %s", keep, deleted)
        return deleted


def _clean(metrics: Mapping[str, Any]) -> dict:
    """JSON-safe copy: NaN/inf become None, numpy scalars become Python numbers."""
    out: dict[str, Any] = {}
    for key, value in metrics.items():
        if isinstance(value, Mapping):
            out[key] = _clean(value)
        elif isinstance(value, (list, tuple)):
            out[key] = [_clean(v) if isinstance(v, Mapping) else _scalar(v) for v in value]
        else:
            out[key] = _scalar(value)
    return out


def _scalar(value: Any) -> Any:
    if isinstance(value, (np.floating, float)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, np.bool_):
        return bool(value)
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value
