"""Before any work: every store a spec names is reachable and writable.

A run whose monitoring store could not be opened used to register version 1 and then
fail, skipping the gates and the reference; an unreachable tracking server was found
after minutes of tuning. ``check_stores`` opens each store the run will write (creating
a new one kill-safely), proves a write would succeed, and raises ``StoreError`` naming
the spec setting otherwise. Nothing is written to a store that already exists.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from trademl.errors import TradeMLError

if TYPE_CHECKING:  # pragma: no cover
    from trademl.config import ExperimentSpec

__all__ = ["StoreError", "check_stores"]

_TIMEOUT = 5.0


class StoreError(TradeMLError, ValueError):
    """A store a spec names cannot be reached or written; the message names the setting."""


def _one_line(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) < 300 else text[:297] + "..."


def _check_folder(path: Path, setting: str) -> None:
    """``path`` (a folder) exists or can be made, and a file can be created in it."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".trademl-write-check-{secrets.token_hex(4)}"
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as exc:
        raise StoreError(f"{setting} {path}: not writable ({_one_line(exc)})") from None


def _check_sqlite_file(path: Path, setting: str) -> None:
    """A SQLite file can take a write lock (BEGIN IMMEDIATE, then rolled back)."""
    _check_folder(path.parent, setting)
    if path.exists() and not os.access(path, os.W_OK):
        raise StoreError(f"{setting} {path}: the file is read-only")
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=_TIMEOUT)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise StoreError(f"{setting} {path}: cannot write ({_one_line(exc)})") from None


def _check_tracking(spec: ExperimentSpec) -> str:
    from trademl.tracking import configure
    from trademl.tracking._store import _sqlite_file, _state

    setting = "tracking.uri"
    try:
        uri = configure(spec.tracking)
    except TradeMLError:
        raise
    except Exception as exc:  # noqa: BLE001 - MLflow/SQLAlchemy raise many unrelated types
        raise StoreError(f"{setting}: cannot open the MLflow store ({_one_line(exc)})") from None
    file = _sqlite_file(uri)
    if file is not None:
        _check_sqlite_file(Path(file), setting)
        _check_folder(Path(str(_state["artifact_root"])), "tracking.artifact_root")
        return uri
    if uri.startswith(("http://", "https://")):
        import httpx

        try:
            response = httpx.get(f"{uri.rstrip('/')}/health", timeout=_TIMEOUT)
        except httpx.HTTPError as exc:
            raise StoreError(f"{setting} {uri}: unreachable ({_one_line(exc)})") from None
        if response.status_code != 200:
            raise StoreError(f"{setting} {uri}: /health answered {response.status_code}")
        return uri
    from trademl.tracking._store import client

    try:  # any other store MLflow knows (postgresql://, file:...): one read proves it
        client().search_experiments(max_results=1)
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"{setting} {uri}: unreachable ({_one_line(exc)})") from None
    return uri


def _check_monitoring(spec: ExperimentSpec) -> str:
    import sqlalchemy as sa

    from trademl.monitoring import open_store, resolve_db_url

    setting = "monitoring.db_url"
    url = resolve_db_url(spec=spec.monitoring)
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"{setting}: cannot parse {url!r}") from None
    if parsed.get_backend_name() == "sqlite" and parsed.database not in (None, "", ":memory:"):
        _check_sqlite_file(Path(parsed.database), setting)
    try:
        store = open_store(url)  # creates or upgrades it, in one transaction
    except TradeMLError as exc:
        raise StoreError(f"{setting} {url}: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - drivers raise many unrelated types
        raise StoreError(f"{setting} {url}: cannot open ({_one_line(exc)})") from None
    try:
        with store.engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001
        raise StoreError(f"{setting} {url}: unreachable ({_one_line(exc)})") from None
    finally:
        store.close()
    return url


def check_stores(spec: ExperimentSpec) -> dict[str, str]:
    """Check every store ``spec`` will write; return ``{setting: url}`` of those checked."""
    checked: dict[str, str] = {}
    if spec.tracking.enabled:
        checked["tracking.uri"] = _check_tracking(spec)
        if spec.monitoring.register_reference:
            checked["monitoring.db_url"] = _check_monitoring(spec)
    return checked
