"""The one place that names a run's artifacts and reads or writes them.

A pipeline run logs its spec (``spec/experiment.yaml``), its holdout predictions
(``predictions/oos.parquet``) and its model package (``model``); every reader — the
backtest and report commands, monitoring's replay, lineage, retraining — goes through
the functions here, so a name is spelled once.
"""

from __future__ import annotations

import contextlib
import logging
import os
import tempfile
from pathlib import Path

import pandas as pd

from trademl.errors import DataError

__all__ = [
    "MODEL",
    "OOS_PREDICTIONS",
    "SPEC",
    "download",
    "log_frame",
    "read_predictions",
    "read_spec",
    "read_spec_text",
]

log = logging.getLogger(__name__)

SPEC = "spec/experiment.yaml"
OOS_PREDICTIONS = "predictions/oos.parquet"
MODEL = "model"


@contextlib.contextmanager
def _quiet_downloads():
    """MLflow draws a progress bar per download on stderr: noise for a one-file fetch."""
    name = "MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR"
    old = os.environ.get(name)
    os.environ[name] = "false"
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = old


def _client():
    """A client of the store the environment names (readers run as their own command)."""
    from trademl.tracking import _store

    _store.configure()
    return _store.client()


def download(run_id: str, artifact: str, folder: str | Path) -> Path:
    """Copy one artifact of ``run_id`` into ``folder``; DataError naming what is missing."""
    from mlflow.exceptions import MlflowException

    from trademl.tracking import _store

    client = _client()
    try:
        client.get_run(run_id)
    except MlflowException:
        raise DataError(
            f"run {run_id!r} not found in the tracking store {_store.tracking_uri()}"
        ) from None
    with _quiet_downloads():
        try:
            return Path(client.download_artifacts(run_id, artifact, str(folder)))
        except (MlflowException, OSError):
            raise DataError(
                f"run {run_id!r} has no {artifact} artifact (was it made by trademl run?)"
            ) from None


def log_frame(frame: pd.DataFrame, artifact: str) -> None:
    """Write ``frame`` as Parquet under ``artifact`` on the active run."""
    import mlflow

    with tempfile.TemporaryDirectory(prefix="trademl-artifact-") as folder:
        path = Path(folder) / Path(artifact).name
        frame.to_parquet(path)
        parent = str(Path(artifact).parent)
        mlflow.log_artifact(str(path), artifact_path=None if parent == "." else parent)


def read_predictions(run_id: str) -> pd.DataFrame:
    """The run's ``predictions/oos.parquet`` as it was logged."""
    with tempfile.TemporaryDirectory(prefix="trademl-predictions-") as folder:
        frame = pd.read_parquet(download(run_id, OOS_PREDICTIONS, folder))
    log.info("read %d predictions from run %s", len(frame), run_id)
    return frame


def read_spec_text(run_id: str) -> str:
    """The spec YAML the run was made with."""
    with tempfile.TemporaryDirectory(prefix="trademl-spec-") as folder:
        return download(run_id, SPEC, folder).read_text(encoding="utf-8")


def read_spec(run_id: str):
    """The run's ``ExperimentSpec`` (loaded and checked like a spec file)."""
    import yaml

    from trademl.config import load_spec

    return load_spec(yaml.safe_load(read_spec_text(run_id)))
