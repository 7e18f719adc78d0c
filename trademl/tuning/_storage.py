"""Where a study lives: SQLite by default (resumable by name), a journal file for processes.

Optuna recommends its journal storage (``JournalFileBackend``) when several processes
write one study on one machine; SQLite locks under concurrent writers. Any SQLAlchemy URL
(PostgreSQL, MySQL) works the same way as SQLite.
"""

from __future__ import annotations

import logging
from pathlib import Path

from trademl.errors import SpecError

__all__ = ["DEFAULT_JOURNAL", "DEFAULT_SQLITE", "describe_storage", "make_storage"]

logger = logging.getLogger(__name__)

DEFAULT_SQLITE = "sqlite:///optuna.db"
DEFAULT_JOURNAL = "journal:optuna-journal.log"


def describe_storage(url: str | None, n_jobs: int = 1) -> str:
    """The storage URL actually used for ``url`` (None = the default for ``n_jobs``)."""
    if url is None:
        return DEFAULT_JOURNAL if n_jobs > 1 else DEFAULT_SQLITE
    if n_jobs > 1 and url.startswith("sqlite"):
        raise SpecError(
            f"tuning.storage: {url!r} cannot take {n_jobs} writing processes safely; "
            "use journal:<file> (Optuna's recommendation on one machine) or a PostgreSQL URL"
        )
    return url


def make_storage(url: str | None, n_jobs: int = 1):
    """An Optuna storage object for a URL (``journal:<path>`` = journal file)."""
    import optuna

    url = describe_storage(url, n_jobs)
    if url.startswith("journal:"):
        from optuna.storages.journal import JournalFileBackend, JournalStorage

        path = Path(url.removeprefix("journal:"))
        path.parent.mkdir(parents=True, exist_ok=True)
        return JournalStorage(JournalFileBackend(str(path)))
    if url.startswith("sqlite:///"):
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    try:
        return optuna.storages.RDBStorage(url, heartbeat_interval=None)
    except Exception as exc:  # noqa: BLE001 - SQLAlchemy raises many kinds for a bad URL
        raise SpecError(f"tuning.storage: cannot open {url!r}: {exc}") from None
