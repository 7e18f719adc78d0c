"""Which MLflow store trademl talks to, and the experiments inside it.

MLflow keeps the tracking URI as process-global state; ``configure`` is the one place
trademl sets it, so every other module can just ask for ``client()``.
"""

from __future__ import annotations

import contextlib
import functools
import logging
import os
import re
import sqlite3
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from trademl.config.tracking import TrackingSpec
from trademl.tracking._sqlite import ensure_sqlite_store

log = logging.getLogger(__name__)

DEFAULT_DB = "mlruns.db"
DEFAULT_ARTIFACT_DIR = "mlartifacts"
# stores where MLflow writes artifacts to a local default (./mlruns) unless told otherwise
_DATABASE_SCHEMES = ("sqlite", "postgresql", "mysql", "mssql")

_state: dict[str, str | None] = {"uri": None, "artifact_root": None}


def _absolute_sqlite(uri: str) -> str:
    """Pin a relative ``sqlite:///file.db`` to the current directory, so a later chdir is harmless."""
    prefix = "sqlite:///"
    if not uri.startswith(prefix):
        return uri
    path = uri[len(prefix) :]
    if path.startswith("/") or path == ":memory:" or path.startswith("file:"):
        return uri
    return prefix + str(Path(path).resolve())


def resolve_uri(spec: TrackingSpec | None = None) -> str:
    """The store URI ``configure`` would use, without touching it (see ``configure``)."""
    from trademl.config.secrets import resolve_env
    from trademl.config.tracking import check_tracking_uri
    from trademl.errors import SpecError

    spec = spec if spec is not None else TrackingSpec()
    spec_uri = resolve_env(spec.uri, field="tracking.uri")
    uri = spec_uri or os.environ.get("MLFLOW_TRACKING_URI") or f"sqlite:///{DEFAULT_DB}"
    try:
        check_tracking_uri(uri)
    except ValueError as exc:
        raise SpecError(str(exc)) from None
    return _absolute_sqlite(uri.strip())


def configure(spec: TrackingSpec | None = None) -> str:
    """Point MLflow (tracking and registry) at the configured store and return its URI.

    Precedence: ``spec.uri`` if set, else ``$MLFLOW_TRACKING_URI``, else
    ``sqlite:///mlruns.db`` in the current directory. Artifacts of a database store go to
    ``spec.artifact_root`` or ``./mlartifacts``; a tracking server decides that itself.
    """
    spec = spec if spec is not None else TrackingSpec()
    uri = resolve_uri(spec)
    artifact_root = Path(spec.artifact_root or DEFAULT_ARTIFACT_DIR).expanduser().resolve()
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    _state["uri"] = uri
    _state["artifact_root"] = str(artifact_root)
    path = _sqlite_file(uri)
    if path is not None:
        # built whole under a temporary name, or repaired, before MLflow touches it
        done = ensure_sqlite_store(path, str(artifact_root))
        if done != "ready":
            log.info("tracking store %s %s", path, done)
        _use_write_ahead_log(uri)
    log.debug("tracking store %s, artifacts %s", uri, artifact_root)
    return uri


def _sqlite_file(uri: str) -> str | None:
    """The file of a ``sqlite:///`` URI; None for other stores, memory or ``file:`` URIs."""
    if not uri.startswith("sqlite:///"):
        return None
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    return None if path in ("", ":memory:") or path.startswith("file:") else path


@functools.cache
def _use_write_ahead_log(uri: str) -> None:
    """Switch a SQLite store to WAL journaling (once; it is kept in the file).

    With the default rollback journal every commit syncs the journal and the database
    and readers block the writer; in WAL mode a commit syncs one file and readers run
    beside the writer. A run is three to four commits, so this halves the cost of a
    child run and lets several processes log at once.
    """
    path = uri.removeprefix("sqlite:///").split("?", 1)[0]
    if path in ("", ":memory:") or path.startswith("file:"):
        return
    # let MLflow create and migrate the schema first (a no-op on an existing store)
    _client_for(uri).search_experiments(max_results=1)
    try:
        with contextlib.closing(sqlite3.connect(path, timeout=30)) as connection:
            mode = connection.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    except sqlite3.Error as exc:  # another process holds a lock: a speed-up, not a must
        log.debug("could not switch %s to WAL: %s", path, exc)
        return
    log.debug("sqlite store %s journal mode: %s", path, mode)


def is_configured() -> bool:
    return _state["uri"] is not None


def tracking_uri() -> str:
    """The configured URI (configuring the defaults on first use)."""
    if _state["uri"] is None:
        configure()
    return str(_state["uri"])


@functools.cache
def _client_for(uri: str) -> MlflowClient:
    return MlflowClient(tracking_uri=uri, registry_uri=uri)


def client() -> MlflowClient:
    """A client of the configured store (one per URI: building one resolves its stores)."""
    return _client_for(tracking_uri())


def is_database_store(uri: str | None = None) -> bool:
    scheme = (uri or tracking_uri()).split(":", 1)[0].split("+", 1)[0]
    return scheme in _DATABASE_SCHEMES


def download_artifacts(**kwargs) -> str:
    """``mlflow.artifacts.download_artifacts`` without its progress bar (noise for a few files)."""
    quiet = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR" not in os.environ
    if quiet:
        os.environ["MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"] = "false"
    try:
        return mlflow.artifacts.download_artifacts(tracking_uri=tracking_uri(), **kwargs)
    finally:
        if quiet:
            os.environ.pop("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", None)


def _slug(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "experiment"


def experiment_id(name: str, *, create: bool = True) -> str:
    """Id of the experiment called ``name``; created (or restored) when missing."""
    if not name or not name.strip():
        raise ValueError(f"experiment name must be a non-empty string, got {name!r}")
    mlflow_client = client()
    experiment = mlflow_client.get_experiment_by_name(name)
    if experiment is not None:
        if experiment.lifecycle_stage == "deleted":
            mlflow_client.restore_experiment(experiment.experiment_id)
        return experiment.experiment_id
    if not create:
        from trademl.tracking.errors import TrackingError

        raise TrackingError(f"experiment {name!r} not found in {tracking_uri()}")
    artifact_location = None
    if is_database_store():
        # MLflow would otherwise put artifacts in ./mlruns of whatever cwd the run starts in
        artifact_location = (Path(str(_state["artifact_root"])) / _slug(name)).as_uri()
    try:
        return mlflow_client.create_experiment(name, artifact_location=artifact_location)
    except MlflowException as exc:
        # another process created it between our lookup and our insert
        existing = mlflow_client.get_experiment_by_name(name)
        if existing is None:
            raise
        log.debug("experiment %s created concurrently (%s)", name, exc.error_code)
        return existing.experiment_id
