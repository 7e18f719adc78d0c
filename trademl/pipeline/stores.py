"""Before any work: every store a spec names is reachable and writable.

A run whose monitoring store could not be opened used to register version 1 and then
fail, skipping the gates and the reference; an unreachable tracking server was found
after minutes of tuning. ``check_stores`` proves each store the run will write could be
written (an existing SQLite file takes a write lock, a server answers, a new file's
folder can be created) and raises ``StoreError`` naming the spec setting otherwise.
It creates and changes nothing: the stores are made (kill-safely) when first used.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
from pathlib import Path
from typing import TYPE_CHECKING

from trademl.config.secrets import redact_url
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
    """Files could be created in ``path``: its nearest existing ancestor is a writable folder.

    Nothing is created: a run refused later (bad data, a leaking feature) leaves no
    empty store or folder behind.
    """
    ancestor = path
    while not ancestor.exists() and ancestor != ancestor.parent:
        ancestor = ancestor.parent
    if not ancestor.is_dir():
        raise StoreError(f"{setting} {path}: {ancestor} is a file, not a folder")
    if not os.access(ancestor, os.W_OK | os.X_OK):
        raise StoreError(f"{setting} {path}: cannot create files in {ancestor} (permission)")


def _check_sqlite_file(path: Path, setting: str) -> None:
    """A new SQLite file could be created, or an existing one takes a write lock.

    The lock is ``BEGIN IMMEDIATE`` then ``ROLLBACK``: nothing in the file changes.
    """
    if not path.exists():
        _check_folder(path.parent, setting)
        return
    if path.is_dir():
        raise StoreError(f"{setting} {path}: is a folder, not a SQLite file")
    if not os.access(path, os.W_OK):
        raise StoreError(f"{setting} {path}: the file is read-only")
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=_TIMEOUT)) as db:
            db.execute("BEGIN IMMEDIATE")
            db.execute("ROLLBACK")
    except sqlite3.Error as exc:
        raise StoreError(f"{setting} {path}: cannot write ({_one_line(exc)})") from None


def _check_database(url: str, setting: str) -> None:
    """A server database (PostgreSQL, MySQL ...) answers ``SELECT 1``."""
    import sqlalchemy as sa

    try:
        engine = sa.create_engine(url)
    except Exception as exc:  # noqa: BLE001 - unknown dialect, missing driver, bad URL
        raise StoreError(
            f"{setting} {redact_url(url)}: not a database URL ({_one_line(exc)})"
        ) from None
    try:
        with engine.connect() as connection:
            connection.execute(sa.text("SELECT 1"))
    except Exception as exc:  # noqa: BLE001 - drivers raise many unrelated types
        raise StoreError(f"{setting} {redact_url(url)}: unreachable ({_one_line(exc)})") from None
    finally:
        engine.dispose()


_DATABASE_SCHEMES = ("postgresql", "mysql", "mssql")


def _check_tracking(spec: ExperimentSpec) -> str:
    from trademl.tracking._store import DEFAULT_ARTIFACT_DIR, _sqlite_file, resolve_uri

    setting = "tracking.uri"
    uri = resolve_uri(spec.tracking)
    scheme = uri.split(":", 1)[0].split("+", 1)[0].lower() if "://" in uri else ""
    file = _sqlite_file(uri)
    if file is not None:
        _check_sqlite_file(Path(file), setting)
    elif scheme in ("http", "https"):
        import httpx

        try:
            response = httpx.get(f"{uri.rstrip('/')}/health", timeout=_TIMEOUT)
        except httpx.HTTPError as exc:
            raise StoreError(
                f"{setting} {redact_url(uri)}: unreachable ({_one_line(exc)})"
            ) from None
        if response.status_code != 200:
            raise StoreError(
                f"{setting} {redact_url(uri)}: /health answered {response.status_code}"
            )
        return uri
    elif scheme in _DATABASE_SCHEMES:
        _check_database(uri, setting)
    elif scheme == "file" or not scheme:
        _check_folder(Path(uri.removeprefix("file://")).expanduser(), setting)
    else:
        raise StoreError(
            f"{setting} {redact_url(uri)}: unknown store scheme {scheme!r}; use sqlite:///FILE, "
            "http(s)://HOST:PORT (a tracking server) or postgresql://..."
        )
    artifacts = Path(spec.tracking.artifact_root or DEFAULT_ARTIFACT_DIR).expanduser().resolve()
    _check_folder(artifacts, "tracking.artifact_root")
    return uri


def _check_monitoring(spec: ExperimentSpec) -> str:
    import sqlalchemy as sa

    from trademl.monitoring import resolve_db_url

    setting = "monitoring.db_url"
    try:
        url = resolve_db_url(spec=spec.monitoring)
    except ValueError as exc:  # an unusable URL: name the setting it came from
        raise StoreError(f"{setting}: {_one_line(exc)}") from None
    try:
        parsed = sa.make_url(url)
    except sa.exc.ArgumentError:
        raise StoreError(f"{setting}: cannot parse {redact_url(url)!r}") from None
    if parsed.get_backend_name() == "sqlite":
        if parsed.database not in (None, "", ":memory:"):
            _check_sqlite_file(Path(parsed.database), setting)
        return url
    _check_database(url, setting)
    return url


def check_stores(spec: ExperimentSpec) -> dict[str, str]:
    """Check every store ``spec`` will write; return ``{setting: url}`` of those checked."""
    checked: dict[str, str] = {}
    if spec.tracking.enabled:
        checked["tracking.uri"] = _check_tracking(spec)
        if spec.monitoring.register_reference:
            checked["monitoring.db_url"] = _check_monitoring(spec)
    return checked
