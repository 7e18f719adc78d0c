"""Kill-safe creation of a SQLite MLflow store, and repair of one a kill left half made.

MLflow builds a new SQLite store by creating its initial tables and then running its
alembic migrations, many of which copy a table through ``_alembic_tmp_<table>``; none of
it is transactional on SQLite. A process killed part way left a file that every later
command failed on ("table _alembic_tmp_experiments already exists"). So:

- a store that does not exist yet is built under a temporary name beside the target and
  renamed into place when complete: the target either does not exist or is whole;
- an existing file that is not at MLflow's head schema revision (or carries an
  ``_alembic_tmp_`` table) and holds nothing a user made (no runs, no registered
  models, no experiment besides MLflow's default) is moved aside, never deleted, and
  rebuilt; one that holds data is refused with a clear message instead of guessed at.

Creation happens under an exclusive lock on the store's folder, so two processes
starting at once build it once.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import secrets
import sqlite3
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from trademl.tracking.errors import TrackingError

__all__ = ["ensure_sqlite_store", "store_state"]

log = logging.getLogger(__name__)

_TMP_PREFIX = "_alembic_tmp_"
_SIDE_FILES = ("-wal", "-shm", "-journal")


@functools.cache
def _head_revision() -> str:
    # parsing MLflow's migration scripts takes a while; the answer is fixed per install
    from mlflow.store.db.utils import _get_latest_schema_revision

    return _get_latest_schema_revision()


def store_state(path: Path) -> tuple[str, str]:
    """``(state, detail)`` of a SQLite MLflow store file; state is one of

    ``missing`` (no file or 0 bytes), ``ready`` (head revision, no leftovers),
    ``interrupted`` (not at head or leftover tables, no user data: safe to rebuild) or
    ``damaged`` (not at head or leftovers, and it holds runs or models).
    """
    if not path.exists() or path.stat().st_size == 0:
        return "missing", ""
    try:
        with contextlib.closing(
            sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)
        ) as db:
            tables = {
                row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            revision = None
            if "alembic_version" in tables:
                row = db.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
            leftovers = sorted(t for t in tables if t.startswith(_TMP_PREFIX))
            head = _head_revision()
            if revision == head and not leftovers:
                return "ready", ""
            detail = f"schema revision {revision or 'none'} (MLflow expects {head})" + (
                f", leftover tables {leftovers}" if leftovers else ""
            )
            user_data = _user_data(db, tables)
    except sqlite3.DatabaseError as exc:
        raise TrackingError(f"{path}: not a readable SQLite MLflow store ({exc})") from None
    if user_data:
        return "damaged", f"{detail}; it holds {user_data}"
    return "interrupted", detail


def _user_data(db: sqlite3.Connection, tables: set[str]) -> str:
    """What in the file a user made ('' when nothing): runs, models, own experiments."""
    found = []
    for table, query, what in (
        ("runs", "SELECT COUNT(*) FROM {t}", "run(s)"),
        ("registered_models", "SELECT COUNT(*) FROM {t}", "registered model(s)"),
        ("experiments", "SELECT COUNT(*) FROM {t} WHERE experiment_id != 0", "experiment(s)"),
    ):
        for name in (table, _TMP_PREFIX + table):
            if name in tables:
                count = db.execute(query.format(t=f'"{name}"')).fetchone()[0]
                if count:
                    found.append(f"{count} {what}")
                    break
    return ", ".join(found)


@contextlib.contextmanager
def _creation_lock(path: Path) -> Iterator[None]:
    # on the folder, not a lock file beside the store: nothing is left behind, and the
    # lock goes with the process if it is killed
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def _move_aside(path: Path, why: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    aside = path.with_name(f"{path.name}.interrupted-{stamp}-{secrets.token_hex(2)}")
    os.replace(path, aside)
    for side in _SIDE_FILES:
        extra = Path(f"{path}{side}")
        if extra.exists():
            os.replace(extra, Path(f"{aside}{side}"))
    log.warning(
        "MLflow store %s was left half made (%s); moved to %s and rebuilt", path, why, aside
    )
    return aside


def _build(path: Path, artifact_root: str) -> None:
    """Create the store under a temporary name, then rename it onto ``path``."""
    from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

    for stale in path.parent.glob(f".{path.name}.creating-*"):
        # a creator killed earlier (we hold the lock, so no live one is writing it)
        stale.unlink(missing_ok=True)
    temporary = path.with_name(f".{path.name}.creating-{secrets.token_hex(4)}")
    uri = f"sqlite:///{temporary}"
    try:
        store = SqlAlchemyStore(uri, Path(artifact_root).as_uri())
        store.engine.dispose()
        # MLflow keeps one engine per URI; this temporary URI is never used again
        getattr(SqlAlchemyStore, "_engine_map", {}).pop(uri, None)
        with contextlib.closing(sqlite3.connect(temporary)) as db:
            # WAL is recorded in the file: set it before the store has any reader
            db.execute("PRAGMA journal_mode=WAL")
        for side in _SIDE_FILES:
            Path(f"{temporary}{side}").unlink(missing_ok=True)
        fd = os.open(temporary, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(temporary, path)
        with contextlib.suppress(OSError):
            fd = os.open(path.parent, os.O_RDONLY)
            try:
                os.fsync(fd)
            finally:
                os.close(fd)
    finally:
        for name in (temporary, *(Path(f"{temporary}{s}") for s in _SIDE_FILES)):
            name.unlink(missing_ok=True)


def ensure_sqlite_store(path: str | os.PathLike, artifact_root: str) -> str:
    """Make ``path`` a complete MLflow SQLite store; return what was done.

    ``"ready"`` (nothing to do), ``"created"`` or ``"rebuilt"`` (a half-made store was
    moved aside to ``<name>.interrupted-<UTC time>`` and a new one built). A store with
    runs or models that is not at MLflow's head revision raises ``TrackingError``.
    """
    path = Path(path)
    state, detail = store_state(path)
    if state == "ready":
        return "ready"
    path.parent.mkdir(parents=True, exist_ok=True)
    with _creation_lock(path):
        state, detail = store_state(path)  # another process may have finished it meanwhile
        if state == "ready":
            return "ready"
        if state == "damaged":
            raise TrackingError(
                f"tracking.uri sqlite:///{path}: the MLflow store was interrupted during a "
                f"schema migration ({detail}); trademl does not guess at a store with data: "
                f"back the file up, then run `mlflow db upgrade sqlite:///{path}`"
            )
        done = "created"
        if state == "interrupted":
            _move_aside(path, detail)
            done = "rebuilt"
        elif path.exists():  # a 0-byte file: nothing in it to keep
            path.unlink()
        _build(path, artifact_root)
    return done
